// Exact tests of the global shuffle (REFERENCE.md section 1, item 6, and the known failures of the
// anchors): the output is exactly the input sorted by ShuffleKeys (a permutation, nothing lost or
// duplicated) for every bucket layout, budget, thread count and compression; binary records;
// N = 0 and 1; inputs of exactly 1x and k x the budget; records larger than the budget; records
// with several fields; more buckets than the descriptor limit; corrupt spill blocks; a disk too
// small; temp files removed.
#include "operators/shuffle/shuffle.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/io/temp_dir.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/shuffle/record_shuffler.h"
#include "operators/shuffle/shuffle_keys.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::ScopedTempDir;
using testing::ShuffleKeyOrder;
using testing::VectorSource;

/// `n` distinct lines of varied length, some binary.
std::vector<std::string> MakeLines(size_t n, uint64_t seed = 1) {
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string line = "line " + std::to_string(i) + " ";
    const uint64_t extra = Mix64(seed * 1000003 + i) % 120;
    for (uint64_t k = 0; k < extra; ++k) line += static_cast<char>('a' + (k + i) % 26);
    if (i % 7 == 3) line += std::string("\xff\0\r", 3);
    lines.push_back(line);
  }
  return lines;
}

struct ShuffleResult {
  std::vector<std::string> output;
  bool in_memory = false;
  size_t buckets = 0;
  uint64_t rescatters = 0;
  uint64_t spill_raw = 0;
  uint64_t spill_stored = 0;
  std::map<std::string, uint64_t> counters;
  std::map<std::string, std::string> texts;
  std::map<std::string, double> values;
};

/// The layout of batches of lines: one string field "text".
Schema TextLayout() { return Schema({Field{"text", FieldType::kString, 0}}); }

/// Drive a RecordShuffler directly over `records`, `batch_records` per batch.
ShuffleResult Shuffle(const std::vector<std::string>& records, const ShuffleConfig& config,
                      size_t batch_records = 100) {
  ScopedTempDir dir;
  ShuffleResult result;
  {
    TempDir temp(dir.path());
    OperatorStats stats("shuffle");
    RecordShuffler shuffler(config, TextLayout(), temp, &stats, nullptr);
    for (size_t start = 0; start < records.size(); start += batch_records) {
      Batch batch;
      StringColumn& text = batch.AddString("text");
      for (size_t i = start; i < std::min(records.size(), start + batch_records); ++i) {
        text.Append(records[i]);
      }
      shuffler.Add(batch, start);
    }
    shuffler.Finish();
    Batch out;
    while (shuffler.Next(&out)) {
      EXPECT_FALSE(out.empty());
      const StringColumn& text = out.GetString("text");
      for (size_t i = 0; i < text.size(); ++i) result.output.emplace_back(text[i]);
    }
    EXPECT_FALSE(shuffler.Next(&out));
    result.in_memory = shuffler.in_memory();
    result.buckets = shuffler.bucket_count();
    result.rescatters = shuffler.rescatters();
    result.spill_raw = shuffler.spill_raw_bytes();
    result.spill_stored = shuffler.spill_stored_bytes();
    result.counters = stats.counters();
    result.texts = stats.texts();
    result.values = stats.values();
  }
  // Spill files are removed with the shuffler.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    EXPECT_FALSE(entry.is_regular_file()) << "left behind: " << entry.path();
  }
  return result;
}

/// Add `lines` as one batch and finish pass 1.
void AddAllAndFinish(RecordShuffler& shuffler, const std::vector<std::string>& lines) {
  Batch batch;
  StringColumn& text = batch.AddString("text");
  for (const auto& l : lines) text.Append(l);
  shuffler.Add(batch, 0);
  shuffler.Finish();
}

ShuffleConfig Config(uint64_t seed, uint64_t memory, uint32_t buckets = 0, uint32_t rescatter = 0,
                     uint32_t block = 0) {
  ShuffleConfig c;
  c.seed = seed;
  c.memory_bytes = memory;
  c.buckets = buckets;
  c.rescatter_buckets = rescatter;
  c.block_bytes = block;
  c.batch_bytes = 2000;
  return c;
}

TEST(ShuffleTest, InMemoryOutputIsTheKeyOrder) {
  const auto lines = MakeLines(5000);
  const ShuffleResult r = Shuffle(lines, Config(42, 64 << 20));
  EXPECT_TRUE(r.in_memory);
  EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 42));
  EXPECT_NE(r.output, lines);
  EXPECT_EQ(r.values.at("seed"), 42.0);
  EXPECT_EQ(r.texts.at("mode"), "in memory");
}

TEST(ShuffleTest, InMemoryBucketsAreSortedOneByOne) {
  // In memory, pass 1 scatters to buckets too; pass 2 sorts each and frees it once emitted.
  const auto lines = MakeLines(6000);
  for (uint32_t buckets : {2u, 64u, 1024u}) {
    const ShuffleResult r = Shuffle(lines, Config(21, 64 << 20, buckets), 77);
    SCOPED_TRACE("buckets " + std::to_string(buckets));
    EXPECT_TRUE(r.in_memory);
    EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 21));
    // Every non-empty bucket is a leaf (6000 records leave none of 64 empty, p ~ 1e-40).
    if (buckets <= 64) {
      EXPECT_EQ(r.buckets, buckets);
    }
    EXPECT_GT(r.buckets, 1u);
    EXPECT_EQ(r.spill_raw, 0u);
  }
  // The expected input size sets K when none is forced: buckets of at most 16 MiB.
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ShuffleConfig config = Config(3, uint64_t{1} << 30);
  config.expected_input_bytes = uint64_t{100} << 20;
  RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
  AddAllAndFinish(shuffler, lines);
  EXPECT_TRUE(shuffler.in_memory());
  EXPECT_GE(shuffler.bucket_count(), 8u);
}

TEST(ShuffleTest, ABudgetBeyondTheWorkingSetLeavesTheLayoutAsItIs) {
  // More memory than the spill route needs is left unused (pages touched for the first time cost
  // more than spilling through the page cache, docs/shuffle.md): an input expected at 2 GiB gets
  // the same record memory and buckets under 256 MiB as under 16 GiB.
  const auto lines = MakeLines(20000);
  std::vector<uint64_t> limits;
  std::vector<size_t> buckets;
  for (uint64_t memory : {uint64_t{256} << 20, uint64_t{16} << 30}) {
    ScopedTempDir dir;
    TempDir temp(dir.path());
    ShuffleConfig config = Config(5, memory);
    config.expected_input_bytes = uint64_t{2} << 30;
    RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
    AddAllAndFinish(shuffler, lines);
    EXPECT_TRUE(shuffler.in_memory());
    limits.push_back(shuffler.record_memory_limit());
    buckets.push_back(shuffler.bucket_count());
    std::vector<std::string> output;
    Batch out;
    while (shuffler.Next(&out)) {
      for (size_t i = 0; i < out.num_records(); ++i) output.emplace_back(out.GetString("text")[i]);
    }
    EXPECT_EQ(output, ShuffleKeyOrder(lines, 5));
  }
  EXPECT_EQ(limits[0], limits[1]);
  EXPECT_LT(limits[1], uint64_t{256} << 20);
  EXPECT_EQ(buckets[0], buckets[1]);
}

TEST(ShuffleTest, Pass2LoadsBucketsIntoTheMemoryPass1Used) {
  // Loaded buckets take the slabs pass 1's chunks gave back: pass 2 maps at most the rounding of
  // two buckets to whole slabs more, never a second working set.
  const auto lines = MakeLines(300000);
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordShuffler shuffler(Config(6, 24 << 20), TextLayout(), temp, nullptr, nullptr);
  AddAllAndFinish(shuffler, lines);
  ASSERT_FALSE(shuffler.in_memory());
  ASSERT_EQ(shuffler.rescatters(), 0u);
  const uint64_t pass1 = shuffler.slab_bytes_mapped();
  EXPECT_GT(pass1, 0u);
  EXPECT_LE(pass1, shuffler.record_memory_limit() + (uint64_t{8} << 20));
  std::vector<std::string> output;
  Batch out;
  while (shuffler.Next(&out)) {
    for (size_t i = 0; i < out.num_records(); ++i) output.emplace_back(out.GetString("text")[i]);
  }
  EXPECT_EQ(output, ShuffleKeyOrder(lines, 6));
  EXPECT_LE(shuffler.slab_bytes_mapped(), pass1 + (uint64_t{8} << 20));
}

TEST(ShuffleTest, SpillFilesAreFewAndRemovedAsPass2GoesOn) {
  // 64 buckets share at most 4 spill files (contiguous key ranges); a file is removed as soon
  // as its last bucket was emitted, long before the end.
  const auto lines = MakeLines(20000);
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ShuffleConfig config = Config(8, 200000, 64);
  config.max_spill_files = 4;
  RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
  AddAllAndFinish(shuffler, lines);
  ASSERT_FALSE(shuffler.in_memory());
  EXPECT_EQ(shuffler.spill_files(), 4u);
  auto files_left = [&] {
    size_t n = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
      n += entry.is_regular_file() && entry.path().filename() != kRunFolderLockName ? 1 : 0;
    }
    return n;
  };
  EXPECT_EQ(files_left(), 4u);
  std::vector<std::string> output;
  std::vector<size_t> left_after_batch;
  Batch out;
  while (shuffler.Next(&out)) {
    const StringColumn& column = out.GetString("text");
    for (size_t i = 0; i < column.size(); ++i) output.emplace_back(column[i]);
    left_after_batch.push_back(files_left());
  }
  EXPECT_EQ(output, ShuffleKeyOrder(lines, 8));
  EXPECT_EQ(files_left(), 0u);
  // Halfway through the output, the files of the first half of the key range are gone.
  ASSERT_GT(left_after_batch.size(), 4u);
  EXPECT_LE(left_after_batch[left_after_batch.size() / 2 + 1], 2u);
  EXPECT_EQ(left_after_batch.front(), 4u);
}

TEST(ShuffleTest, EveryLayoutGivesTheSameOutput) {
  const auto lines = MakeLines(3000);
  const auto expected = ShuffleKeyOrder(lines, 7);
  struct Layout {
    uint64_t memory;
    uint32_t buckets, rescatter, block;
    SpillCompression compression;
  };
  const std::vector<Layout> layouts = {
      {20000, 0, 0, 0, SpillCompression::kZstd},      // automatic K, re-scatters
      {20000, 2, 2, 512, SpillCompression::kZstd},    // binary splits, deep re-scatter
      {8000, 64, 0, 256, SpillCompression::kNone},    // many buckets, tiny blocks
      {100000, 4, 0, 0, SpillCompression::kZstd},     // few large buckets
      {3000, 1024, 8, 128, SpillCompression::kZstd},  // more buckets than records per flush
  };
  for (const Layout& l : layouts) {
    ShuffleConfig config = Config(7, l.memory, l.buckets, l.rescatter, l.block);
    config.spill.compression = l.compression;
    const ShuffleResult r = Shuffle(lines, config, 37);
    SCOPED_TRACE("memory " + std::to_string(l.memory) + " buckets " + std::to_string(l.buckets));
    EXPECT_FALSE(r.in_memory);
    EXPECT_EQ(r.output, expected);
    EXPECT_GT(r.buckets, 1u);
    EXPECT_GT(r.spill_raw, 0u);
    EXPECT_EQ(r.counters.at("spill_bytes_raw"), r.spill_raw);
    EXPECT_EQ(r.counters.at("buckets"), r.buckets);
    if (l.buckets == 0) {
      // Automatic K leaves room to load the next bucket while one is emitted.
      EXPECT_GT(r.counters.at("buckets_prefetched"), 0u);
    }
    if (l.compression == SpillCompression::kZstd) {
      // The payloads shrink (with blocks of a record or two, the headers may not pay for it).
      EXPECT_LT(r.spill_stored - kSpillBlockHeaderBytes * r.counters.at("spill_blocks"),
                r.spill_raw);
    }
  }
}

TEST(ShuffleTest, ReleasingConsumedSpillBlocksKeepsTheOutput) {
  // Hole punching over consumed blocks (done when the temp disk is tight) changes nothing else.
  const auto lines = MakeLines(4000);
  for (uint32_t rescatter : {0u, 2u}) {
    ShuffleConfig config = Config(12, 30000, 4, rescatter, 1024);
    config.always_release_spill = true;
    const ShuffleResult r = Shuffle(lines, config, 50);
    EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 12));
    EXPECT_EQ(r.counters.at("spill_bytes_released_early"), r.spill_raw);
    EXPECT_GT(r.rescatters, 0u);
  }
}

TEST(ShuffleTest, TinyBudgetsForceRescatters) {
  const auto lines = MakeLines(2000);
  const ShuffleResult r = Shuffle(lines, Config(3, 4000, 2, 2, 200), 10);
  EXPECT_GT(r.rescatters, 10u);
  EXPECT_EQ(r.counters.at("rescatters"), r.rescatters);
  EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 3));
}

TEST(ShuffleTest, BinaryRecordsSurviveByteForByte) {
  // terashuf lost lines containing 0xFF; NUL, CR and empty records must survive too.
  std::vector<std::string> lines = {std::string("\xff\xff", 2),
                                    std::string(1, '\0'),
                                    "",
                                    "a\r",
                                    std::string("\xff", 1),
                                    std::string("x\0y", 3),
                                    "",
                                    "\r",
                                    "plain"};
  for (int i = 0; i < 300; ++i) lines.push_back(std::string(static_cast<size_t>(i % 5), '\xff'));
  for (uint64_t memory : {uint64_t{1} << 20, uint64_t{2000}}) {
    const ShuffleResult r = Shuffle(lines, Config(11, memory, 0, 0, 64), 13);
    EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 11));
    auto sorted_in = lines, sorted_out = r.output;
    std::sort(sorted_in.begin(), sorted_in.end());
    std::sort(sorted_out.begin(), sorted_out.end());
    EXPECT_EQ(sorted_in, sorted_out);
  }
}

TEST(ShuffleTest, EmptyAndSingleRecordInputs) {
  for (uint64_t memory : {uint64_t{1} << 20, uint64_t{100}}) {
    EXPECT_TRUE(Shuffle({}, Config(1, memory)).output.empty());
    EXPECT_EQ(Shuffle({"only"}, Config(1, memory)).output, std::vector<std::string>{"only"});
    EXPECT_EQ(Shuffle({""}, Config(1, memory)).output, std::vector<std::string>{""});
  }
}

TEST(ShuffleTest, InputOfExactlyTheBudgetStaysInMemoryAndOneMoreSpills) {
  // Every record of 50 bytes costs 52 bytes of encoding plus kMemoryPerRecord.
  ScopedTempDir dir;
  TempDir temp(dir.path());
  const uint64_t cost = 52 + RecordShuffler::kMemoryPerRecord;
  // Find a budget whose record memory is an exact multiple of the cost of one record.
  ShuffleConfig config = Config(5, 4000);
  uint64_t exact = 0;
  for (; config.memory_bytes > 3000; --config.memory_bytes) {
    exact = RecordShuffler(config, TextLayout(), temp, nullptr, nullptr).record_memory_limit();
    if (exact % cost == 0) break;
  }
  ASSERT_EQ(exact % cost, 0u) << "limit " << exact;
  const uint64_t fit = exact / cost;
  std::vector<std::string> lines;
  for (uint64_t i = 0; i < 10 * fit + 1; ++i) {
    std::string line = std::to_string(i);
    line.resize(50, '.');
    lines.push_back(line);
  }
  for (uint64_t count : {fit, fit + 1, 2 * fit, 2 * fit + 1, 10 * fit}) {
    // Batches that end exactly at the budget boundary, and batches that straddle it.
    for (size_t batch : {size_t{1}, static_cast<size_t>(fit), size_t{7}}) {
      const std::vector<std::string> input(lines.begin(),
                                           lines.begin() + static_cast<std::ptrdiff_t>(count));
      const ShuffleResult r = Shuffle(input, config, batch);
      SCOPED_TRACE("records " + std::to_string(count) + " batch " + std::to_string(batch));
      EXPECT_EQ(r.in_memory, count == fit);
      // No chunk written twice, nothing lost.
      EXPECT_EQ(r.output, ShuffleKeyOrder(input, 5));
    }
  }
}

TEST(ShuffleTest, RecordsLargerThanTheBudgetWork) {
  std::vector<std::string> lines = MakeLines(200);
  lines[17] = std::string(50000, 'L');
  lines[150] = std::string(70000, 'M');
  lines[151] = std::string(70000, 'N');
  const ShuffleResult r = Shuffle(lines, Config(9, 4000, 0, 0, 512), 9);
  EXPECT_FALSE(r.in_memory);
  EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 9));
}

TEST(ShuffleTest, RecordsWithSeveralFieldsStayWhole) {
  const size_t n = 1500;
  std::vector<Batch> batches;
  for (size_t start = 0; start < n; start += 64) {
    Batch batch;
    batch.AddString("src");
    batch.AddStringList("tokens");
    batch.AddInt32List("ids", 1000);
    for (size_t i = start; i < std::min(n, start + 64); ++i) {
      batch.GetString("src").Append("doc " + std::to_string(i));
      for (size_t j = 0; j < i % 4; ++j)
        batch.GetStringList("tokens").AppendItem(std::to_string(i));
      batch.GetStringList("tokens").EndRecord();
      for (size_t j = 0; j < i % 6; ++j) {
        batch.GetInt32List("ids").AppendValue(static_cast<int32_t>(i));
      }
      batch.GetInt32List("ids").EndRecord();
    }
    batches.push_back(std::move(batch));
  }
  const ShuffleKeys keys(21);
  std::vector<size_t> expected(n);
  std::iota(expected.begin(), expected.end(), 0);
  std::sort(expected.begin(), expected.end(),
            [&](size_t a, size_t b) { return keys.Key(a) < keys.Key(b); });
  for (uint64_t memory : {uint64_t{1} << 20, uint64_t{6000}}) {
    ScopedTempDir dir;
    TempDir temp(dir.path());
    RecordShuffler shuffler(Config(21, memory, 0, 0, 300), batches[0].schema(), temp, nullptr,
                            nullptr);
    uint64_t first = 0;
    for (const Batch& b : batches) {
      shuffler.Add(b, first);
      first += b.num_records();
    }
    shuffler.Finish();
    EXPECT_EQ(shuffler.in_memory(), memory > 100000);
    std::vector<size_t> order;
    Batch out;
    while (shuffler.Next(&out)) {
      ASSERT_EQ(out.schema(), batches[0].schema());
      for (size_t r = 0; r < out.num_records(); ++r) {
        const std::string src(out.GetString("src")[r]);
        const size_t i = std::stoul(src.substr(4));
        order.push_back(i);
        ASSERT_EQ(out.GetStringList("tokens").ItemCount(r), i % 4);
        for (size_t j = 0; j < i % 4; ++j) {
          EXPECT_EQ(out.GetStringList("tokens").Item(r, j), std::to_string(i));
        }
        const auto ids = out.GetInt32List("ids")[r];
        ASSERT_EQ(ids.size(), i % 6);
        for (int32_t id : ids) EXPECT_EQ(id, static_cast<int32_t>(i));
      }
    }
    EXPECT_EQ(order, expected);
    EXPECT_EQ(out.Find("ids")->field.vocab_size, 1000);
  }
}

TEST(ShuffleTest, RejectsABatchWithAnotherLayout) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordShuffler shuffler(Config(1, 1 << 20), TextLayout(), temp, nullptr, nullptr);
  Batch a;
  a.AddString("text").Append("x");
  shuffler.Add(a, 0);
  Batch b;
  b.AddString("other").Append("y");
  EXPECT_THROW(shuffler.Add(b, 1), Error);
}

TEST(ShuffleTest, MoreBucketsThanTheDescriptorLimit) {
  // Spill files are a 16th of the descriptor limit at most, whatever the bucket count: 4096
  // buckets under a limit of 24 descriptors share one file.
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = 24;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const auto lines = MakeLines(20000);
  ShuffleResult r;
  try {
    r = Shuffle(lines, Config(13, 200000, 4096), 500);
  } catch (...) {
    setrlimit(RLIMIT_NOFILE, &old);
    throw;
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_GE(r.buckets, 2000u);
  EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 13));
}

/// The spill file inside the shuffler's temp folder (not its lock file).
std::filesystem::path SpillFileIn(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != kRunFolderLockName) {
      return entry.path();
    }
  }
  return {};
}

TEST(ShuffleTest, CorruptSpillBlockIsAnErrorNamingFileAndOffset) {
  for (SpillCompression compression : {SpillCompression::kZstd, SpillCompression::kNone}) {
    ScopedTempDir dir;
    TempDir temp(dir.path());
    ShuffleConfig config = Config(17, 100000, 8);
    config.spill.compression = compression;
    RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
    const auto lines = MakeLines(3000);
    AddAllAndFinish(shuffler, lines);
    ASSERT_FALSE(shuffler.in_memory());
    ASSERT_EQ(shuffler.rescatters(), 0u);
    const std::filesystem::path spill = SpillFileIn(dir.path());
    ASSERT_FALSE(spill.empty());
    const auto size = std::filesystem::file_size(spill);
    {
      std::fstream f(spill, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(size * 2 / 3));
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x01);
      f.seekp(static_cast<std::streamoff>(size * 2 / 3));
      f.write(&c, 1);
    }
    Batch out;
    try {
      while (shuffler.Next(&out)) {
      }
      FAIL() << "a flipped byte went unnoticed";
    } catch (const CorruptionError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(spill.string()), std::string::npos) << message;
      EXPECT_NE(message.find("offset"), std::string::npos) << message;
    }
  }
}

/// `n` distinct lines of one length: full spill blocks all have the same size and record count.
std::vector<std::string> SameLengthLines(size_t n) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string number = std::to_string(i);
    lines.push_back("record " + std::string(8 - number.size(), '0') + number + " " +
                    std::string(30, static_cast<char>('a' + i % 26)));
  }
  return lines;
}

/// A block found by scanning a spill file from its start.
struct BlockOnDisk {
  std::filesystem::path file;
  uint64_t offset = 0;
  SpillBlockHeader header;
};

/// Every block of every spill file in the shuffler's temp folder, read from the headers.
std::vector<BlockOnDisk> SpillBlocksIn(const std::filesystem::path& dir) {
  std::vector<BlockOnDisk> blocks;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == kRunFolderLockName) continue;
    const std::string bytes = testing::ReadFile(entry.path());
    for (uint64_t offset = 0; offset < bytes.size();) {
      BlockOnDisk block{entry.path(), offset,
                        SpillBlockDecoder::ParseHeader(bytes.data() + offset, "scan", offset)};
      offset += block.header.frame_size();
      blocks.push_back(block);
    }
  }
  return blocks;
}

/// Overwrite the bytes at `offset` of `path` with `bytes`.
void Overwrite(const std::filesystem::path& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

/// The largest of `blocks` (a full one, of many records).
const BlockOnDisk& LargestBlock(const std::vector<BlockOnDisk>& blocks) {
  return *std::max_element(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    return a.header.raw_size < b.header.raw_size;
  });
}

std::string FrameOf(const BlockOnDisk& block) {
  return testing::ReadFile(block.file).substr(block.offset, block.header.frame_size());
}

/// A shuffle of `lines` whose pass 1 spilled raw blocks of 8 buckets that fit the memory (no
/// re-scatter), finished and ready for pass 2; its spill files are in `dir`.
struct SpilledShuffle {
  explicit SpilledShuffle(const std::vector<std::string>& lines)
      : temp(dir.path()), shuffler(RawConfig(), TextLayout(), temp, nullptr, nullptr) {
    AddAllAndFinish(shuffler, lines);
  }
  static ShuffleConfig RawConfig() {
    ShuffleConfig config = Config(17, 100000, 8, 0, 1024);
    config.spill.compression = SpillCompression::kNone;
    return config;
  }
  /// The error pass 2 ends with.
  std::string Pass2Error() {
    Batch out;
    return testing::ErrorMessage<CorruptionError>([&] {
      while (shuffler.Next(&out)) {
      }
    });
  }

  ScopedTempDir dir;
  TempDir temp;
  RecordShuffler shuffler;
};

TEST(ShuffleTest, SpillBlockCopiedOverAnotherIsAnErrorNamingFileAndBlock) {
  // A valid block copied over another block of the same size (its checksum is right) used to go
  // unnoticed: the records of one block came out twice, those of the other never. Each block
  // carries its identity, so pass 2 refuses a block that is not the one it wrote there.
  const auto lines = SameLengthLines(3000);
  for (const bool same_bucket : {false, true}) {
    SpilledShuffle run(lines);
    ASSERT_FALSE(run.shuffler.in_memory());
    ASSERT_EQ(run.shuffler.rescatters(), 0u);
    // Two blocks of the same size, of two buckets or of one.
    const std::vector<BlockOnDisk> blocks = SpillBlocksIn(run.dir.path());
    const BlockOnDisk* from = nullptr;
    const BlockOnDisk* to = nullptr;
    for (const BlockOnDisk& a : blocks) {
      for (const BlockOnDisk& b : blocks) {
        if (from == nullptr && &a != &b && a.header.raw_size == b.header.raw_size &&
            a.header.stored_size == b.header.stored_size &&
            (a.header.id.stream == b.header.id.stream) == same_bucket) {
          from = &a;
          to = &b;
        }
      }
    }
    ASSERT_NE(from, nullptr);
    Overwrite(to->file, to->offset, FrameOf(*from));
    const std::string message = run.Pass2Error();
    EXPECT_NE(message.find("spill file " + to->file.string() + ": block at offset " +
                           std::to_string(to->offset) + ": it holds block " +
                           std::to_string(from->header.id.sequence) + " of stream " +
                           std::to_string(from->header.id.stream) + " (file " +
                           std::to_string(from->header.id.file) + " of run "),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(", not block " + std::to_string(to->header.id.sequence) + " of stream " +
                           std::to_string(to->header.id.stream) + " "),
              std::string::npos)
        << message;
  }
}

/// Make the first two records of the raw block `block` one record of the same bytes (its key is
/// the first one's), and write it back with its identity and a valid checksum: a well-formed
/// block of the right size, one record short.
void MergeFirstTwoRecords(const BlockOnDisk& block) {
  ASSERT_EQ(block.header.raw_size, block.header.stored_size);
  const std::string payload =
      testing::ReadFile(block.file)
          .substr(block.offset + kSpillBlockHeaderBytes, block.header.raw_size);
  const char* p = payload.data();
  const char* const end = p + payload.size();
  size_t merged = 0;
  for (int i = 0; i < 2; ++i) {
    uint64_t length = 0;
    const char* encoded = GetVarint64Ptr(p + merged + 8, end, &length);
    ASSERT_NE(encoded, nullptr);
    merged = static_cast<size_t>(encoded + length - p);
  }
  // One string field: key, varint(L), L = varint(n) + n bytes of text.
  size_t n = 0;
  while (8 + VarintLength(VarintLength(n) + n) + VarintLength(n) + n < merged) ++n;
  ASSERT_EQ(8 + VarintLength(VarintLength(n) + n) + VarintLength(n) + n, merged);
  std::string forged = payload.substr(0, 8);
  PutVarint64(&forged, VarintLength(n) + n);
  PutVarint64(&forged, n);
  forged.append(n, 'z');
  forged.append(payload.substr(merged));
  ASSERT_EQ(forged.size(), payload.size());
  ScopedTempDir scratch;
  const SpillBlockId& id = block.header.id;
  SpillFile file(scratch.path() / "forged.cfs", FileSystem::Default(), id.run, id.file);
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  file.Append(encoder.Encode(forged), id.stream, id.sequence);
  Overwrite(block.file, block.offset, testing::ReadFile(file.path()));
}

/// Check `message` says "spill file FILE: bucket B holds N - 1 records, N were written".
void ExpectOneRecordShort(const std::string& message, const BlockOnDisk& block) {
  const std::string prefix = "spill file " + block.file.string() + ": bucket " +
                             std::to_string(block.header.id.stream) + " holds ";
  ASSERT_EQ(message.rfind(prefix, 0), 0u) << message;
  size_t found = 0, written = 0;
  char tail[32] = {};
  ASSERT_EQ(std::sscanf(message.c_str() + prefix.size(), "%zu records, %zu were %31s", &found,
                        &written, tail),
            3)
      << message;
  EXPECT_EQ(found + 1, written) << message;
  EXPECT_STREQ(tail, "written") << message;
}

TEST(ShuffleTest, ABucketWithRecordsOtherThanPass1WroteIsAnError) {
  const auto lines = SameLengthLines(2000);
  {
    // Re-scatter: the first-level buckets do not fit and are scattered again in Finish. A block
    // spilled in pass 1 is forged before Finish reads it.
    ScopedTempDir dir;
    TempDir temp(dir.path());
    ShuffleConfig config = Config(5, 20000, 2, 2, 1024);
    config.spill.compression = SpillCompression::kNone;
    RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
    Batch batch;
    StringColumn& text = batch.AddString("text");
    for (const auto& l : lines) text.Append(l);
    shuffler.Add(batch, 0);
    const std::vector<BlockOnDisk> blocks = SpillBlocksIn(dir.path());
    ASSERT_FALSE(blocks.empty());
    MergeFirstTwoRecords(LargestBlock(blocks));
    const std::string message = testing::ErrorMessage<CorruptionError>([&] { shuffler.Finish(); });
    ExpectOneRecordShort(message, LargestBlock(blocks));
  }
  {
    // Pass 2: the bucket is loaded and counted before it is emitted.
    SpilledShuffle run(lines);
    ASSERT_EQ(run.shuffler.rescatters(), 0u);
    const std::vector<BlockOnDisk> blocks = SpillBlocksIn(run.dir.path());
    ASSERT_FALSE(blocks.empty());
    MergeFirstTwoRecords(LargestBlock(blocks));
    ExpectOneRecordShort(run.Pass2Error(), LargestBlock(blocks));
  }
}

TEST(ShuffleTest, DestroyedInPass2WhileABucketLoads) {
  // A failed run destroys the shuffler mid-pass 2: the background load must stop cleanly.
  const auto lines = MakeLines(20000);
  for (int emitted = 0; emitted < 4; ++emitted) {
    ScopedTempDir dir;
    {
      TempDir temp(dir.path());
      RecordShuffler shuffler(Config(4, 200000, 0, 0, 2048), TextLayout(), temp, nullptr, nullptr);
      AddAllAndFinish(shuffler, lines);
      Batch out;
      for (int i = 0; i < emitted; ++i) ASSERT_TRUE(shuffler.Next(&out));
    }
    EXPECT_TRUE(SpillFileIn(dir.path()).empty());
  }
}

TEST(ShuffleTest, RefusesToStartWhenTheTempDiskIsTooSmall) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  ShuffleConfig config = Config(1, 20000);
  config.expected_input_bytes = uint64_t{1} << 60;  // an exabyte
  RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
  Batch batch;
  StringColumn& text = batch.AddString("text");
  for (const auto& l : MakeLines(2000)) text.Append(l);
  try {
    shuffler.Add(batch, 0);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not enough free space"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(SpillFileIn(dir.path()).empty());
}

TEST(ShuffleTest, AutoCompressionStoresRawBlocksUnlessTheDiskIsTight) {
  // Repetitive lines: zstd shrinks them several times over.
  std::vector<std::string> lines;
  std::string words;
  for (int k = 0; k < 10; ++k) words += "the same words again and again ";
  for (int i = 0; i < 3000; ++i) lines.push_back(words + std::to_string(i % 10));
  ScopedTempDir dir;
  const uint64_t free = FreeDiskBytes(dir.path());
  for (const bool tight : {false, true}) {
    ShuffleConfig config = Config(8, 200000, 0, 0, 16 << 10);
    // A tight disk: the raw spill would not fit, the compressed one does.
    config.expected_input_bytes = tight ? free : 100000;
    const ShuffleResult r = Shuffle(lines, config, 100);
    EXPECT_EQ(r.output, ShuffleKeyOrder(lines, 8));
    EXPECT_EQ(r.texts.at("spill_compression"), tight ? "zstd level 1" : "none");
    if (tight) {
      EXPECT_LT(r.spill_stored * 3, r.spill_raw);
    } else {
      EXPECT_GT(r.spill_stored, r.spill_raw);  // raw payloads plus headers
    }
  }
}

// Through the executor: identical bytes for every thread count and budget with the same seed.
TEST(ShuffleTest, PipelineOutputIgnoresThreadsAndMemory) {
  const auto lines = MakeLines(20000, 3);
  const auto expected = ShuffleKeyOrder(lines, 99);
  for (int threads : {1, 2, 8}) {
    for (uint64_t memory : {uint64_t{0}, uint64_t{1} << 20, uint64_t{64} << 10}) {
      for (SpillCompression compression : {SpillCompression::kZstd, SpillCompression::kNone}) {
        CollectedOutput output;
        ShuffleSettings settings;
        settings.seed = 99;
        settings.seed_given = true;
        settings.memory_bytes = memory;
        settings.spill.compression = compression;
        ScopedTempDir dir;
        RunOptions options = testing::TestRunOptions(threads, 8 << 20, 16 << 10);
        options.tmp_dir = dir.path();
        RunStats stats;
        testing::RunChain(testing::Chain(std::make_unique<VectorSource>(lines, 333),
                                         std::make_unique<ShuffleOperator>(settings),
                                         std::make_unique<CollectingSink>(&output)),
                          options, &stats);
        SCOPED_TRACE("threads " + std::to_string(threads) + " memory " + std::to_string(memory));
        EXPECT_EQ(output.texts, expected);
        // The sink right after the shuffle is told the exact record count.
        EXPECT_EQ(output.input.records, std::optional<uint64_t>(lines.size()));
        const OperatorStats& shuffle = *stats.operators()[1];
        EXPECT_EQ(shuffle.records_in.load(), lines.size());
        EXPECT_EQ(shuffle.records_out.load(), lines.size());
        EXPECT_EQ(shuffle.values().at("seed"), 99.0);
        if (memory == (64 << 10)) {
          EXPECT_EQ(shuffle.texts().at("mode"), "external");
        }
        EXPECT_TRUE(testing::ListDir(dir.path()).empty());
      }
    }
  }
}

TEST(ShuffleTest, RegisteredOperatorParsesItsOptions) {
  auto op = OperatorRegistry::Global().Create(
      "shuffle", {"--seed", "12", "--memory", "3M", "--spill-compression", "none"});
  const auto& shuffle = dynamic_cast<const ShuffleOperator&>(*op);
  EXPECT_EQ(shuffle.settings().seed, 12u);
  EXPECT_TRUE(shuffle.settings().seed_given);
  EXPECT_EQ(shuffle.settings().memory_bytes, uint64_t{3} << 20);
  EXPECT_EQ(shuffle.settings().spill.compression, SpillCompression::kNone);
  EXPECT_TRUE(shuffle.NeedsRecordIndex());
  EXPECT_NE(shuffle.Describe().find("seed 12"), std::string::npos);
  // Without --seed, seeds are drawn at random.
  auto a = OperatorRegistry::Global().Create("shuffle", {});
  auto b = OperatorRegistry::Global().Create("shuffle", {});
  EXPECT_FALSE(dynamic_cast<const ShuffleOperator&>(*a).settings().seed_given);
  EXPECT_NE(dynamic_cast<const ShuffleOperator&>(*a).settings().seed,
            dynamic_cast<const ShuffleOperator&>(*b).settings().seed);
  EXPECT_THROW(OperatorRegistry::Global().Create("shuffle", {"--spill-compression", "lz4"}),
               InvalidArgument);
  EXPECT_THROW(OperatorRegistry::Global().Create("shuffle", {"--spill-level", "99"}),
               InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
