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
#include "operators/formats/sample_sink.h"

namespace corpusflow {

class WriteOlmoOperator : public SampleSinkOperator {
 public:
  /// `eos`: the id that ends every document. Throws InvalidArgument on inconsistent options
  /// (an EOS outside [0, 2^31)).
  WriteOlmoOperator(SampleSinkOptions options, int64_t eos);

  /// Also refuses an EOS the field's token width or vocabulary cannot hold.
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
  int64_t eos_;
};

}  // namespace corpusflow
