// `filter`: drop records by length (Unicode code points or bytes), invalid UTF-8 or emptiness.
// Kept records are untouched; every dropped record is counted with its reason
// (OperatorStats::Drop: "shorter than 20 chars", "invalid utf-8", "empty", ...). Code points are
// counted as in operators/unicode_text.h: an ill-formed UTF-8 subpart counts as one, as when it is
// replaced by U+FFFD. The operator is immutable; its run has no state and Apply runs concurrently
// on many workers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/operator.h"

namespace corpusflow {

/// Whether `text` is empty or only Unicode White_Space (ASCII spaces, U+00A0, U+3000, ...).
bool IsEmptyOrWhitespace(std::string_view text);

struct FilterOptions {
  std::string field = "text";
  std::optional<uint64_t> min_chars;
  std::optional<uint64_t> max_chars;
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
  bool drop_invalid_utf8 = false;
  bool drop_empty = false;
};

class FilterOperator : public Transform {
 public:
  /// Checks are applied in this order and the first that fails names the drop reason:
  /// invalid UTF-8, empty, min/max bytes, min/max chars. Throws InvalidArgument when no check
  /// is asked for or a minimum exceeds its maximum.
  explicit FilterOperator(FilterOptions options);

  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const FilterOptions& options() const { return options_; }

  /// Drop the records of `batch` that fail a check, counting them in `stats`. Thread-safe.
  void FilterBatch(Batch& batch, OperatorStats& stats) const;

 private:
  enum Reason { kInvalidUtf8, kEmpty, kFewBytes, kManyBytes, kFewChars, kManyChars, kKeep };
  Reason Check(std::string_view text) const;

  FilterOptions options_;
  std::string reasons_[kKeep];
};

}  // namespace corpusflow
