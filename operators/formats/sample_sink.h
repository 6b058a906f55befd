// SampleSinkRun: the execution every trainer-format sink (write-datatrove, write-mds,
// write-olmo) shares. It receives batches in record order (an ordered writer), checks each
// record against the field contract (sample_fields.h, CheckSample: a DataError names the record),
// deals it to a shard by the sink's policy (engine/sharding.h) and hands it to that shard's
// SampleShardWriter, which streams it into its files. Finish() finishes every shard's files
// under their temp names and hands them to the run's CommitGroup: they appear only when the whole
// run succeeded, data files before the files that index them, and a failed run leaves none.
// Counters (--stats-json): `samples`, `tokens`, `documents`, `padding_tokens`, `loss_tokens`
// (ids with mask 1), and whatever the shard writers add.
// Thread safety: one thread at a time (the executor calls an ordered writer serially).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/exec_context.h"
#include "engine/operator.h"
#include "engine/sharding.h"
#include "engine/stats.h"
#include "operators/formats/sample_fields.h"

namespace corpusflow {

/// One output (one shard) of a trainer-format sink.
class SampleShardWriter {
 public:
  virtual ~SampleShardWriter() = default;
  /// Write one checked sample; `record` is its 0-based ordinal in the sink's stream.
  virtual void Add(const SampleView& sample, uint64_t record) = 0;
  /// Finish the files and hand them to `ctx` (ExecContext::DeferCommit); nothing is added
  /// afterwards. Destroyed without Finish() (a failed run) the writer removes its temp files.
  virtual void Finish(ExecContext& ctx, OperatorStats& stats) = 0;
};

class SampleSinkRun : public BatchWriter {
 public:
  /// `writers` holds one writer per shard; `max_id` is the largest id the format holds.
  SampleSinkRun(std::string who, SampleFields fields, int64_t max_id, ShardPolicy policy,
                const OpenContext& open, std::vector<std::unique_ptr<SampleShardWriter>> writers);

  void Write(Batch& batch, OpState* local) override;
  void Finish() override;

 private:
  std::string who_;
  SampleFields fields_;
  int64_t max_id_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  ShardDealer dealer_;
  std::vector<std::unique_ptr<SampleShardWriter>> writers_;
  uint64_t next_record_ = 0;
  uint64_t tokens_ = 0;
  uint64_t documents_ = 0;
  uint64_t padding_ = 0;
  uint64_t loss_tokens_ = 0;
  std::vector<uint64_t> ends_;
};

/// The largest id a token of `width` bytes holds, capped by `vocab_size` (> 0) and by int32.
int64_t MaxIdForWidth(int width, int64_t vocab_size);

/// The operator every trainer-format sink derives from: it holds the shared options, checks the
/// output folder at plan time and opens a SampleSinkRun over one SampleShardWriter per shard.
/// Immutable after planning.
class SampleSinkOperator : public Sink {
 public:
  /// Each format's files (an index, shards by size, MDS's index.json) are not joined from the
  /// parts of several MPI ranks yet.
  std::string RankLimit() const override {
    return "its files are not joined from the parts of several MPI ranks yet";
  }
  std::string TaskLimit() const override {
    return "its files are not joined from the parts of several tasks yet";
  }
  /// Throws InvalidArgument on inconsistent options (CheckSampleSinkOptions).
  explicit SampleSinkOperator(SampleSinkOptions options);

  /// Check that the folder of the first shard's `FirstFile` can be created or written.
  void Validate(const PlanContext& ctx) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;

  const SampleSinkOptions& sink_options() const { return sink_; }
  /// The fields written for `input` (PlanSampleFields).
  SampleFields PlanFields(const Schema& input) const;
  /// The prefix (or folder) of output `shard`.
  std::string OutputPrefix(uint32_t shard) const;
  /// " in N POLICY shards" when there are several, else "".
  std::string ShardsPhrase() const;

 protected:
  /// The writer of the output at `prefix` (one shard) for `fields`.
  virtual std::unique_ptr<SampleShardWriter> MakeShardWriter(const std::string& prefix,
                                                             const SampleFields& fields,
                                                             const OpenContext& ctx) const = 0;
  /// The largest id the format holds for `fields` (ids are checked against it).
  virtual int64_t MaxId(const SampleFields& fields) const = 0;
  /// A file of the output at `prefix`, named in plan-time errors about its folder.
  virtual std::string FirstFile(const std::string& prefix) const = 0;

 private:
  SampleSinkOptions sink_;
};

}  // namespace corpusflow
