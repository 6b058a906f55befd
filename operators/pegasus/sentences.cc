#include "operators/pegasus/sentences.h"

#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/stats.h"

namespace po = boost::program_options;

namespace corpusflow {

std::vector<AddedField> SentencesOperator::AddedFields() const {
  if (options_.output == options_.field) return {};
  return {{options_.output, "--output"}};
}

Schema SentencesOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, name());
  Schema out = input;
  out.Set(Field{options_.output, FieldType::kStringList, 0});
  return out;
}

std::string SentencesOperator::Describe() const {
  return "split '" + options_.field + "' into sentences (" +
         std::string(SentenceModeName(options_.mode)) + " mode) -> " + options_.output;
}

void SentencesOperator::SplitBatch(Batch& batch, OperatorStats& stats) const {
  const StringColumn& text = batch.GetString(options_.field);
  StringListColumn column;
  column.Reserve(text.size(), text.size() * 8, text.DataBytes());
  std::vector<std::string_view> sentences;
  uint64_t total = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    SplitSentences(text[i], options_.mode, &sentences);
    for (std::string_view s : sentences) column.AppendItem(s);
    column.EndRecord();
    total += sentences.size();
  }
  // Build aside, then move in: the input column stays valid while it is being read, even when
  // --output names it.
  batch.AddStringList(options_.output) = std::move(column);
  stats.Add("sentences", total);
}

namespace {

class SentencesRun : public TransformRun {
 public:
  SentencesRun(const SentencesOperator& op, OperatorStats& stats) : op_(op), stats_(stats) {}
  void Apply(Batch& batch, OpState* /*local*/) override { op_.SplitBatch(batch, stats_); }

 private:
  const SentencesOperator& op_;
  OperatorStats& stats_;
};

}  // namespace

std::unique_ptr<TransformRun> SentencesOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<SentencesRun>(*this, ctx.stats);
}

static const OperatorRegistrar kRegisterSentences(OperatorDef{
    .name = "sentences",
    .role = OperatorRole::kTransform,
    .synopsis = "sentences [--mode cjk|pegasus] [--field text] [--output sentences]",
    .summary = "Split text into sentences (a string-list field) for gap-sentence generation",
    .details =
        "--mode pegasus is the PEGASUS reference rule: a sentence ends after a run of ASCII . ! "
        "? followed by whitespace, which stays with the sentence. --mode cjk (the default) also "
        "ends sentences after 。！？；…, ASCII ! ?, and line breaks; closing quotes and brackets "
        "after the punctuation stay on the sentence; ASCII dots end a sentence only before "
        "whitespace. Sentences keep their surrounding whitespace, so they concatenate back to "
        "the text exactly. Counter: sentences.",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("mode", po::value<std::string>()->default_value("cjk"), "cjk or pegasus");
          add("field", po::value<std::string>()->default_value("text"), "text field to split");
          add("output", po::value<std::string>()->default_value("sentences"),
              "string-list field to write");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      SentencesOptions options;
      options.mode = ParseSentenceMode(v["mode"].as<std::string>());
      options.field = v["field"].as<std::string>();
      options.output = v["output"].as<std::string>();
      if (options.field.empty() || options.output.empty()) {
        throw InvalidArgument("--field and --output must not be empty");
      }
      return std::make_unique<SentencesOperator>(std::move(options));
    },
    .outputs = {{"sentences", "--output"}},
});

}  // namespace corpusflow
