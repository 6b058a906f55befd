// `write-olmo PREFIX --eos ID`: the sink that writes token ids as the raw token memmap OLMo and
// OLMo-core train from (operators/formats/olmo_format.h, docs/formats.md): `PREFIX.npy` (the ids,
// uint8/uint16/uint32 by the vocabulary size as OLMo-core's get_dtype() chooses, uint32 when
// unknown), `PREFIX.csv.gz` (start,end,id,src,loc of every document, Dolma's metadata) and
// `PREFIX_mask.npy` (one 0/1 byte per token, OLMo-core's label mask, when a loss mask is
// written). OLMo finds documents by their EOS: a record without boundaries is one document and
// gets `--eos` appended unless it already ends with it (the mask, if any, gets a 1 for it); a
// record with boundaries (a packed sample) is written as it is, so the memmap's chunks of the
// sample length are the samples, and each of its documents must end with `--eos` (a DataError
// names the record otherwise); its padding is no document. `--shards N` writes N such sets,
// `PREFIX-0000k-of-0000N.npy` and so on. Memory: the output buffers. Files are temp files until
// the run succeeds, the `.npy` files before the metadata.
// Thread safety: the operator is immutable; its writer is ordered (sample_sink.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "operators/formats/sample_fields.h"

namespace corpusflow {

struct WriteOlmoOptions {
  SampleSinkOptions sink;
  int64_t eos = -1;
};

class WriteOlmoOperator : public Sink {
 public:
  /// Throws InvalidArgument on inconsistent options.
  explicit WriteOlmoOperator(WriteOlmoOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::string DescribePlanned(const Schema& input) const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;

 private:
  WriteOlmoOptions options_;
};

}  // namespace corpusflow
