// `write-mds DIR`: the sink that writes samples of token ids as a MosaicML streaming dataset
// (MDS, operators/formats/mds_format.h, docs/formats.md): `DIR/shard.00000.mds`, ... and
// `DIR/index.json` (version 2), one column per field written (the ids, and the loss mask and the
// boundaries when present), each `ndarray:int32`, columns sorted by name as MDSWriter sorts them.
// A shard is closed when the next sample would pass `--size-limit` (MDSWriter's rule and default,
// 64 MiB). `--shards N` writes N such folders, `DIR-0000k-of-0000N` (engine/sharding.h), each
// with its own index.json. Memory: the shard being filled, at most the size limit per output
// (checked against --memory at plan time). Every file is a temp file until the run succeeds; the
// shards are committed before index.json. An empty record is a DataError: MDS cannot encode an
// empty ndarray.
// Thread safety: the operator is immutable; its writer is ordered (sample_sink.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "operators/formats/sample_sink.h"

namespace corpusflow {

class WriteMdsOperator : public SampleSinkOperator {
 public:
  /// `size_limit`: MDSWriter's shard size limit. Throws InvalidArgument on inconsistent options.
  WriteMdsOperator(SampleSinkOptions options, uint64_t size_limit);

  /// Also refuses a size limit whose buffers (one per output) pass half of the memory budget.
  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::string DescribePlanned(const Schema& input) const override;
  /// Each output's index.json (shard files are named as they fill).
  std::vector<std::string> OutputPaths(const Schema& input) const override;

  /// The columns written for `fields`, sorted.
  static std::vector<std::string> Columns(const SampleFields& fields);

 protected:
  std::unique_ptr<SampleShardWriter> MakeShardWriter(const std::string& prefix,
                                                     const SampleFields& fields,
                                                     const OpenContext& ctx) const override;
  int64_t MaxId(const SampleFields& fields) const override;
  std::string FirstFile(const std::string& prefix) const override;

 private:
  uint64_t size_limit_;
};

}  // namespace corpusflow
