#include "operators/io/filter.h"

#include <array>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/text/unicode_text.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Unicode's White_Space property.
bool IsWhiteSpace(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/// Code points of well-formed UTF-8: every byte that is not a continuation byte.
uint64_t CountValidCodePoints(std::string_view text) {
  uint64_t continuation = 0;
  for (const char c : text) continuation += (static_cast<unsigned char>(c) & 0xC0) == 0x80;
  return text.size() - continuation;
}

/// A non-negative decimal integer; throws InvalidArgument naming `what`.
std::string Plural(uint64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

bool IsEmptyOrWhitespace(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    char32_t cp = 0;
    const int length = DecodeUtf8(p, end, &cp);
    if (length < 0 || !IsWhiteSpace(cp)) return false;
    p += length;
  }
  return true;
}

FilterOperator::FilterOperator(FilterOptions options) : options_(std::move(options)) {
  const FilterOptions& o = options_;
  if (!o.min_chars && !o.max_chars && !o.min_bytes && !o.max_bytes && !o.drop_invalid_utf8 &&
      !o.drop_empty) {
    throw InvalidArgument(
        "nothing to filter on; give --min-chars, --max-chars, --min-bytes, --max-bytes, "
        "--drop-invalid-utf8 or --drop-empty");
  }
  if (o.min_chars && o.max_chars && *o.min_chars > *o.max_chars) {
    throw InvalidArgument("--min-chars " + std::to_string(*o.min_chars) + " is above --max-chars " +
                          std::to_string(*o.max_chars));
  }
  if (o.min_bytes && o.max_bytes && *o.min_bytes > *o.max_bytes) {
    throw InvalidArgument("--min-bytes " + std::to_string(*o.min_bytes) + " is above --max-bytes " +
                          std::to_string(*o.max_bytes));
  }
  if (o.field.empty()) throw InvalidArgument("--field must not be empty");
  reasons_[kInvalidUtf8] = "invalid utf-8";
  reasons_[kEmpty] = "empty";
  if (o.min_bytes) reasons_[kFewBytes] = "shorter than " + Plural(*o.min_bytes, "byte");
  if (o.max_bytes) reasons_[kManyBytes] = "longer than " + Plural(*o.max_bytes, "byte");
  if (o.min_chars) reasons_[kFewChars] = "shorter than " + Plural(*o.min_chars, "char");
  if (o.max_chars) reasons_[kManyChars] = "longer than " + Plural(*o.max_chars, "char");
}

Schema FilterOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, "filter");
  return input;
}

std::string FilterOperator::Describe() const {
  const FilterOptions& o = options_;
  std::string checks;
  auto add = [&checks](const std::string& s) { checks += (checks.empty() ? "" : ", ") + s; };
  if (o.drop_invalid_utf8) add("invalid utf-8");
  if (o.drop_empty) add("empty");
  if (o.min_bytes) add(reasons_[kFewBytes]);
  if (o.max_bytes) add(reasons_[kManyBytes]);
  if (o.min_chars) add(reasons_[kFewChars]);
  if (o.max_chars) add(reasons_[kManyChars]);
  return "drop records whose '" + o.field + "' is " + checks;
}

FilterOperator::Reason FilterOperator::Check(std::string_view text) const {
  const FilterOptions& o = options_;
  const bool count_chars = o.min_chars || o.max_chars;
  const bool valid = (o.drop_invalid_utf8 || count_chars) ? IsValidUtf8(text) : true;
  if (o.drop_invalid_utf8 && !valid) return kInvalidUtf8;
  if (o.drop_empty && IsEmptyOrWhitespace(text)) return kEmpty;
  if (o.min_bytes && text.size() < *o.min_bytes) return kFewBytes;
  if (o.max_bytes && text.size() > *o.max_bytes) return kManyBytes;
  if (count_chars) {
    const uint64_t chars = valid ? CountValidCodePoints(text) : CountCodePoints(text);
    if (o.min_chars && chars < *o.min_chars) return kFewChars;
    if (o.max_chars && chars > *o.max_chars) return kManyChars;
  }
  return kKeep;
}

void FilterOperator::FilterBatch(Batch& batch, OperatorStats& stats) const {
  const StringColumn& column = batch.GetString(options_.field);
  const size_t n = column.size();
  std::vector<bool> keep(n, true);
  std::array<uint64_t, kKeep> dropped{};
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    const Reason reason = Check(column[i]);
    if (reason == kKeep) continue;
    keep[i] = false;
    ++dropped[reason];
    any = true;
  }
  if (!any) return;
  batch.KeepRecords(keep);
  for (int r = 0; r < kKeep; ++r) {
    if (dropped[r] > 0) stats.Drop(reasons_[r], dropped[r]);
  }
}

namespace {

class FilterRun : public TransformRun {
 public:
  FilterRun(const FilterOperator& op, OperatorStats& stats) : op_(op), stats_(stats) {}
  void Apply(Batch& batch, OpState* /*local*/) override { op_.FilterBatch(batch, stats_); }

 private:
  const FilterOperator& op_;
  OperatorStats& stats_;
};

}  // namespace

std::unique_ptr<TransformRun> FilterOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<FilterRun>(*this, ctx.stats);
}

static const OperatorRegistrar kRegisterFilter(OperatorDef{
    .name = "filter",
    .role = OperatorRole::kTransform,
    .synopsis = "filter [--min-chars N] [--max-chars N] [--min-bytes N] [--max-bytes N] "
                "[--drop-invalid-utf8] [--drop-empty] [--field NAME]",
    .summary = "Drop records by length, invalid UTF-8 or emptiness (counted with a reason)",
    .details =
        "Lengths in chars count Unicode code points (an ill-formed UTF-8 subpart counts as one). "
        "A record is dropped by the first check that fails, in this order: --drop-invalid-utf8, "
        "--drop-empty (empty or only whitespace), --min-bytes, --max-bytes, --min-chars, "
        "--max-chars. Kept records are passed on unchanged; the drops are counted per reason in "
        "the run summary and --stats-json.",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("min-chars", CountValue(), "drop records with fewer code points");
          add("max-chars", CountValue(), "drop records with more code points");
          add("min-bytes", ByteSizeValue(), "drop records with fewer bytes (e.g. 1K)");
          add("max-bytes", ByteSizeValue(), "drop records with more bytes (e.g. 1M)");
          add("drop-invalid-utf8", po::bool_switch(), "drop records that are not valid UTF-8");
          add("drop-empty", po::bool_switch(), "drop empty or whitespace-only records");
          add("field", po::value<std::string>()->default_value("text"), "string field checked");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      FilterOptions options;
      options.field = v["field"].as<std::string>();
      auto given = [&v](const char* name) -> std::optional<uint64_t> {
        if (v.count(name) == 0) return std::nullopt;
        return v[name].as<uint64_t>();
      };
      options.min_chars = given("min-chars");
      options.max_chars = given("max-chars");
      options.min_bytes = given("min-bytes");
      options.max_bytes = given("max-bytes");
      options.drop_invalid_utf8 = v["drop-invalid-utf8"].as<bool>();
      options.drop_empty = v["drop-empty"].as<bool>();
      return std::make_unique<FilterOperator>(std::move(options));
    },
});

}  // namespace corpusflow
