#include "engine/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/error.h"
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

}  // namespace
}  // namespace corpusflow
