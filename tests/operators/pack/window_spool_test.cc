// Tests of operators/pack/window_spool.h: packed windows come back in append order with the same
// samples, whether they stayed in memory, all went to the spill file (over many small blocks) or
// some of each, concat's windows (whose samples share ids) too; the spill file is removed with the
// spool; an empty spool reads nothing; a corrupt spilled block is a CorruptionError.
#include "operators/pack/window_spool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "engine/error.h"
#include "engine/io/temp_dir.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;
using Ids = std::vector<int32_t>;

constexpr uint32_t kLength = 64;

/// Windows best-fit packs of random documents (windows of 40 pieces).
std::vector<PackedWindow> RandomWindows(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> size(1, 3 * kLength);
  BinPacker packer(BinPackOptions{.length = kLength, .eod = 0, .window_pieces = 40});
  std::vector<PackedWindow> windows;
  packer.set_window_sink([&](PackedWindow&& w) { windows.push_back(std::move(w)); });
  Int32ListColumn ids, mask, cu;
  SampleColumns out{ids, mask, cu};
  for (int d = 0; d < 600; ++d) {
    Ids document(size(rng));
    for (int32_t& id : document) id = static_cast<int32_t>(rng() % 50000) + 1;
    packer.Add(document, out);
  }
  packer.Finish(out);
  return windows;
}

/// Windows concat gathers from random documents (samples of kLength + 1 ids overlapping by
/// one: consecutive bins share an id), of about 3 samples each.
std::vector<PackedWindow> ConcatWindows(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> size(1, 3 * kLength);
  ConcatPacker packer(ConcatOptions{
      .length = kLength, .plus_one = true, .eod = 0, .keep_last = true, .window_tokens = 200});
  std::vector<PackedWindow> windows;
  packer.set_window_sink([&](PackedWindow&& w) { windows.push_back(std::move(w)); });
  Int32ListColumn ids, mask, cu;
  SampleColumns out{ids, mask, cu};
  for (int d = 0; d < 100; ++d) {
    Ids document(size(rng));
    for (int32_t& id : document) id = static_cast<int32_t>(rng() % 50000) + 1;
    packer.Add(document, out);
  }
  packer.Finish(out);
  return windows;
}

/// The samples of `windows` (of `length` ids), one list of ids per sample (input_ids, then
/// cu_seqlens).
std::vector<Ids> Samples(const std::vector<PackedWindow>& windows, uint32_t length = kLength) {
  Int32ListColumn ids, mask, cu;
  SampleColumns out{ids, mask, cu};
  for (const PackedWindow& window : windows) {
    for (size_t b = 0; b < window.bins(); ++b) window.EmitBin(b, length, -1, out);
  }
  std::vector<Ids> samples;
  for (size_t i = 0; i < ids.size(); ++i) {
    samples.emplace_back(ids[i].begin(), ids[i].end());
    samples.back().insert(samples.back().end(), cu[i].begin(), cu[i].end());
  }
  return samples;
}

/// The spill files under `dir`.
size_t SpillFilesIn(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    n += entry.path().extension() == ".spill" ? 1 : 0;
  }
  return n;
}

TEST(WindowSpoolTest, ReturnsTheWindowsInOrderInMemoryOrSpilled) {
  const std::vector<Ids> expected = Samples(RandomWindows(1));
  ASSERT_GT(RandomWindows(1).size(), 10u);
  for (const uint64_t memory : {uint64_t{0}, uint64_t{20} << 10, uint64_t{1} << 30}) {
    ScopedTempDir dir;
    std::vector<PackedWindow> read;
    {
      TempDir temp(dir.path());
      WindowSpool spool(temp, "test",
                        WindowSpoolOptions{.memory_bytes = memory, .block_bytes = 1000});
      uint64_t bins = 0, pieces = 0;
      for (PackedWindow& window : RandomWindows(1)) {
        bins += window.bins();
        pieces += window.pieces.size();
        spool.Append(std::move(window));
      }
      spool.Finish();
      EXPECT_EQ(spool.bins(), bins);
      EXPECT_EQ(spool.pieces(), pieces);
      if (memory == 0) {
        // Every window went to the file, over blocks of 1000 bytes.
        EXPECT_GT(spool.spilled_blocks(), spool.windows());
      } else if (memory == uint64_t{1} << 30) {
        EXPECT_EQ(spool.spilled_blocks(), 0u);
      } else {
        EXPECT_GT(spool.spilled_blocks(), 0u);
        EXPECT_LT(spool.spilled_blocks(), spool.windows() * 30);
      }
      EXPECT_EQ(SpillFilesIn(dir.path()), spool.spilled_blocks() > 0 ? 1u : 0u);
      PackedWindow window;
      while (spool.Next(&window)) read.push_back(std::move(window));
      EXPECT_EQ(read.size(), spool.windows());
    }
    EXPECT_EQ(SpillFilesIn(dir.path()), 0u) << "memory " << memory;
    ASSERT_EQ(Samples(read), expected) << "memory " << memory;
  }
}

TEST(WindowSpoolTest, ConcatWindowsWhoseSamplesShareIdsComeBackTheSame) {
  // A concat window's consecutive samples share an id and its last ids may be in no sample: a
  // spilled window holds the ids of its pieces, in emission order.
  const std::vector<Ids> expected = Samples(ConcatWindows(3), kLength + 1);
  ASSERT_GT(ConcatWindows(3).size(), 10u);
  for (const uint64_t memory : {uint64_t{0}, uint64_t{1} << 30}) {
    ScopedTempDir dir;
    TempDir temp(dir.path());
    WindowSpool spool(temp, "test", WindowSpoolOptions{.memory_bytes = memory, .block_bytes = 512});
    for (PackedWindow& window : ConcatWindows(3)) spool.Append(std::move(window));
    spool.Finish();
    EXPECT_EQ(spool.spilled_blocks() > 0, memory == 0);
    std::vector<PackedWindow> read;
    PackedWindow window;
    while (spool.Next(&window)) read.push_back(std::move(window));
    ASSERT_EQ(Samples(read, kLength + 1), expected) << "memory " << memory;
  }
}

TEST(WindowSpoolTest, EmptySpoolReadsNothing) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  WindowSpool spool(temp, "test");
  spool.Finish();
  PackedWindow window;
  EXPECT_FALSE(spool.Next(&window));
  EXPECT_EQ(spool.windows(), 0u);
}

TEST(WindowSpoolTest, DetectsACorruptSpilledBlock) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  WindowSpool spool(
      temp, "test",
      WindowSpoolOptions{
          .memory_bytes = 0, .block_bytes = 4 << 10, .spill = {SpillCompression::kNone, 1}});
  for (PackedWindow& window : RandomWindows(2)) spool.Append(std::move(window));
  spool.Finish();
  ASSERT_GT(spool.spilled_blocks(), 0u);
  testing::CorruptSpillFile(dir.path(), 100);
  PackedWindow window;
  EXPECT_THROW(
      {
        while (spool.Next(&window)) {
        }
      },
      CorruptionError);
}

}  // namespace
}  // namespace corpusflow
