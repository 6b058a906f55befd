#include "operators/text/bad_utf8_records.h"

#include "engine/batch.h"
#include "engine/stats.h"

namespace corpusflow {

void BadUtf8Records::StartBatch(uint64_t first_record, size_t n) {
  first_record_ = first_record;
  keep_.assign(n, true);
  repaired_ = 0;
  dropped_ = 0;
}

bool BadUtf8Records::Keep(size_t i, std::string_view* text) {
  if (policy_ == BadUtf8Policy::kReplace && repair_ == Repair::kByConsumer) {
    if (!IsValidUtf8(*text)) ++repaired_;
    return true;
  }
  const Utf8Outcome outcome =
      ApplyBadUtf8Policy(policy_, text, &repaired_text_, who_, first_record_ + i, field_);
  if (outcome == Utf8Outcome::kRepaired) ++repaired_;
  if (outcome != Utf8Outcome::kDropped) return true;
  keep_[i] = false;
  ++dropped_;
  return false;
}

void BadUtf8Records::FinishBatch(Batch& batch, OperatorStats& stats) {
  if (dropped_ > 0) {
    batch.KeepRecords(keep_);
    stats.Drop("invalid UTF-8", dropped_);
  }
  if (repaired_ > 0) stats.Add("invalid_utf8_replaced", repaired_);
}

}  // namespace corpusflow
