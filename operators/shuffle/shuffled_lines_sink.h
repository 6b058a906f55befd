// ShuffledLinesSink: the sink of `corpusflow shuffle`, which writes string columns as lines, one
// output per column, optionally in shards (contiguous pieces of the shuffled order by default).
// Thread safety: the operator is immutable; its writer is ordered (one batch at a time, in
// sequence order).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/output_stream.h"
#include "engine/operator.h"
#include "engine/sharding.h"

namespace corpusflow {

/// Writes string columns as lines, column i to outputs[i] (compressed by extension, "-" for
/// stdout), optionally split into `shards` files per output (engine/sharding.h: the names of
/// `write --shards`, e.g. `a-00002-of-00008.txt`). The `shuffle` command uses the contiguous
/// policy, which needs the record count of the shuffle right before it, so that the shards
/// concatenated are exactly the unsharded output. Files are written through AtomicOutput and
/// committed when the run succeeds. Each line ends with `delimiter` ('\n', or '\0' for
/// `shuffle -z`); `output` sets the codec (by extension when unset) and its level.
/// REQUIRES: fields hold no delimiter (they come from lines read with the same one).
class ShuffledLinesSink : public Sink {
 public:
  /// Across MPI ranks: one file per output, which the ranks' parts join into (not stdout, not
  /// shards yet).
  std::string RankLimit() const override;
  /// One file (or one dataset per field), not stdout: the tasks' parts are joined.
  std::string TaskLimit() const override;
  /// `columns[i]` is written to `outputs[i]`, in `shards` files dealt by `policy`.
  ShuffledLinesSink(std::vector<std::string> columns, std::vector<std::string> outputs,
                    uint64_t shards, ShardPolicy policy, char delimiter = '\n',
                    OutputOptions output = {});

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;

  /// The file of shard `shard` of output `path`.
  std::string ShardPath(const std::string& path, uint64_t shard) const;
  char delimiter() const { return delimiter_; }
  const OutputOptions& output_options() const { return output_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::string> outputs_;
  uint64_t shards_;
  ShardPolicy policy_;
  char delimiter_;
  /// The codec and level of every output (run_files is filled in at Open).
  OutputOptions output_;
};

}  // namespace corpusflow
