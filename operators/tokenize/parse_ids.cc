#include "operators/tokenize/parse_ids.h"

#include <charconv>
#include <limits>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "operators/text/unicode_text.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The whitespace-delimited word at `p`, shortened for messages.
std::string WordAt(const char* p, const char* end) {
  const char* q = p;
  while (q < end && !IsAsciiSpace(*q)) ++q;
  constexpr size_t kMax = 40;
  const size_t n = static_cast<size_t>(q - p);
  return n <= kMax ? std::string(p, n) : std::string(p, kMax) + "...";
}

}  // namespace

/// The ids of a batch when they replace their own input column.
class ParseIdsOperator::Scratch : public OpState {
 public:
  Int32ListColumn ids;
};

ParseIdsOperator::ParseIdsOperator(std::string field, std::string output, int64_t vocab_size)
    : field_(std::move(field)), output_(std::move(output)), vocab_size_(vocab_size) {
  if (field_.empty() || output_.empty()) throw InvalidArgument("field names must not be empty");
  if (vocab_size_ < 0 || vocab_size_ > int64_t{std::numeric_limits<int32_t>::max()} + 1) {
    throw InvalidArgument("--vocab-size must be between 1 and 2^31");
  }
}

std::vector<AddedField> ParseIdsOperator::AddedFields() const {
  if (output_ == field_) return {};
  return {{output_, "--output"}};
}

Schema ParseIdsOperator::OutputSchema(const Schema& input) const {
  input.Require(field_, FieldType::kString, name());
  Schema out = input;
  if (output_ == field_) out.Remove(field_);
  out.Set(Field{output_, FieldType::kInt32List, vocab_size_});
  return out;
}

std::string ParseIdsOperator::Describe() const {
  std::string d = "parse whitespace-separated ids of '" + field_ + "' into '" + output_ + "'";
  if (vocab_size_ > 0) d += " (vocabulary size " + std::to_string(vocab_size_) + ")";
  return d;
}

void ParseIdsOperator::ParseBatch(Batch& batch, Scratch& scratch, OperatorStats& stats) const {
  const bool in_place = output_ == field_;
  // Add the output column first: adding a column may move the others.
  Int32ListColumn& ids = in_place ? scratch.ids : batch.AddInt32List(output_, vocab_size_);
  ids.Clear();
  const StringColumn& text = batch.GetString(field_);
  ids.Reserve(text.size(), text.DataBytes() / 2);
  const int64_t limit =
      vocab_size_ > 0 ? vocab_size_ : int64_t{std::numeric_limits<int32_t>::max()} + 1;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string_view s = text[i];
    const char* p = s.data();
    const char* end = p + s.size();
    for (;;) {
      while (p < end && IsAsciiSpace(*p)) ++p;
      if (p == end) break;
      int64_t value = 0;
      const auto [next, ec] = std::from_chars(p, end, value);
      const auto fail = [&](const std::string& why) {
        throw DataError(name() + ": record " + RecordNumberText(batch.first_record() + i) +
                        ", field '" + field_ + "': " + why);
      };
      if (ec == std::errc::invalid_argument || (next < end && !IsAsciiSpace(*next))) {
        fail("'" + WordAt(p, end) + "' is not an integer");
      }
      if (ec == std::errc::result_out_of_range || value >= limit) {
        fail("id " + WordAt(p, end) +
             (vocab_size_ > 0 ? " is not below --vocab-size " + std::to_string(vocab_size_)
                              : std::string(" does not fit int32")));
      }
      if (value < 0) fail("id " + std::to_string(value) + " is negative");
      ids.AppendValue(static_cast<int32_t>(value));
      p = next;
    }
    ids.EndRecord();
  }
  stats.Add("ids", ids.values().size());
  if (in_place) {
    Int32ListColumn& out = batch.AddInt32List(output_, vocab_size_);
    std::swap(out.values(), ids.values());
    std::swap(out.offsets(), ids.offsets());
  }
}

namespace {

class ParseIdsRun : public TransformRun {
 public:
  ParseIdsRun(const ParseIdsOperator& op, OperatorStats& stats) : op_(op), stats_(stats) {}
  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<ParseIdsOperator::Scratch>();
  }
  void Apply(Batch& batch, OpState* local) override {
    op_.ParseBatch(batch, static_cast<ParseIdsOperator::Scratch&>(*local), stats_);
  }

 private:
  const ParseIdsOperator& op_;
  OperatorStats& stats_;
};

}  // namespace

std::unique_ptr<TransformRun> ParseIdsOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<ParseIdsRun>(*this, ctx.stats);
}

static const OperatorRegistrar kRegisterParseIds(OperatorDef{
    .name = "parse-ids",
    .role = OperatorRole::kTransform,
    .synopsis = "parse-ids [--field text] [--output text_ids] [--vocab-size N]",
    .summary = "Parse whitespace-separated integers into a token-id field",
    .details =
        "Each record of the string field holds token ids separated by spaces, tabs or other "
        "ASCII whitespace (\"101 2769 102\"); the output is an int32-list field. Ids must be "
        "integers in [0, 2^31). With --vocab-size N every id must be below N, and N is recorded "
        "on the output field so that write-megatron picks uint16 storage when N < 65500. A "
        "malformed number stops the run with the record number (1-based).",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("field", po::value<std::string>()->default_value("text"),
                                "string field holding the ids")(
              "output", po::value<std::string>()->default_value("text_ids"),
              "int32-list field to write (may equal --field to replace it)")(
              "vocab-size", IntegerValue(0, int64_t{1} << 31)->default_value(0),
              "vocabulary size: ids must be below it (0 = unknown)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      return std::make_unique<ParseIdsOperator>(v["field"].as<std::string>(),
                                                v["output"].as<std::string>(),
                                                v["vocab-size"].as<int64_t>());
    },
    .outputs = {{"text_ids", "--output"}},
});

}  // namespace corpusflow
