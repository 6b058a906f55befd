// `parse-ids`: turn a string field of whitespace-separated integers ("101 2769 102") into an
// int32-list field of token ids, for pre-tokenized data and for building datasets without a
// tokenizer. `--vocab-size N` checks every id against the vocabulary and records N on the
// output field (Field::vocab_size), so `write-megatron` chooses its dtype the way it does after
// `tokenize`. A malformed number is a DataError naming the record (1-based ordinal of the
// stream at this stage, which is the line number when nothing upstream drops records).
// Thread safety: immutable; Map runs concurrently on different batches.
#pragma once

#include <cstdint>
#include <string>

#include "engine/operator.h"

namespace corpusflow {

class ParseIdsOperator : public MapTransform {
 public:
  /// REQUIRES: vocab_size >= 0 (0 = unknown).
  ParseIdsOperator(std::string field, std::string output, int64_t vocab_size);

  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return true; }

 protected:
  std::unique_ptr<OpState> MakeLocalState() const override;
  void Map(Batch& batch, OpState* local, OperatorStats& stats) const override;

 private:
  std::string field_;
  std::string output_;
  int64_t vocab_size_;
};

}  // namespace corpusflow
