// `write PATH`: the sink for text lines and JSONL, compressed by extension (`.gz`, `.bz2`,
// `.zst`), `-` for stdout. Formats:
//   lines  one string field (default `text`) per line. A record containing '\n' cannot be a
//          line: it fails the run (default), or is dropped (counted) or has its newlines
//          replaced by spaces, as `--newline` says. Other bytes are written as they are.
//   jsonl  one JSON object per record with the chosen fields (default: all, in schema order):
//          strings as JSON strings, string lists as arrays of strings, id lists as arrays of
//          numbers. JSON needs UTF-8: invalid bytes fail the run (default), or the record is
//          dropped, or each maximal invalid subsequence becomes U+FFFD (`--invalid-utf8`).
// Sharding (engine/sharding.h): `--shards N` writes N files `STEM-0000k-of-0000N.EXT`, dealt by
// `--shard-policy` (round-robin over written records, or contiguous pieces of the order);
// `--shard-size SIZE` starts a new file `STEM-0000k.EXT` once one holds SIZE uncompressed bytes.
// All depend only on the record order, never on batches or threads.
// Every file is written through AtomicOutput (a hidden temp file beside it) and handed to the
// run's CommitGroup when complete, so it is renamed only when the whole run succeeded; a failed
// run leaves no output behind. The operator is immutable; its writer is ordered (the executor
// hands it one batch at a time, in sequence order), so it needs no synchronisation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/compression.h"
#include "engine/operator.h"
#include "engine/sharding.h"
#include "operators/io/read.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {

enum class NewlinePolicy { kFail, kSpace, kDrop };

struct WriteOptions {
  std::string path;
  /// Unset = by extension.
  std::optional<TextFormat> format;
  /// lines: one field (empty = `text`); jsonl: the fields to write (empty = all).
  std::vector<std::string> fields;
  /// Unset = by extension.
  std::optional<Compression> compression;
  /// Codec level; 0 = the codec's default.
  int level = 0;
  /// zstd worker threads; unset = the run's thread count (single-file output only).
  std::optional<int> compression_threads;
  /// Deal records to this many files; 0 = no sharding by count.
  uint64_t shards = 0;
  /// How records are dealt to the `shards` files.
  ShardPolicy shard_policy = ShardPolicy::kRoundRobin;
  /// Start a new file after this many uncompressed bytes; 0 = no sharding by size.
  uint64_t shard_bytes = 0;
  NewlinePolicy newline = NewlinePolicy::kFail;
  /// jsonl: kError fails the run (`--invalid-utf8 fail`).
  BadUtf8Policy invalid_utf8 = BadUtf8Policy::kError;
  /// fdatasync every file before renaming it into place.
  bool fsync = false;
};

class WriteOperator : public Sink {
 public:
  /// Check option combinations; throws InvalidArgument.
  explicit WriteOperator(WriteOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;
  /// Ranks write parts of one file, or of each of --shards N round-robin shards, which rank 0
  /// joins; stdout, --shard-size and contiguous shards do not join.
  std::string RankLimit() const override;
  /// One file (or one dataset per field), not stdout: the tasks' parts are joined.
  std::string TaskLimit() const override;

  const WriteOptions& options() const { return options_; }
  TextFormat format() const { return format_; }
  Compression compression() const { return compression_; }

 private:
  WriteOptions options_;
  TextFormat format_;
  Compression compression_;
};

}  // namespace corpusflow
