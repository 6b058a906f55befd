// Invalid UTF-8 in the text field of a transform (`tokenize`, `segment`): applies the run's
// BadUtf8Policy to each record of a batch (ApplyBadUtf8Policy), remembers the dropped records,
// and at the end of the batch removes them and counts drops and repairs in the operator's stats.
// Thread safety: one object per worker; it holds the repaired text of the current record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/text/unicode_text.h"

namespace corpusflow {

class Batch;
class OperatorStats;

class BadUtf8Records {
 public:
  /// Who repairs invalid UTF-8 under BadUtf8Policy::kReplace: this object (U+FFFD per maximal
  /// invalid sequence, as Python's errors="replace"), or the consumer of the text, which gets
  /// the bytes as they are (SentencePiece, which makes one U+FFFD per invalid byte). Either way
  /// the record counts as repaired.
  enum class Repair { kHere, kByConsumer };

  /// `who` and `field` name the operator and its input field in errors.
  BadUtf8Records(BadUtf8Policy policy, std::string who, std::string field,
                 Repair repair = Repair::kHere)
      : policy_(policy), repair_(repair), who_(std::move(who)), field_(std::move(field)) {}

  /// Start a batch of `n` records, the first of which is `first_record` (0-based) in the stream.
  void StartBatch(uint64_t first_record, size_t n);
  /// Apply the policy to `*text`, the text of record `i` of the batch. Returns false when the
  /// record is dropped (the caller still ends its output record, empty); a repaired `*text`
  /// points into this object until the next call (with Repair::kByConsumer it is left as it
  /// is). Throws DataError under kError.
  bool Keep(size_t i, std::string_view* text);
  /// Remove the dropped records from `batch` (after its output column is added) and count the
  /// "invalid UTF-8" drops and `invalid_utf8_replaced` in `stats`.
  void FinishBatch(Batch& batch, OperatorStats& stats);

 private:
  BadUtf8Policy policy_;
  Repair repair_;
  std::string who_;
  std::string field_;
  std::string repaired_text_;
  std::vector<bool> keep_;
  uint64_t first_record_ = 0;
  uint64_t repaired_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace corpusflow
