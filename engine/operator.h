// The operator contract. An Operator is created from its command-line options by the registry,
// checked by the planner (Validate, OutputSchema) and is immutable from then on. Running it
// opens a run object that holds the state of one execution:
//   Source    -> BatchReader     serial producer of batches
//   Transform -> TransformRun    batch in, batch out; Apply is called concurrently from many
//                                workers unless serial(); per-worker scratch lives in OpState
//   Sink      -> BatchWriter     consumer; ordered (one batch at a time, in sequence order) or
//                                concurrent with per-worker OpState
//   Breaker   -> BreakerRun      a Sink of one pipeline and, once finished, the Source of the next
// Run objects synchronise their own shared state. Destroying a writer or breaker run without
// Finish() means the run failed: it must remove every partial output and temp file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/schema.h"

namespace corpusflow {

class ExecContext;
class OperatorStats;
struct PlanContext;

enum class OperatorRole { kSource, kTransform, kSink, kBreaker };

/// Per-worker (local) state of a transform or sink.
class OpState {
 public:
  virtual ~OpState() = default;
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual OperatorRole role() const = 0;

  /// The registered operator name ("read", "shuffle"); set by the registry.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  /// Check options, input files, output directories before any I/O; throw InvalidArgument or
  /// IoError.
  virtual void Validate(const PlanContext& /*ctx*/) const {}
  /// The schema emitted given the schema received (Sources receive an empty schema). Throws
  /// InvalidArgument when a needed field is missing (Schema::Require).
  virtual Schema OutputSchema(const Schema& input) const { return input; }
  /// One line for the plan printout, e.g. "read 2 files as lines -> text".
  virtual std::string Describe() const { return name_; }
  /// Whether the executor must number batches (Batch::first_record) before this operator sees
  /// them, for random draws derived from (seed, record index).
  virtual bool NeedsRecordIndex() const { return false; }
  /// The files the operator reads (data, dictionaries) as given, "-" for stdin. The planner
  /// refuses a run whose output is one of them, and no output may replace one at run time.
  virtual std::vector<std::string> InputPaths() const { return {}; }
  /// The files the operator writes as given, "-" for stdout (the planner refuses two outputs
  /// of one file, and an output that is an input).
  virtual std::vector<std::string> OutputPaths() const { return {}; }

 private:
  std::string name_;
};

/// A serial producer of batches.
class BatchReader {
 public:
  virtual ~BatchReader() = default;
  /// Fill `out` with the next batch and return true, or return false at the end. `out` may hold
  /// a previous batch's columns (reuse their capacity). The executor sets sequence numbers.
  virtual bool Next(Batch* out) = 0;
};

/// One execution of a Transform.
class TransformRun {
 public:
  virtual ~TransformRun() = default;
  /// Serial transforms see one batch at a time, in sequence order.
  virtual bool serial() const { return false; }
  virtual std::unique_ptr<OpState> MakeLocalState() { return nullptr; }
  /// Transform `batch` in place (it may change the number of records).
  virtual void Apply(Batch& batch, OpState* local) = 0;
  /// Called once after the last batch of a successful run.
  virtual void Finish() {}
};

/// A consumer of batches.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;
  /// Ordered writers see one batch at a time in sequence order; others are called concurrently.
  virtual bool ordered() const { return true; }
  virtual std::unique_ptr<OpState> MakeLocalState() { return nullptr; }
  virtual void Write(Batch& batch, OpState* local) = 0;
  /// Flush and commit (rename `*.tmp` outputs). Called once after the last Write.
  virtual void Finish() = 0;
};

/// One execution of a pipeline breaker: consumes everything, then produces.
class BreakerRun : public BatchWriter {
 public:
  /// After Finish(): the reader that feeds the next pipeline.
  virtual std::unique_ptr<BatchReader> OpenOutput() = 0;
};

class Source : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kSource; }
  virtual std::unique_ptr<BatchReader> Open(ExecContext& ctx, OperatorStats& stats) const = 0;
  /// Input bytes the source will read, when known, for progress and ETA.
  virtual std::optional<uint64_t> TotalBytes() const { return std::nullopt; }
};

class Transform : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kTransform; }
  virtual std::unique_ptr<TransformRun> Open(ExecContext& ctx, OperatorStats& stats) const = 0;
};

class Sink : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kSink; }
  virtual std::unique_ptr<BatchWriter> Open(ExecContext& ctx, OperatorStats& stats) const = 0;
};

class Breaker : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kBreaker; }
  virtual std::unique_ptr<BreakerRun> Open(ExecContext& ctx, OperatorStats& stats) const = 0;
};

/// A Transform with no state beyond the operator itself: Map is called concurrently.
class MapTransform : public Transform {
 public:
  friend class MapTransformRun;
  std::unique_ptr<TransformRun> Open(ExecContext& ctx, OperatorStats& stats) const override;

 protected:
  /// Per-worker scratch space (optional).
  virtual std::unique_ptr<OpState> MakeLocalState() const { return nullptr; }
  /// Transform `batch` in place. Called concurrently; `local` belongs to the calling worker.
  virtual void Map(Batch& batch, OpState* local, OperatorStats& stats) const = 0;
};

}  // namespace corpusflow
