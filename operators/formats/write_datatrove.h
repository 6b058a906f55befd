// `write-datatrove PREFIX`: the sink that writes samples (or documents) of token ids as
// datatrove's tokenized files, which nanotron's DatatroveFolderDataset loads:
// `PREFIX.ds`, `PREFIX.ds.index`, `PREFIX.ds.loss` (when a loss mask is written) and
// `PREFIX.ds.metadata` (operators/formats/datatrove_format.h, docs/formats.md). Each record's
// ids are appended to `.ds` in record order, 2-byte tokens when the vocabulary has at most 65536
// ids, else (or when unknown) 4-byte ones, as datatrove decides; the index gets the end of every
// document: each boundary of the record (cu_seqlens) and the record's end. `--shards N` writes N
// such datasets, `PREFIX-0000k-of-0000N.ds` (engine/sharding.h). Memory: the output buffers. The
// files are written as temp files and committed with the run's other outputs when it succeeds,
// the `.ds` and `.ds.loss` before the `.ds.index` and `.ds.metadata`.
// Thread safety: the operator is immutable; its writer is ordered (sample_sink.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "operators/formats/sample_sink.h"

namespace corpusflow {

class WriteDatatroveOperator : public SampleSinkOperator {
 public:
  /// `tokenizer`: the first field of `.ds.metadata`'s first line (datatrove: the tokenizer's
  /// name or path; empty: the field's vocabulary file, else "Unknown Tokenizer"). Throws
  /// InvalidArgument on inconsistent options.
  WriteDatatroveOperator(SampleSinkOptions options, std::string tokenizer);

  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::string DescribePlanned(const Schema& input) const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;

 protected:
  std::unique_ptr<SampleShardWriter> MakeShardWriter(const std::string& prefix,
                                                     const SampleFields& fields,
                                                     const OpenContext& ctx) const override;
  int64_t MaxId(const SampleFields& fields) const override;
  std::string FirstFile(const std::string& prefix) const override;

 private:
  std::string tokenizer_;
};

}  // namespace corpusflow
