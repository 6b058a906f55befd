// Sharding: how a sink splits one output into several files. Every sink that shards (`write`,
// `write-megatron`, the `shuffle` command's line sink) uses this one facility: one naming
// scheme and two named policies, documented once in docs/io.md ("Shards").
//
// Naming. Shard k of N of an output is the output's name with `-0000k-of-0000N` (five digits at
// least) inserted before its extension and compression extension: `out/a.jsonl.zst` ->
// `out/a-00002-of-00008.jsonl.zst`; a dataset prefix gets it at its end: `out/train` ->
// `out/train-00002-of-00008`. When the count is not known in advance (`write --shard-size`),
// `-of-0000N` is left out: `out/a-00002.jsonl.zst`. One shard keeps the name as it is.
//
// Policies, both functions of the record order alone (never of batches or threads):
//   round-robin  kept record j goes to shard j mod N; records a sink drops take no turn, so
//                shards differ by at most one kept record. Streams; needs no count.
//   contiguous   the records in, numbered r = 0..n-1, are cut in N pieces in order: shard s
//                holds [floor(s*n/N), floor((s+1)*n/N)), so the shards concatenated are the
//                unsharded output. Needs n, the exact number of records the sink will receive,
//                when it opens: OpenContext::input.records, known for a sink right after a
//                breaker such as `shuffle`. Dropped records keep their place (their shard is
//                one shorter).
//
// Limits, checked at plan time: at most kMaxShards shards (`--shards` options declare
// CountValue(.., kMaxShards), engine/options.h), and a sink that holds every shard open at once
// checks that they fit `ulimit -n` (CheckShardsFitOpenFiles).
//
// Thread safety: ShardDealer is a plain value used by one thread (sinks that shard are ordered).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corpusflow {

class Cluster;

enum class ShardPolicy { kRoundRobin, kContiguous };

/// The most shards one output may be split into.
constexpr uint64_t kMaxShards = 100000;
/// Descriptors left for everything else a run opens (inputs, spill files, resources) when
/// CheckShardsFitOpenFiles compares shards with `ulimit -n`.
constexpr uint64_t kSpareDescriptors = 64;

/// Throw InvalidArgument when `shards` shards of `files_per_shard` files each, all open at once,
/// do not fit the soft limit on open files (RLIMIT_NOFILE, `ulimit -n`) less kSpareDescriptors:
/// "--shards 5000 keeps 5000 files open at once, more than `ulimit -n` (1024) allows less 64
/// for the run's other files; raise it (ulimit -n) or use fewer shards". `alternative` is
/// appended to the advice (e.g. " or --shard-size"); `who` opens the message when not empty.
void CheckShardsFitOpenFiles(uint64_t shards, uint64_t files_per_shard, std::string_view who,
                             std::string_view alternative = "");

/// "round-robin" or "contiguous".
std::string_view ShardPolicyName(ShardPolicy policy);
/// Parse a policy name; throws InvalidArgument naming the valid ones.
ShardPolicy ParseShardPolicy(std::string_view name);

/// The file of shard `index` of `count` for the output file `path` (`count` 0: the count is not
/// known in advance). `count` 1 returns `path` itself.
std::string ShardFilePath(const std::string& path, uint64_t index, uint64_t count);
/// The prefix of shard `index` of `count` for the dataset prefix `prefix` (no extension is
/// looked for). `count` 1 returns `prefix` itself.
std::string ShardPrefix(const std::string& prefix, uint64_t index, uint64_t count);

/// Across MPI ranks (engine/cluster.h), round-robin: the shard of the run's output where this
/// rank's first written record goes, given the records this rank wrote (`written`): the records
/// written by the ranks before it, mod `shards`. A rank deals its records from shard 0, so its
/// file m is its part of shard (turn + m) mod shards (docs/scale-out.md). A collective that every
/// rank calls at the end of its stream; it begins with an agreement (Cluster::Agree), so a rank
/// that failed stops every rank there. 0 for one process.
uint64_t RoundRobinTurn(Cluster& cluster, uint64_t written, uint64_t shards);

/// Deals the records of one stream to shards, one record at a time, by a policy.
class ShardDealer {
 public:
  /// `records` is the exact number of records the stream will have; kContiguous with more than
  /// one shard needs it (throws InvalidArgument naming `who` without it).
  ShardDealer(ShardPolicy policy, uint64_t shards, std::optional<uint64_t> records,
              std::string_view who);

  uint64_t shards() const { return shards_; }
  /// The shard of the next record.
  uint64_t shard() const { return shard_; }
  /// Records, the next one included, that go to shard() in a row (at least 1; the last shard of
  /// a contiguous stream takes every record past the expected count, so none is lost).
  uint64_t RunLength() const;
  /// Move past the next record; `kept` says whether the sink wrote it (round-robin deals kept
  /// records only).
  void Advance(bool kept);
  /// Move past `n` records, all kept, all in shard(). REQUIRES: n <= RunLength().
  void AdvanceRun(uint64_t n);

 private:
  /// First record number past shard `s` (contiguous).
  uint64_t End(uint64_t s) const;

  ShardPolicy policy_;
  uint64_t shards_;
  uint64_t records_ = 0;
  /// Records received so far (contiguous) or kept so far (round-robin).
  uint64_t dealt_ = 0;
  uint64_t shard_ = 0;
};

}  // namespace corpusflow
