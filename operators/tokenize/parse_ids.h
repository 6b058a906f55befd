// `parse-ids`: turn a string field of whitespace-separated integers ("101 2769 102") into an
// int32-list field of token ids, for pre-tokenized data and for building datasets without a
// tokenizer. `--vocab-size N` checks every id against the vocabulary and records N on the
// output field (Field::vocab_size), so `write-megatron` chooses its dtype the way it does after
// `tokenize`. A malformed number is a DataError naming the record (1-based ordinal of the
// stream at this stage, which is the line number when nothing upstream drops records).
// Thread safety: the operator is immutable; its run's Apply runs concurrently on different
// batches, each worker with its own scratch.
#pragma once

#include <cstdint>
#include <string>

#include "engine/operator.h"

namespace corpusflow {

class ParseIdsOperator : public Transform {
 public:
  /// REQUIRES: vocab_size >= 0 (0 = unknown).
  ParseIdsOperator(std::string field, std::string output, int64_t vocab_size);

  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return true; }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  /// Per-worker scratch for ParseBatch.
  class Scratch;
  /// Parse the ids of every record of `batch`, counting them in `stats`. Thread-safe with one
  /// `scratch` per calling thread.
  void ParseBatch(Batch& batch, Scratch& scratch, OperatorStats& stats) const;

 private:
  std::string field_;
  std::string output_;
  int64_t vocab_size_;
};

}  // namespace corpusflow
