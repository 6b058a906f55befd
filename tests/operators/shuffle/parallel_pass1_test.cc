// Pass 1 of the shuffle from several threads at once (RecordShuffler::Add with one Writer per
// thread, the `shuffle` operator with ordered() false): the output, the layout and the spill
// volume are those of a single thread, whatever order the batches arrive in.
#include <gtest/gtest.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/batch.h"
#include "engine/error.h"
#include "engine/io/temp_dir.h"
#include "engine/random.h"
#include "operators/shuffle/record_shuffler.h"
#include "operators/shuffle/shuffle_keys.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;
using testing::ShuffleKeyOrder;

Schema TextLayout() { return Schema({Field{"text", FieldType::kString, 0}}); }

/// `n` distinct lines; the first `short_lines` are a few bytes, the rest up to ~200 bytes.
std::vector<std::string> MakeLines(size_t n, size_t short_lines = 0) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string line = std::to_string(i);
    if (i >= short_lines) {
      line += " ";
      const uint64_t extra = Mix64(i) % 200;
      for (uint64_t k = 0; k < extra; ++k) line += static_cast<char>('a' + (k + i) % 26);
    }
    lines.push_back(line);
  }
  return lines;
}

struct ShuffleRun {
  std::vector<std::string> output;
  bool in_memory = false;
  size_t buckets = 0;
  uint64_t rescatters = 0;
  uint64_t spill_raw = 0;
  uint64_t spill_files = 0;
};

/// Shuffle `lines` in batches of `batch_records` in an arena of `threads` threads (the layout
/// counts them): in order from one thread, or from all at once (`concurrent`), the batch holding
/// record 0 then added `delay_first` late.
ShuffleRun Shuffle(const std::vector<std::string>& lines, const ShuffleConfig& config,
                   size_t batch_records, int threads, bool concurrent,
                   std::chrono::milliseconds delay_first = std::chrono::milliseconds(0)) {
  std::vector<Batch> batches;
  for (size_t start = 0; start < lines.size(); start += batch_records) {
    Batch batch;
    StringColumn& text = batch.AddString("text");
    for (size_t i = start; i < std::min(lines.size(), start + batch_records); ++i) {
      text.Append(lines[i]);
    }
    batches.push_back(std::move(batch));
  }
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordShuffler shuffler(config, TextLayout(), temp, nullptr, nullptr);
  tbb::task_arena arena(threads);
  arena.execute([&] {
    if (!concurrent) {
      for (size_t b = 0; b < batches.size(); ++b) shuffler.Add(batches[b], b * batch_records);
      shuffler.Finish();
      return;
    }
    tbb::enumerable_thread_specific<std::unique_ptr<RecordShuffler::Writer>> writers(
        [&] { return shuffler.NewWriter(); });
    tbb::parallel_for(size_t{0}, batches.size(), [&](size_t b) {
      if (b == 0) std::this_thread::sleep_for(delay_first);
      shuffler.Add(*writers.local(), batches[b], b * batch_records);
    });
    shuffler.Finish();
  });
  ShuffleRun run;
  Batch out;
  while (shuffler.Next(&out)) {
    const StringColumn& text = out.GetString("text");
    for (size_t i = 0; i < text.size(); ++i) run.output.emplace_back(text[i]);
  }
  run.in_memory = shuffler.in_memory();
  run.buckets = shuffler.bucket_count();
  run.rescatters = shuffler.rescatters();
  run.spill_raw = shuffler.spill_raw_bytes();
  run.spill_files = shuffler.spill_files();
  return run;
}

ShuffleConfig Config(uint64_t memory, uint32_t buckets = 0, uint32_t rescatter = 0,
                     uint32_t block = 0, SpillCompression compression = SpillCompression::kNone) {
  ShuffleConfig c;
  c.seed = 17;
  c.memory_bytes = memory;
  c.buckets = buckets;
  c.rescatter_buckets = rescatter;
  c.block_bytes = block;
  c.batch_bytes = 3000;
  c.spill.compression = compression;
  return c;
}

TEST(ShuffleParallelPass1Test, ConcurrentWritersGiveTheSerialOutputAndLayout) {
  const auto lines = MakeLines(8000);
  const auto expected = ShuffleKeyOrder(lines, 17);
  struct Case {
    const char* name;
    ShuffleConfig config;
    bool in_memory;
    bool rescatters;
  };
  const std::vector<Case> cases = {
      {"in memory", Config(64 << 20), true, false},
      {"spills (unknown size: re-scatters)", Config(200000, 0, 0, 0), false, true},
      {"spills, zstd", Config(200000, 0, 0, 0, SpillCompression::kZstd), false, true},
      {"binary splits, deep re-scatters", Config(30000, 2, 2, 512), false, true},
      {"many buckets", Config(20000, 256, 0, 256), false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (int threads : {2, 8}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      const ShuffleRun serial = Shuffle(lines, c.config, 53, threads, false);
      EXPECT_EQ(serial.output, expected);
      EXPECT_EQ(serial.in_memory, c.in_memory);
      EXPECT_EQ(serial.rescatters > 0, c.rescatters);
      const ShuffleRun parallel = Shuffle(lines, c.config, 53, threads, true);
      EXPECT_EQ(parallel.output, expected);
      EXPECT_EQ(parallel.in_memory, serial.in_memory);
      EXPECT_EQ(parallel.buckets, serial.buckets);
      EXPECT_EQ(parallel.rescatters, serial.rescatters);
      EXPECT_EQ(parallel.spill_files, serial.spill_files);
      // Every record is spilled once in pass 1 (and once per re-scatter), whoever held it.
      EXPECT_EQ(parallel.spill_raw, serial.spill_raw);
    }
  }
}

TEST(ShuffleParallelPass1Test, TheLayoutComesFromTheBatchOfRecordZeroEvenWhenItComesLast) {
  // Batch 0 holds tiny records, the others large ones: a layout sampled from any other batch
  // would choose other buckets. Batch 0 is added late, so every other thread waits for it.
  const auto lines = MakeLines(6000, 100);
  ShuffleConfig config = Config(400000);
  config.expected_input_bytes = 0;
  for (const auto& l : lines) config.expected_input_bytes += l.size();
  const ShuffleRun serial = Shuffle(lines, config, 100, 4, false);
  const ShuffleRun parallel = Shuffle(lines, config, 100, 4, true, std::chrono::milliseconds(100));
  EXPECT_EQ(parallel.output, ShuffleKeyOrder(lines, 17));
  EXPECT_EQ(parallel.output, serial.output);
  EXPECT_EQ(parallel.buckets, serial.buckets);
  EXPECT_EQ(parallel.rescatters, serial.rescatters);
  EXPECT_EQ(parallel.spill_raw, serial.spill_raw);
  // The sample matters here: the batch of long lines alone would have chosen another layout.
  const std::vector<std::string> tail(lines.begin() + 100, lines.end());
  ShuffleConfig tail_config = config;
  const ShuffleRun other = Shuffle(tail, tail_config, 100, 4, false);
  EXPECT_NE(other.buckets, serial.buckets);
}

TEST(ShuffleParallelPass1Test, BatchesMustHaveThePlannedLayout) {
  // The layout is the planned schema, not the first batch's.
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordShuffler shuffler(Config(1 << 20), TextLayout(), temp, nullptr, nullptr);
  Batch other;
  other.AddString("other").Append("x");
  EXPECT_THROW(shuffler.Add(other, 0), Error);
  Batch two;
  two.AddString("text").Append("x");
  two.AddString("more").Append("y");
  EXPECT_THROW(shuffler.Add(two, 0), Error);
  Batch text;
  text.AddString("text").Append("x");
  shuffler.Add(text, 0);
  shuffler.Finish();
  Batch out;
  ASSERT_TRUE(shuffler.Next(&out));
  EXPECT_EQ(out.schema(), TextLayout());
}

// Through the binary: a spilling shuffle writes the same bytes with 1 and 4 threads.
TEST(ShuffleParallelPass1Test, SpillingRunWritesTheSameBytesForOneAndFourThreads) {
  ScopedTempDir dir;
  std::string text;
  for (const auto& line : MakeLines(60000)) text += line + "\n";
  testing::WriteFile(dir.File("in.txt"), text);
  std::vector<std::string> outputs;
  for (const char* threads : {"1", "4"}) {
    const std::string out = dir.File(std::string("out") + threads + ".txt");
    const auto r = testing::RunCorpusflow(
        {"run", "read " + dir.File("in.txt") + " | shuffle --seed 3 --memory 1M | write " + out,
         "--threads", threads, "--progress", "never", "--stats-json",
         dir.File(std::string("stats") + threads + ".json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outputs.push_back(testing::ReadFile(out));
    EXPECT_NE(
        testing::ReadFile(dir.File(std::string("stats") + threads + ".json")).find("\"external\""),
        std::string::npos);
  }
  EXPECT_EQ(outputs[0].size(), text.size());
  EXPECT_NE(outputs[0], text);
  EXPECT_EQ(outputs[0], outputs[1]);
}

}  // namespace
}  // namespace corpusflow
