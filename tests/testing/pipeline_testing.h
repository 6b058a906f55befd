// Operators for tests of the engine and of operators, built directly (not through the registry):
// sources that replay given records or batches, a sink that collects what it receives, a seeded
// jitter transform that makes parallel workers finish out of order, a transform that fails on
// the Nth batch, a predicate filter, a stage that records the ordinals the executor assigns, a
// pass-through pipeline breaker, RunChain() to plan and execute a chain of them, and the order
// the shuffle's specification gives.
// Thread safety: like every operator, these are immutable once planned; their runs synchronise
// what they share. A CollectedOutput is filled by one run and read by the test afterwards.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/batch.h"
#include "engine/exec_context.h"
#include "engine/operator.h"
#include "engine/plan.h"
#include "engine/stats.h"
#include "operators/shuffle/shuffle_keys.h"

namespace corpusflow::testing {

/// Records of `records` as one string column, `batch_records` records per batch.
class VectorSource : public Source {
 public:
  VectorSource(std::vector<std::string> records, size_t batch_records, std::string field = "text");

  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::optional<uint64_t> TotalBytes() const override;
  std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const override;

  /// Batches handed to the executor by the last run (to check early stops).
  uint64_t batches_produced() const { return batches_produced_.load(); }

 private:
  std::vector<std::string> records_;
  size_t batch_records_;
  std::string field_;
  // Instrumentation only: counted by the (serial) reader, read by the test after the run.
  mutable std::atomic<uint64_t> batches_produced_{0};
};

/// Replays copies of the given batches (any columns), in order. All batches must have the same
/// columns.
class BatchSource : public Source {
 public:
  explicit BatchSource(std::vector<Batch> batches);

  Schema OutputSchema(const Schema& input) const override;
  std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const override;

 private:
  std::vector<Batch> batches_;
};

/// One field of a collected record.
using FieldValue = std::variant<std::string, std::vector<std::string>, std::vector<int32_t>,
                                std::vector<std::vector<int32_t>>>;

struct CollectedRecord {
  std::vector<std::pair<std::string, FieldValue>> fields;
  /// The value of field `name`; throws std::out_of_range when absent.
  const FieldValue& Get(std::string_view name) const;
};

/// What a CollectingSink received, in the order Write() was called.
struct CollectedOutput {
  /// The collected string field of every record.
  std::vector<std::string> texts;
  /// Every field of every record (when CollectingSinkOptions::all_fields).
  std::vector<CollectedRecord> records;
  /// Batch::sequence() of each batch written.
  std::vector<uint64_t> sequences;
  /// Batch::first_record() of each batch written (meaningful with needs_record_index).
  std::vector<uint64_t> first_records;
  /// Records in each batch written.
  std::vector<uint64_t> batch_records;
  /// Whether the writer was finished (a failed run never finishes it).
  bool finished = false;
  /// What the sink was opened with (OpenContext::input).
  InputEstimate input;
  /// Whether the writer was destroyed (it is, on success and on failure).
  bool destroyed = false;
  std::mutex mu;
};

struct CollectingSinkOptions {
  /// The string field collected into CollectedOutput::texts ("" for none).
  std::string field = "text";
  /// Also collect every field into CollectedOutput::records.
  bool all_fields = false;
  /// An ordered writer (one batch at a time, in sequence order) or a concurrent one.
  bool ordered = true;
  /// Ask the executor for Batch::first_record.
  bool needs_record_index = false;
};

/// A sink that appends what it receives to a CollectedOutput owned by the test.
class CollectingSink : public Sink {
 public:
  explicit CollectingSink(CollectedOutput* output, CollectingSinkOptions options = {});

  Schema OutputSchema(const Schema& input) const override;
  bool NeedsRecordIndex() const override { return options_.needs_record_index; }
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;

 private:
  CollectedOutput* output_;
  CollectingSinkOptions options_;
};

/// A parallel transform that sleeps a pseudo-random 0..max_micros microseconds per batch (derived
/// from the seed and the batch's sequence number) and leaves the batch unchanged.
class JitterTransform : public Transform {
 public:
  explicit JitterTransform(uint64_t seed, uint32_t max_micros = 300);
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  uint64_t seed_;
  uint32_t max_micros_;
};

/// A parallel transform that throws DataError("<message> (batch N)") on the batch whose sequence
/// number is `fail_at_batch` and passes every other batch through.
class FailingTransform : public Transform {
 public:
  explicit FailingTransform(uint64_t fail_at_batch, std::string message = "injected failure");
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  uint64_t fail_at_batch_;
  std::string message_;
};

/// A parallel transform keeping the records whose string `field` satisfies `keep`; the others
/// are counted as dropped with reason "predicate".
class PredicateFilter : public Transform {
 public:
  PredicateFilter(std::function<bool(std::string_view)> keep, std::string field = "text");
  Schema OutputSchema(const Schema& input) const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  std::function<bool(std::string_view)> keep_;
  std::string field_;
};

/// A parallel transform that asks for record ordinals and writes each record's ordinal
/// (Batch::first_record() + i, in decimal) into the string column `field`.
class RecordIndexTransform : public Transform {
 public:
  explicit RecordIndexTransform(std::string field = "record_index");
  Schema OutputSchema(const Schema& input) const override;
  bool NeedsRecordIndex() const override { return true; }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  std::string field_;
};

/// A pipeline breaker that keeps copies of every batch and replays them in order.
class BufferingBreaker : public Breaker {
 public:
  BufferingBreaker();
  std::unique_ptr<BreakerRun> Open(const OpenContext& ctx) const override;
};

/// A chain of operators for Plan::Build: Chain(std::make_unique<A>(...), ...).
template <typename... Ops>
std::vector<std::unique_ptr<Operator>> Chain(std::unique_ptr<Ops>... ops) {
  std::vector<std::unique_ptr<Operator>> chain;
  (chain.push_back(std::move(ops)), ...);
  return chain;
}

/// Run options for tests: no progress line; `batch_bytes` 0 derives it from the budget.
RunOptions TestRunOptions(int threads, uint64_t memory_bytes, uint64_t batch_bytes = 0);

/// The PlanContext the CLI would build from `options`.
PlanContext TestPlanContext(const RunOptions& options);

/// Plan `chain` and execute it with Execute(); return the plan, which owns the operators, so a
/// test can still look at them. Throws whatever planning or execution throws. `stats`, when
/// given, receives the run's counters.
Plan RunChain(std::vector<std::unique_ptr<Operator>> chain, const RunOptions& options,
              RunStats* stats = nullptr);
/// The same in a context the test owns (to look at its resources afterwards); the plan is
/// checked with ctx.options().
Plan RunChain(std::vector<std::unique_ptr<Operator>> chain, ExecContext& ctx,
              RunStats* stats = nullptr);

/// The shuffle's specification: `records` in the order of ShuffleKeys(seed).Key(i) of their
/// ordinals i.
std::vector<std::string> ShuffleKeyOrder(const std::vector<std::string>& records, uint64_t seed);

}  // namespace corpusflow::testing
