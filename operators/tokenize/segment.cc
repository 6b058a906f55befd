#include "operators/tokenize/segment.h"

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/text/bad_utf8_records.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "operators/tokenize/tokenize_resources.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Per-worker buffers of a segment run.
struct SegmentLocal : OpState {
  explicit SegmentLocal(const SegmentOptions& options)
      : utf8(options.invalid_utf8, "segment", options.field) {}
  StringListColumn tokens;
  std::vector<std::string_view> words;
  BadUtf8Records utf8;
};

class SegmentRun : public TransformRun {
 public:
  SegmentRun(const SegmentOperator& op, ExecContext& ctx, OperatorStats& stats)
      : op_(op),
        stats_(stats),
        segmenter_(
            LoadJiebaSegmenter(ctx.resources(), op.dict_path(), op.options().user_dict_paths)) {
    stats_.SetInteger("dictionary_words", segmenter_->dictionary().word_count());
  }

  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<SegmentLocal>(op_.options());
  }

  void Apply(Batch& batch, OpState* state) override {
    auto& local = static_cast<SegmentLocal&>(*state);
    const SegmentOptions& options = op_.options();
    const StringColumn& input = batch.GetString(options.field);
    const size_t n = input.size();
    local.tokens.Clear();
    local.tokens.Reserve(n, input.DataBytes() / 4, input.DataBytes());
    local.utf8.StartBatch(batch.first_record(), n);
    uint64_t words = 0;
    for (size_t i = 0; i < n; ++i) {
      std::string_view text = input[i];
      if (!local.utf8.Keep(i, &text)) {
        local.tokens.EndRecord();
        continue;
      }
      segmenter_->Cut(text, &local.words);
      for (std::string_view w : local.words) local.tokens.AppendItem(w);
      local.tokens.EndRecord();
      words += local.words.size();
    }
    std::swap(batch.AddStringList(options.output), local.tokens);
    local.utf8.FinishBatch(batch, stats_);
    stats_.Add("words", words);
  }

 private:
  const SegmentOperator& op_;
  OperatorStats& stats_;
  std::shared_ptr<const JiebaSegmenter> segmenter_;
};

}  // namespace

SegmentOperator::SegmentOperator(SegmentOptions options) : options_(std::move(options)) {
  if (options_.field.empty() || options_.output.empty()) {
    throw InvalidArgument("--field and --output must not be empty");
  }
  dict_path_ = JiebaSegmenter::DictionaryPathOrDefault(options_.dict_path);
}

void SegmentOperator::Validate(const PlanContext& /*ctx*/) const {
  CheckInputReadable(dict_path_);
  for (const std::string& path : options_.user_dict_paths) CheckInputReadable(path);
}

std::vector<AddedField> SegmentOperator::AddedFields() const {
  if (options_.output == options_.field) return {};
  return {{options_.output, "--output"}};
}

Schema SegmentOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, name());
  Schema out = input;
  out.Set(Field{options_.output, FieldType::kStringList, 0});
  return out;
}

std::string SegmentOperator::Describe() const {
  std::string d = "jieba cut(HMM=False) of " + options_.field + " -> " + options_.output +
                  " (dictionary " + dict_path_;
  for (const std::string& path : options_.user_dict_paths) d += " + " + path;
  return d + ")";
}

std::unique_ptr<TransformRun> SegmentOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<SegmentRun>(*this, ctx.exec, ctx.stats);
}

static const OperatorRegistrar kRegisterSegment(OperatorDef{
    .name = "segment",
    .role = OperatorRole::kTransform,
    .synopsis = "segment [--field text] [--output tokens] [--dict FILE] [--user-dict FILE]...",
    .summary = "Chinese word segmentation, identical to python3-jieba's cut(text, HMM=False)",
    .details =
        "Runs of CJK characters, ASCII letters, digits and +#&._%- are cut on the jieba "
        "dictionary (the most probable route through all dictionary words; consecutive single "
        "ASCII letters and digits stay together); whitespace and every other character are "
        "tokens of their own, \"\\r\\n\" as one. The words are written as a string-list field "
        "that covers the text exactly.\n"
        "The default dictionary is Debian python3-jieba's dict.txt; --dict takes another in the "
        "same 'word freq [tag]' format and --user-dict adds words as jieba.load_userdict does "
        "(a word without a frequency gets jieba's suggest_freq). Text that is not UTF-8 is "
        "repaired with U+FFFD (--invalid-utf8 replace, counted), dropped (counted) or an error.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("field", po::value<std::string>()->default_value("text"),
                                "input string field")(
              "output", po::value<std::string>()->default_value("tokens"),
              "output string-list field")("dict", po::value<std::string>(),
                                          "jieba dictionary (default: python3-jieba's dict.txt)")(
              "user-dict", po::value<std::vector<std::string>>()->composing(),
              "jieba user dictionary, 'word [freq] [tag]' per line (repeatable)")(
              "invalid-utf8", po::value<std::string>()->default_value("replace"),
              "text that is not UTF-8: replace (U+FFFD, counted), drop (counted) or error");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      SegmentOptions options;
      options.field = v["field"].as<std::string>();
      options.output = v["output"].as<std::string>();
      if (v.count("dict")) options.dict_path = v["dict"].as<std::string>();
      if (v.count("user-dict")) {
        options.user_dict_paths = v["user-dict"].as<std::vector<std::string>>();
      }
      options.invalid_utf8 = ParseBadUtf8Policy(v["invalid-utf8"].as<std::string>());
      return std::make_unique<SegmentOperator>(std::move(options));
    },
    .outputs = {{"tokens", "--output"}},
});

}  // namespace corpusflow
