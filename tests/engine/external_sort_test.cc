// Tests of engine/external_sort.h: exact, stable key order against std::stable_sort for budgets
// from "everything in memory" to "one run per entry", merge passes with small fan-ins, runs
// written by several threads, the memory bound (runs cut exactly at the budget), and corruption
// of a spilled run detected.
#include "engine/external_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/temp_dir.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using Entry = std::pair<std::string, std::string>;
using testing::ScopedTempDir;

/// Random entries with many equal keys (a small alphabet) and values that number them, so a
/// stable order is checkable; some keys are long and some empty.
std::vector<Entry> RandomEntries(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Entry> entries;
  for (size_t i = 0; i < n; ++i) {
    std::string key;
    const size_t length = rng() % 10 == 0 ? 300 + rng() % 3000 : rng() % 4;
    for (size_t j = 0; j < length; ++j) key.push_back("ab\xff\0"[rng() % 4]);
    entries.emplace_back(std::move(key), std::to_string(i));
  }
  return entries;
}

std::vector<Entry> Drain(SortedEntryStream& stream) {
  std::vector<Entry> out;
  while (stream.Next()) out.emplace_back(std::string(stream.key()), std::string(stream.value()));
  return out;
}

std::vector<Entry> StableSorted(std::vector<Entry> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.first < b.first; });
  return entries;
}

size_t SpillFilesIn(const std::filesystem::path& dir) {
  size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    n += e.path().extension() == ".spill";
  }
  return n;
}

TEST(ExternalSortTest, SortsInMemoryWithoutTouchingTheDisk) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSorter sorter(temp, "test");
  const std::vector<Entry> entries = RandomEntries(2000, 1);
  for (const auto& [k, v] : entries) sorter.Add(k, v);
  std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
  EXPECT_EQ(Drain(*stream), StableSorted(entries));
  EXPECT_EQ(sorter.spilled_runs(), 0u);
  EXPECT_EQ(SpillFilesIn(dir.path()), 0u);
}

TEST(ExternalSortTest, EmptyInput) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSorter sorter(temp, "test");
  EXPECT_FALSE(sorter.Finish()->Next());
}

// Every combination of budget (one run per entry .. everything in memory), fan-in (2 forces
// many merge passes), block size (1 byte: one entry per block) and compression gives exactly
// the stable order.
TEST(ExternalSortTest, ExactStableOrderForAnyBudgetFanInAndBlockSize) {
  const std::vector<Entry> entries = RandomEntries(700, 2);
  const std::vector<Entry> expected = StableSorted(entries);
  for (uint64_t memory : {uint64_t{1}, uint64_t{500}, uint64_t{20000}, uint64_t{1} << 30}) {
    for (size_t fan_in : {size_t{2}, size_t{3}, size_t{64}}) {
      for (size_t block : {size_t{1}, size_t{100}, size_t{65536}}) {
        for (SpillCompression compression : {SpillCompression::kNone, SpillCompression::kZstd}) {
          ScopedTempDir dir;
          TempDir temp(dir.path());
          ExternalSortOptions options;
          options.memory_bytes = memory;
          options.max_fan_in = fan_in;
          options.block_bytes = block;
          options.spill.compression = compression;
          ExternalSorter sorter(temp, "test", options);
          for (const auto& [k, v] : entries) sorter.Add(k, v);
          std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
          ASSERT_EQ(Drain(*stream), expected)
              << "memory " << memory << " fan-in " << fan_in << " block " << block;
          if (memory == 1) {
            EXPECT_EQ(sorter.spilled_runs(), entries.size());
          } else if (memory == uint64_t{1} << 30) {
            EXPECT_EQ(sorter.spilled_runs(), 0u);
          }
        }
      }
    }
  }
}

// The Add buffer never holds more than the budget: with entries of 100 bytes (plus 16 of
// bookkeeping) and a budget of 1160 bytes, every run is exactly 10 entries.
TEST(ExternalSortTest, RunsAreCutAtTheMemoryBudget) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSortOptions options;
  options.memory_bytes = 10 * (100 + 16);
  ExternalSorter sorter(temp, "test", options);
  for (int i = 0; i < 1000; ++i) {
    sorter.Add(std::string(50, static_cast<char>('a' + i % 26)), std::string(50, 'v'));
  }
  EXPECT_EQ(sorter.spilled_runs(), 100u);
  EXPECT_EQ(SpillFilesIn(dir.path()), 1u);
  std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
  EXPECT_EQ(Drain(*stream).size(), 1000u);
}

TEST(ExternalSortTest, RunWritersFromSeveralThreadsAndAddTogether) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSortOptions options;
  options.memory_bytes = 300;
  options.max_fan_in = 4;
  options.block_bytes = 64;
  ExternalSorter sorter(temp, "test", options);
  std::vector<Entry> all;
  std::vector<std::vector<Entry>> per_thread(8);
  for (size_t t = 0; t < per_thread.size(); ++t) {
    per_thread[t] = RandomEntries(400, 10 + t);
    for (auto& e : per_thread[t]) e.second = std::to_string(t) + ":" + e.second;
    all.insert(all.end(), per_thread[t].begin(), per_thread[t].end());
  }
  std::vector<std::thread> threads;
  for (size_t t = 0; t < per_thread.size(); ++t) {
    threads.emplace_back([&, t] {
      // Five sorted runs per thread.
      const auto& mine = per_thread[t];
      for (size_t r = 0; r < 5; ++r) {
        std::vector<Entry> run(mine.begin() + static_cast<std::ptrdiff_t>(r * 80),
                               mine.begin() + static_cast<std::ptrdiff_t>((r + 1) * 80));
        run = StableSorted(run);
        ExternalSorter::RunWriter writer = sorter.NewRun();
        for (const auto& [k, v] : run) writer.Add(k, v);
        writer.Finish();
      }
    });
  }
  const std::vector<Entry> added = RandomEntries(500, 99);
  for (const auto& [k, v] : added) sorter.Add(k, "add:" + v);
  for (std::thread& t : threads) t.join();
  for (const auto& [k, v] : added) all.emplace_back(k, "add:" + v);
  EXPECT_GE(sorter.spilled_runs(), 40u);

  std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
  std::vector<Entry> out = Drain(*stream);
  ASSERT_EQ(out.size(), all.size());
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(),
                             [](const Entry& a, const Entry& b) { return a.first < b.first; }));
  // The same entries (run order across threads is not fixed, so compare as multisets).
  std::sort(out.begin(), out.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(out, all);
}

TEST(ExternalSortTest, UnfinishedRunWriterLeavesItsEntriesOut) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSorter sorter(temp, "test");
  {
    ExternalSorter::RunWriter writer = sorter.NewRun();
    writer.Add("lost", "1");
  }
  ExternalSorter::RunWriter kept = sorter.NewRun();
  kept.Add("a", "1");
  kept.Add("b", "2");
  kept.Finish();
  sorter.Add("a", "0");
  std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
  EXPECT_EQ(Drain(*stream), (std::vector<Entry>{{"a", "1"}, {"a", "0"}, {"b", "2"}}));
}

TEST(ExternalSortTest, DetectsACorruptRun) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSortOptions options;
  options.memory_bytes = 1000;
  options.spill.compression = SpillCompression::kNone;
  ExternalSorter sorter(temp, "test", options);
  for (int i = 0; i < 100; ++i) sorter.Add("key" + std::to_string(i), std::string(40, 'v'));
  ASSERT_GT(sorter.spilled_runs(), 0u);
  testing::CorruptSpillFile(dir.path(), 100);
  std::unique_ptr<SortedEntryStream> stream = sorter.Finish();
  EXPECT_THROW(Drain(*stream), CorruptionError);
}

TEST(ExternalSortTest, RejectsOptionsOutOfRange) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ExternalSortOptions options;
  options.max_fan_in = 1;
  EXPECT_THROW(ExternalSorter(temp, "test", options), InvalidArgument);
  options.max_fan_in = 2;
  options.block_bytes = 0;
  EXPECT_THROW(ExternalSorter(temp, "test", options), InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
