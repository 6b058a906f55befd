#include "engine/executor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/output_stream.h"
#include "engine/registry.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::BufferingBreaker;
using testing::Chain;
using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::FailingTransform;
using testing::JitterTransform;
using testing::PredicateFilter;
using testing::RecordIndexTransform;
using testing::RunChain;
using testing::TestRunOptions;
using testing::VectorSource;

constexpr int kThreadCounts[] = {1, 2, 8};
/// Budgets of 1 MiB (few batches in flight) and 64 MiB.
constexpr uint64_t kBudgets[] = {uint64_t{1} << 20, uint64_t{64} << 20};

/// Records "r<i>:" followed by a varying amount of padding, so batches differ in bytes.
std::vector<std::string> MakeRecords(size_t n) {
  std::vector<std::string> records;
  records.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    records.push_back("r" + std::to_string(i) + ":" + std::string((i * 7919) % 61, 'x'));
  }
  return records;
}

/// Whether a record "r<i>:..." has i divisible by `k`.
bool IndexDivisibleBy(std::string_view record, size_t k) {
  const size_t colon = record.find(':');
  return std::stoull(std::string(record.substr(1, colon - 1))) % k == 0;
}

std::vector<uint64_t> Iota(size_t n) {
  std::vector<uint64_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(ExecutorTest, OrderedOutputIsIdenticalForEveryThreadCountAndBudget) {
  const std::vector<std::string> input = MakeRecords(4000);
  for (int threads : kThreadCounts) {
    for (uint64_t budget : kBudgets) {
      SCOPED_TRACE("threads " + std::to_string(threads) + ", budget " + std::to_string(budget));
      CollectedOutput out;
      RunChain(Chain(std::make_unique<VectorSource>(input, 7),
                     std::make_unique<JitterTransform>(threads * 31 + budget, 200),
                     std::make_unique<CollectingSink>(&out)),
               TestRunOptions(threads, budget, 512));
      EXPECT_EQ(out.texts, input);
      // 4000 records, 7 per batch: 572 batches, written in sequence order.
      EXPECT_EQ(out.sequences, Iota(572));
      EXPECT_TRUE(out.finished);
    }
  }
}

TEST(ExecutorTest, JitteredParallelStagesKeepOrderThroughSeveralTransforms) {
  const std::vector<std::string> input = MakeRecords(3000);
  std::vector<std::string> expected;
  for (const std::string& r : input) {
    if (!IndexDivisibleBy(r, 3)) expected.push_back(r);
  }
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    RunChain(
        Chain(std::make_unique<VectorSource>(input, 5), std::make_unique<JitterTransform>(1, 300),
              std::make_unique<PredicateFilter>(
                  [](std::string_view r) { return !IndexDivisibleBy(r, 3); }),
              std::make_unique<JitterTransform>(2, 300), std::make_unique<CollectingSink>(&out)),
        TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(out.texts, expected);
  }
}

TEST(ExecutorTest, UnorderedSinkReceivesEveryBatchOnce) {
  const std::vector<std::string> input = MakeRecords(2000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    CollectingSinkOptions options;
    options.ordered = false;
    RunChain(
        Chain(std::make_unique<VectorSource>(input, 9), std::make_unique<JitterTransform>(3, 200),
              std::make_unique<CollectingSink>(&out, options)),
        TestRunOptions(threads, 1 << 20));
    std::vector<std::string> texts = out.texts;
    std::vector<std::string> sorted_input = input;
    std::sort(texts.begin(), texts.end());
    std::sort(sorted_input.begin(), sorted_input.end());
    EXPECT_EQ(texts, sorted_input);
    std::vector<uint64_t> sequences = out.sequences;
    std::sort(sequences.begin(), sequences.end());
    EXPECT_EQ(sequences, Iota(223));  // ceil(2000 / 9)
  }
}

TEST(ExecutorTest, CountsRecordsAndDropsPerOperator) {
  const std::vector<std::string> input = MakeRecords(1000);
  CollectedOutput out;
  RunStats stats;
  RunChain(Chain(std::make_unique<VectorSource>(input, 16),
                 std::make_unique<PredicateFilter>(
                     [](std::string_view r) { return !IndexDivisibleBy(r, 4); }),
                 std::make_unique<CollectingSink>(&out)),
           TestRunOptions(2, 1 << 20), &stats);
  ASSERT_EQ(stats.operators().size(), 3u);
  const OperatorStats& source = *stats.operators()[0];
  const OperatorStats& filter = *stats.operators()[1];
  const OperatorStats& sink = *stats.operators()[2];
  uint64_t input_bytes = 0;
  for (const std::string& r : input) input_bytes += r.size();
  EXPECT_EQ(source.label(), "vector-source");
  EXPECT_EQ(source.records_out, 1000u);
  EXPECT_EQ(source.bytes_out, input_bytes);
  EXPECT_EQ(filter.records_in, 1000u);
  EXPECT_EQ(filter.records_out, 750u);
  EXPECT_EQ(filter.drops(), (std::map<std::string, uint64_t>{{"predicate", 250}}));
  EXPECT_EQ(filter.dropped_total(), 250u);
  EXPECT_EQ(sink.records_in, 750u);
  EXPECT_EQ(out.texts.size(), 750u);
}

TEST(ExecutorTest, EmptyInputFinishesTheSink) {
  for (int threads : kThreadCounts) {
    CollectedOutput out;
    RunChain(Chain(std::make_unique<VectorSource>(std::vector<std::string>{}, 4),
                   std::make_unique<JitterTransform>(1), std::make_unique<CollectingSink>(&out)),
             TestRunOptions(threads, 1 << 20));
    EXPECT_TRUE(out.texts.empty());
    EXPECT_TRUE(out.finished);
  }
}

TEST(ExecutorTest, FailingStageMidStreamThrowsAndNeverFinishesTheSink) {
  const std::vector<std::string> input = MakeRecords(5000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    const auto run = [&] {
      RunChain(Chain(std::make_unique<VectorSource>(input, 10),
                     std::make_unique<JitterTransform>(5, 200),
                     std::make_unique<FailingTransform>(123, "bad record in input.txt:1231"),
                     std::make_unique<CollectingSink>(&out)),
               TestRunOptions(threads, 1 << 20));
    };
    EXPECT_EQ(testing::ErrorMessage<DataError>(run), "bad record in input.txt:1231 (batch 123)");
    EXPECT_FALSE(out.finished);
    EXPECT_TRUE(out.destroyed);
    // The ordered sink never saw the failing batch or anything after it.
    ASSERT_FALSE(out.sequences.empty());
    EXPECT_LT(out.sequences.back(), 123u);
    EXPECT_EQ(out.sequences, Iota(out.sequences.size()));
  }
}

TEST(ExecutorTest, FailingStageLeavesNoWriteOutputOrTempFile) {
  ASSERT_NE(OperatorRegistry::Global().Find("write"), nullptr);
  const std::vector<std::string> input = MakeRecords(5000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    testing::ScopedTempDir dir;
    const std::string path = dir.File("out.txt");
    std::vector<std::unique_ptr<Operator>> chain =
        Chain(std::make_unique<VectorSource>(input, 10), std::make_unique<JitterTransform>(6, 200),
              std::make_unique<FailingTransform>(300));
    chain.push_back(OperatorRegistry::Global().Create("write", {path}));
    EXPECT_THROW(RunChain(std::move(chain), TestRunOptions(threads, 1 << 20, 256)), DataError);
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{});
  }
}

TEST(ExecutorTest, WriteSinkOutputIsIdenticalForEveryThreadCount) {
  ASSERT_NE(OperatorRegistry::Global().Find("write"), nullptr);
  const std::vector<std::string> input = MakeRecords(3000);
  const std::string expected = testing::JoinLines(input);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    testing::ScopedTempDir dir;
    const std::string path = dir.File("out.txt");
    std::vector<std::unique_ptr<Operator>> chain =
        Chain(std::make_unique<VectorSource>(input, 10), std::make_unique<JitterTransform>(7, 200));
    chain.push_back(OperatorRegistry::Global().Create("write", {path}));
    RunChain(std::move(chain), TestRunOptions(threads, 1 << 20, 256));
    EXPECT_EQ(testing::ReadFile(path), expected);
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"out.txt"});
  }
}

TEST(ExecutorTest, HeadStopsTheSourceEarly) {
  ASSERT_NE(OperatorRegistry::Global().Find("head"), nullptr);
  const std::vector<std::string> input = MakeRecords(100000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    const RunOptions options = TestRunOptions(threads, 1 << 20);
    std::vector<std::unique_ptr<Operator>> chain =
        Chain(std::make_unique<VectorSource>(input, 10), std::make_unique<JitterTransform>(8, 100));
    chain.push_back(OperatorRegistry::Global().Create("head", {"25"}));
    chain.push_back(std::make_unique<CollectingSink>(&out));
    const Plan plan = RunChain(std::move(chain), options);
    EXPECT_EQ(out.texts, std::vector<std::string>(input.begin(), input.begin() + 25));
    EXPECT_TRUE(out.finished);
    // head's third batch completes the 25 records; the source can only have run ahead by the
    // batches in flight.
    const auto& source = static_cast<const VectorSource&>(*plan.operators()[0]);
    const ExecContext ctx(options);
    EXPECT_LE(source.batches_produced(), 3 + ctx.max_batches_in_flight());
  }
}

// RunOptions::cancel: another thread (the Python module's iterator) stops a run; the source
// produces no batch after the flag is seen, the sink is never finished, the run throws
// Interrupted. A run whose flag stays clear is unaffected.
TEST(ExecutorTest, CancelFlagStopsTheRunBeforeTheSourcesNextBatch) {
  const std::vector<std::string> input = MakeRecords(100000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    std::atomic<bool> cancel{false};
    RunOptions options = TestRunOptions(threads, 1 << 20);
    options.cancel = &cancel;
    CollectedOutput out;
    // Set the flag on the record of the source's 10th batch (10 records each).
    auto chain = Chain(std::make_unique<VectorSource>(input, 10),
                       std::make_unique<PredicateFilter>([&](std::string_view record) {
                         if (record.starts_with("r95:")) cancel = true;
                         return true;
                       }),
                       std::make_unique<CollectingSink>(&out));
    EXPECT_THROW(RunChain(std::move(chain), options), Interrupted);
    EXPECT_FALSE(out.finished);
    EXPECT_LT(out.texts.size(), 1000u);

    std::atomic<bool> clear{false};
    options.cancel = &clear;
    CollectedOutput all;
    RunChain(
        Chain(std::make_unique<VectorSource>(input, 10), std::make_unique<CollectingSink>(&all)),
        options);
    EXPECT_TRUE(all.finished);
    EXPECT_EQ(all.texts.size(), input.size());
  }
}

TEST(ExecutorTest, RecordIndexIsNumberedAfterAFilterForEveryThreadCount) {
  const std::vector<std::string> input = MakeRecords(3000);
  std::vector<std::string> kept;
  for (const std::string& r : input) {
    if (!IndexDivisibleBy(r, 3)) kept.push_back(r);
  }
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    CollectingSinkOptions options;
    options.all_fields = true;
    options.needs_record_index = true;
    RunChain(
        Chain(std::make_unique<VectorSource>(input, 7),
              std::make_unique<PredicateFilter>(
                  [](std::string_view r) { return !IndexDivisibleBy(r, 3); }),
              std::make_unique<JitterTransform>(9, 200), std::make_unique<RecordIndexTransform>(),
              std::make_unique<CollectingSink>(&out, options)),
        TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(out.texts, kept);
    ASSERT_EQ(out.records.size(), kept.size());
    for (size_t i = 0; i < kept.size(); ++i) {
      ASSERT_EQ(std::get<std::string>(out.records[i].Get("record_index")), std::to_string(i));
    }
    // The sink's own numbering: first_record of each batch = records before it.
    uint64_t before = 0;
    for (size_t b = 0; b < out.first_records.size(); ++b) {
      ASSERT_EQ(out.first_records[b], before) << "batch " << b;
      before += out.batch_records[b];
    }
    EXPECT_EQ(before, kept.size());
  }
}

TEST(ExecutorTest, BreakerSplitsTheRunIntoPipelinesAndNumbersEachFromZero) {
  const std::vector<std::string> input = MakeRecords(500);
  std::vector<std::string> kept;
  for (const std::string& r : input) {
    if (!IndexDivisibleBy(r, 2)) kept.push_back(r);
  }
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    CollectedOutput out;
    CollectingSinkOptions options;
    options.all_fields = true;
    RunChain(Chain(std::make_unique<VectorSource>(input, 6),
                   std::make_unique<RecordIndexTransform>("first_index"),
                   std::make_unique<PredicateFilter>(
                       [](std::string_view r) { return !IndexDivisibleBy(r, 2); }),
                   std::make_unique<BufferingBreaker>(), std::make_unique<JitterTransform>(10, 100),
                   std::make_unique<RecordIndexTransform>("second_index"),
                   std::make_unique<CollectingSink>(&out, options)),
             TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(out.texts, kept);
    ASSERT_EQ(out.records.size(), kept.size());
    for (size_t i = 0; i < kept.size(); ++i) {
      // Pipeline 1 numbered every record (odd ones survive); pipeline 2 numbers the survivors.
      EXPECT_EQ(std::get<std::string>(out.records[i].Get("first_index")),
                std::to_string(2 * i + 1));
      EXPECT_EQ(std::get<std::string>(out.records[i].Get("second_index")), std::to_string(i));
    }
  }
}

/// A serial transform that holds records back (TransformRun::Drain): each Apply passes on the
/// records of the batch before it, and after the last batch Drain emits the records still held in
/// batches of at most 4, then a batch of the one record "end". Counts its Drain calls and
/// whether Finish came after the last one.
class LaggingTransform : public Transform {
 public:
  struct Log {
    uint64_t drains = 0;
    bool drained_before_finish = false;
  };
  explicit LaggingTransform(Log* log) : log_(log) { set_name("lag"); }
  std::unique_ptr<TransformRun> Open(const OpenContext& /*ctx*/) const override {
    return std::make_unique<Run>(log_);
  }

 private:
  class Run : public TransformRun {
   public:
    explicit Run(Log* log) : log_(log) {}
    bool serial() const override { return true; }
    void Apply(Batch& batch, OpState* /*local*/) override {
      StringColumn& text = batch.GetString("text");
      std::vector<std::string> records;
      for (size_t i = 0; i < text.size(); ++i) records.emplace_back(text[i]);
      text.Clear();
      for (const std::string& r : held_) text.Append(r);
      held_ = std::move(records);
    }
    bool Drain(Batch* out) override {
      ++log_->drains;
      if (ended_) return false;
      out->Reset();
      StringColumn& text = out->AddString("text");
      for (size_t n = 0; n < 4 && next_ < held_.size(); ++n) text.Append(held_[next_++]);
      if (text.size() == 0) {
        text.Append("end");
        ended_ = true;
      }
      return true;
    }
    void Finish() override { log_->drained_before_finish = ended_; }

   private:
    Log* log_;
    std::vector<std::string> held_;
    size_t next_ = 0;
    bool ended_ = false;
  };
  Log* log_;
};

TEST(ExecutorTest, ASerialTransformDrainsWhatItHeldBackAfterItsLastBatch) {
  const std::vector<std::string> input = MakeRecords(1003);
  std::vector<std::string> expected = input;
  expected.push_back("end");
  for (int threads : kThreadCounts) {
    for (uint64_t budget : kBudgets) {
      SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(budget));
      CollectedOutput out;
      CollectingSinkOptions options;
      options.all_fields = true;
      options.needs_record_index = true;
      LaggingTransform::Log log;
      RunStats stats;
      // 10 records a batch: the last batch's 3 records leave in one drained batch, then "end";
      // the stages after the transform (parallel, numbering) see the drained batches in order.
      RunChain(
          Chain(std::make_unique<VectorSource>(input, 10),
                std::make_unique<JitterTransform>(3, 100), std::make_unique<LaggingTransform>(&log),
                std::make_unique<JitterTransform>(4, 100), std::make_unique<RecordIndexTransform>(),
                std::make_unique<CollectingSink>(&out, options)),
          TestRunOptions(threads, budget), &stats);
      EXPECT_EQ(out.texts, expected);
      ASSERT_EQ(out.records.size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(std::get<std::string>(out.records[i].Get("record_index")), std::to_string(i));
      }
      // 101 batches in, the first leaving empty; two drained batches: 3 records, then "end".
      ASSERT_EQ(out.batch_records.size(), 103u);
      EXPECT_EQ(out.batch_records.front(), 0u);
      EXPECT_EQ(out.batch_records[101], 3u);
      EXPECT_EQ(out.batch_records[102], 1u);
      EXPECT_EQ(log.drains, 3u);  // two batches, then false
      EXPECT_TRUE(log.drained_before_finish);
      EXPECT_TRUE(out.finished);
      const OperatorStats& lag = *stats.operators()[2];
      EXPECT_EQ(lag.label(), "lag");
      EXPECT_EQ(lag.records_in.load(), input.size());
      EXPECT_EQ(lag.records_out.load(), input.size() + 1);
      EXPECT_EQ(stats.operators()[5]->records_in.load(), input.size() + 1);
    }
  }
}

/// What the runs of a ContractProbe saw, checked by the test afterwards.
struct ProbeLog {
  std::atomic<uint64_t> states_made{0};
  /// Apply/Write calls finished, and calls that found their local state already in use.
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> shared_state_calls{0};
  /// Combine calls made while another Combine ran, or before every batch went through.
  std::atomic<uint64_t> concurrent_combines{0};
  std::atomic<int> combining{0};
  uint64_t early_combines = 0;
  /// Ids of the local states, in the order they were combined.
  std::vector<uint64_t> combined;
  /// Records summed over the combined states.
  uint64_t records_combined = 0;
  bool finished = false;
  size_t combined_before_finish = 0;
  /// The expected number of Apply/Write calls (batches), set by the test.
  uint64_t expected_calls = 0;
  /// What Open received.
  std::string input_schema;
  InputEstimate input;
};

/// One worker's state: counts its records; `busy` catches two calls sharing it.
struct ProbeState : OpState {
  explicit ProbeState(uint64_t i) : id(i) {}
  uint64_t id;
  uint64_t records = 0;
  std::atomic<bool> busy{false};
};

/// The shared behaviour of the probe's transform and sink runs.
class ProbeRunBase {
 protected:
  explicit ProbeRunBase(ProbeLog* log) : log_(log) {}

  std::unique_ptr<OpState> MakeState() { return std::make_unique<ProbeState>(log_->states_made++); }

  void Call(const Batch& batch, OpState* local) {
    auto& state = static_cast<ProbeState&>(*local);
    if (state.busy.exchange(true)) ++log_->shared_state_calls;
    state.records += batch.num_records();
    // Give other workers time to run into a shared state, varied per batch.
    std::this_thread::sleep_for(std::chrono::microseconds((batch.sequence() * 37) % 150));
    state.busy = false;
    ++log_->calls;
  }

  void CombineState(OpState& local) {
    if (log_->combining.fetch_add(1) != 0) ++log_->concurrent_combines;
    if (log_->calls.load() != log_->expected_calls) ++log_->early_combines;
    const auto& state = static_cast<const ProbeState&>(local);
    log_->combined.push_back(state.id);
    log_->records_combined += state.records;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    --log_->combining;
  }

  void FinishRun() {
    log_->finished = true;
    log_->combined_before_finish = log_->combined.size();
  }

  ProbeLog* log_;
};

class ProbeTransformRun : public TransformRun, ProbeRunBase {
 public:
  ProbeTransformRun(ProbeLog* log, bool serial) : ProbeRunBase(log), serial_(serial) {}
  bool serial() const override { return serial_; }
  std::unique_ptr<OpState> MakeLocalState() override { return MakeState(); }
  void Apply(Batch& batch, OpState* local) override { Call(batch, local); }
  void Combine(OpState& local) override { CombineState(local); }
  void Finish() override { FinishRun(); }

 private:
  bool serial_;
};

class ProbeWriterRun : public BatchWriter, ProbeRunBase {
 public:
  ProbeWriterRun(ProbeLog* log, bool ordered) : ProbeRunBase(log), ordered_(ordered) {}
  bool ordered() const override { return ordered_; }
  std::unique_ptr<OpState> MakeLocalState() override { return MakeState(); }
  void Write(Batch& batch, OpState* local) override { Call(batch, local); }
  void Combine(OpState& local) override { CombineState(local); }
  void Finish() override { FinishRun(); }

 private:
  bool ordered_;
};

/// Records what Open received into a ProbeLog.
void RecordOpen(const OpenContext& ctx, ProbeLog* log) {
  log->input_schema = ctx.input_schema.ToString();
  log->input = ctx.input;
}

/// A transform whose run checks the local-state contract (see ProbeLog).
class ProbeTransform : public Transform {
 public:
  ProbeTransform(ProbeLog* log, bool serial) : log_(log), serial_(serial) { set_name("probe"); }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override {
    RecordOpen(ctx, log_);
    return std::make_unique<ProbeTransformRun>(log_, serial_);
  }

 private:
  ProbeLog* log_;
  bool serial_;
};

/// A sink whose writer checks the local-state contract (see ProbeLog).
class ProbeSink : public Sink {
 public:
  ProbeSink(ProbeLog* log, bool ordered) : log_(log), ordered_(ordered) { set_name("probe-sink"); }
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override {
    RecordOpen(ctx, log_);
    return std::make_unique<ProbeWriterRun>(log_, ordered_);
  }

 private:
  ProbeLog* log_;
  bool ordered_;
};

/// Expect the contract: every local state combined exactly once, single-threaded, after the
/// last call, never shared by two calls, then Finish after the last Combine.
void ExpectCombinedOnce(const ProbeLog& log, int threads, uint64_t records) {
  EXPECT_EQ(log.calls.load(), log.expected_calls);
  EXPECT_EQ(log.shared_state_calls.load(), 0u);
  EXPECT_GE(log.states_made.load(), 1u);
  EXPECT_LE(log.states_made.load(), static_cast<uint64_t>(threads));
  std::vector<uint64_t> combined = log.combined;
  std::sort(combined.begin(), combined.end());
  EXPECT_EQ(combined, Iota(log.states_made.load()));
  EXPECT_EQ(log.records_combined, records);
  EXPECT_EQ(log.concurrent_combines.load(), 0u);
  EXPECT_EQ(log.early_combines, 0u);
  EXPECT_TRUE(log.finished);
  EXPECT_EQ(log.combined_before_finish, log.combined.size());
}

TEST(ExecutorTest, CombineSeesEveryLocalStateOnceAfterTheLastCall) {
  const std::vector<std::string> input = MakeRecords(3000);
  for (int threads : kThreadCounts) {
    for (bool in_order : {false, true}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + (in_order ? ", serial" : ", parallel"));
      ProbeLog transform_log, sink_log;
      transform_log.expected_calls = sink_log.expected_calls = 300;  // 3000 records, 10 per batch
      RunChain(Chain(std::make_unique<VectorSource>(input, 10),
                     std::make_unique<JitterTransform>(threads, 200),
                     std::make_unique<ProbeTransform>(&transform_log, in_order),
                     std::make_unique<JitterTransform>(threads + 1, 200),
                     std::make_unique<ProbeSink>(&sink_log, in_order)),
               TestRunOptions(threads, 1 << 20, 512));
      ExpectCombinedOnce(transform_log, threads, input.size());
      ExpectCombinedOnce(sink_log, threads, input.size());
      if (in_order) {
        // One call at a time: a worker always finds the one state free.
        EXPECT_EQ(transform_log.states_made.load(), 1u);
        EXPECT_EQ(sink_log.states_made.load(), 1u);
      }
    }
  }
}

TEST(ExecutorTest, FailedRunNeverCombinesOrFinishes) {
  const std::vector<std::string> input = MakeRecords(2000);
  for (int threads : kThreadCounts) {
    SCOPED_TRACE(threads);
    ProbeLog transform_log, sink_log;
    EXPECT_THROW(RunChain(Chain(std::make_unique<VectorSource>(input, 10),
                                std::make_unique<ProbeTransform>(&transform_log, false),
                                std::make_unique<FailingTransform>(150),
                                std::make_unique<ProbeSink>(&sink_log, false)),
                          TestRunOptions(threads, 1 << 20, 512)),
                 DataError);
    EXPECT_TRUE(transform_log.combined.empty());
    EXPECT_TRUE(sink_log.combined.empty());
    EXPECT_FALSE(transform_log.finished);
    EXPECT_FALSE(sink_log.finished);
  }
}

TEST(ExecutorTest, OpenReceivesThePlannedInputSchemaAndTheInputEstimate) {
  const std::vector<std::string> input = MakeRecords(500);
  uint64_t file_bytes = 0, kept_bytes = 0, kept_records = 0;
  for (const std::string& r : input) {
    file_bytes += r.size() + 1;  // VectorSource::TotalBytes: one line per record
    if (!IndexDivisibleBy(r, 5)) {
      kept_bytes += r.size();
      ++kept_records;
    }
  }
  ProbeLog first, breaker_sink, second, last;
  RunChain(
      Chain(std::make_unique<VectorSource>(input, 8),
            std::make_unique<ProbeTransform>(&first, false),
            std::make_unique<RecordIndexTransform>("index"),
            std::make_unique<PredicateFilter>(
                [](std::string_view r) { return !IndexDivisibleBy(r, 5); }),
            std::make_unique<BufferingBreaker>(), std::make_unique<ProbeTransform>(&second, false),
            std::make_unique<ProbeSink>(&last, true)),
      TestRunOptions(2, 1 << 20));
  // Pipeline 1: the source's bytes; the schema each stage receives from the one before it.
  EXPECT_EQ(first.input_schema, "text:string");
  EXPECT_EQ(first.input.bytes, std::optional<uint64_t>(file_bytes));
  EXPECT_EQ(first.input.records, std::nullopt);
  // Pipeline 2: what the breaker consumed (the records the filter kept, their data bytes).
  EXPECT_EQ(second.input_schema, "text:string, index:string");
  EXPECT_EQ(last.input_schema, "text:string, index:string");
  uint64_t index_bytes = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    if (!IndexDivisibleBy(input[i], 5)) index_bytes += std::to_string(i).size();
  }
  const InputEstimate consumed{kept_bytes + index_bytes, kept_records};
  EXPECT_EQ(second.input.bytes, consumed.bytes);
  EXPECT_EQ(second.input.records, consumed.records);
  // The bytes stay the pipeline's; the exact record count is only for the operator right after
  // the breaker, since a transform may change it.
  EXPECT_EQ(last.input.bytes, consumed.bytes);
  EXPECT_EQ(last.input.records, std::nullopt);
}

// A breaker that does not say it emits what it consumed gives the next operator no count.
TEST(ExecutorTest, ABreakerGivesARecordCountOnlyWhenItSaysSo) {
  class CountlessBreaker : public Breaker {
   public:
    CountlessBreaker() { set_name("countless"); }
    std::unique_ptr<BreakerRun> Open(const OpenContext& ctx) const override {
      class Run : public BreakerRun {
       public:
        explicit Run(std::unique_ptr<BreakerRun> inner) : inner_(std::move(inner)) {}
        void Write(Batch& batch, OpState* local) override { inner_->Write(batch, local); }
        void Finish() override { inner_->Finish(); }
        std::unique_ptr<BatchReader> OpenOutput() override { return inner_->OpenOutput(); }

       private:
        std::unique_ptr<BreakerRun> inner_;
      };
      return std::make_unique<Run>(BufferingBreaker().Open(ctx));
    }
  };
  ProbeLog counted, countless;
  RunChain(Chain(std::make_unique<VectorSource>(MakeRecords(40), 8),
                 std::make_unique<BufferingBreaker>(), std::make_unique<ProbeSink>(&counted, true)),
           TestRunOptions(2, 1 << 20));
  EXPECT_EQ(counted.input.records, std::optional<uint64_t>(40));
  RunChain(
      Chain(std::make_unique<VectorSource>(MakeRecords(40), 8),
            std::make_unique<CountlessBreaker>(), std::make_unique<ProbeSink>(&countless, true)),
      TestRunOptions(2, 1 << 20));
  EXPECT_EQ(countless.input.records, std::nullopt);
  EXPECT_EQ(countless.input.bytes, counted.input.bytes);
}

/// A sink whose Finish, the final phase of a run (like vocab's merge or write-megatron's index),
/// hands the run an output to commit and is then hit by SIGTERM.
class SignalledInFinishSink : public Sink {
 public:
  explicit SignalledInFinishSink(std::string path) : path_(std::move(path)) {
    set_name("signalled-sink");
  }
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override {
    class Run : public BatchWriter {
     public:
      Run(std::string path, ExecContext& ctx) : path_(std::move(path)), ctx_(ctx) {}
      void Write(Batch& /*batch*/, OpState* /*local*/) override {}
      void Finish() override {
        OutputOptions options;
        options.run_files = ctx_.run_files();
        std::unique_ptr<OutputStream> out = CreateOutput(path_, options);
        out->Write("finished\n");
        ctx_.DeferCommit(DeferOutput(std::move(out)));
        raise(SIGTERM);  // a signal the Finish step itself never checks for
      }

     private:
      std::string path_;
      ExecContext& ctx_;
    };
    return std::make_unique<Run>(path_, ctx.exec);
  }

 private:
  std::string path_;
};

// A signal in the last pipeline's final phase used to be ignored: the run committed its outputs
// and exited 0. It stops the run like any other moment: Interrupted, nothing committed.
TEST(ExecutorTest, SignalDuringTheFinalPhaseStopsTheRunBeforeTheCommit) {
  InstallInterruptHandlers();
  for (const bool with_breaker : {false, true}) {
    SCOPED_TRACE(with_breaker ? "after a breaker" : "one pipeline");
    ClearInterrupt();
    testing::ScopedTempDir dir;
    std::vector<std::unique_ptr<Operator>> chain;
    chain.push_back(std::make_unique<VectorSource>(MakeRecords(100), 10));
    if (with_breaker) chain.push_back(std::make_unique<BufferingBreaker>());
    chain.push_back(std::make_unique<SignalledInFinishSink>(dir.File("out.txt")));
    EXPECT_THROW(RunChain(std::move(chain), TestRunOptions(2, 1 << 20)), Interrupted);
    EXPECT_EQ(InterruptSignal(), SIGTERM);
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{});
  }
  ClearInterrupt();
}

}  // namespace
}  // namespace corpusflow
