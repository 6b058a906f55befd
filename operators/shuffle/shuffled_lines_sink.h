// ShuffledLinesSink: the sink of `corpusflow shuffle`, which writes string columns as lines, one
// output per column, optionally in shards that are contiguous pieces of the shuffled order.
// Thread safety: the operator is immutable; its writer is ordered (one batch at a time, in
// sequence order).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

struct ShuffleTally;

/// Writes string columns as lines, column i to outputs[i] (compressed by extension, "-" for
/// stdout), optionally split into `shards` files per output that are contiguous pieces of the
/// stream: shard s holds records [s*N/shards, (s+1)*N/shards), named like `write --shards`
/// (`a-00002-of-00008.txt`). N comes from the ShuffleTally of the shuffle before it, so
/// concatenating the shards gives exactly the unsharded output. Files are written as NAME.tmp
/// and renamed when the run succeeds. REQUIRES: fields hold no '\n' (they come from lines).
class ShuffledLinesSink : public Sink {
 public:
  /// `columns[i]` is written to `outputs[i]`. `tally` is required when shards > 1.
  ShuffledLinesSink(std::vector<std::string> columns, std::vector<std::string> outputs,
                    uint64_t shards, const ShuffleTally* tally);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;

  /// The file of shard `shard` of output `path`.
  std::string ShardPath(const std::string& path, uint64_t shard) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::string> outputs_;
  uint64_t shards_;
  const ShuffleTally* tally_;
};

}  // namespace corpusflow
