// Tests of engine/record_spool.h: records come back in append order, in batches of the asked
// size, whether blocks stayed in memory, all went to the spill file or some of each; an empty
// spool reads nothing; a corrupt spilled block is a CorruptionError.
#include "engine/record_spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/temp_dir.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;

/// Batches of (text, ids) records numbered from 0: record i has text "record i" and i % 7 ids.
std::vector<Batch> NumberedBatches(size_t batches, size_t per_batch) {
  std::vector<Batch> out(batches);
  size_t i = 0;
  for (Batch& batch : out) {
    batch.AddString("text");
    batch.AddInt32List("ids", 100);
    for (size_t j = 0; j < per_batch; ++j, ++i) {
      batch.GetString("text").Append("record " + std::to_string(i));
      std::vector<int32_t> ids(i % 7, static_cast<int32_t>(i));
      batch.GetInt32List("ids").Append(ids);
    }
  }
  return out;
}

/// Read the whole spool back in batches of `batch_bytes`; check every record in order.
void ExpectNumberedRecords(RecordSpool& spool, size_t total, uint64_t batch_bytes) {
  Batch out;
  size_t i = 0;
  size_t batches = 0;
  while (spool.Next(&out, batch_bytes)) {
    ++batches;
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out.Find("ids")->field.vocab_size, 100);
    for (size_t j = 0; j < out.num_records(); ++j, ++i) {
      ASSERT_EQ(out.GetString("text")[j], "record " + std::to_string(i));
      const auto ids = out.GetInt32List("ids")[j];
      ASSERT_EQ(ids.size(), i % 7);
      for (const int32_t id : ids) ASSERT_EQ(id, static_cast<int32_t>(i));
    }
  }
  EXPECT_EQ(i, total);
  EXPECT_GT(batches, 1u);
}

TEST(RecordSpoolTest, ReturnsRecordsInOrderInMemoryOrSpilled) {
  const std::vector<Batch> batches = NumberedBatches(40, 250);
  for (const uint64_t memory : {uint64_t{0}, uint64_t{64} << 10, uint64_t{1} << 30}) {
    ScopedTempDir dir;
    TempDir temp(dir.path());
    RecordSpool spool(temp, "test",
                      RecordSpoolOptions{.memory_bytes = memory, .block_bytes = 16 << 10});
    for (const Batch& batch : batches) spool.Append(batch);
    spool.Finish();
    EXPECT_EQ(spool.records(), 10000u);
    if (memory == 0) {
      EXPECT_GT(spool.spilled_blocks(), 10u);
    } else if (memory == uint64_t{1} << 30) {
      EXPECT_EQ(spool.spilled_blocks(), 0u);
    } else {
      EXPECT_GT(spool.spilled_blocks(), 0u);
    }
    ExpectNumberedRecords(spool, 10000, 8 << 10);
  }
}

TEST(RecordSpoolTest, EmptySpoolReadsNothing) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordSpool spool(temp, "test");
  spool.Finish();
  Batch out;
  EXPECT_FALSE(spool.Next(&out, 1 << 20));
  EXPECT_EQ(spool.records(), 0u);
}

TEST(RecordSpoolTest, DetectsACorruptSpilledBlock) {
  ScopedTempDir dir;
  TempDir temp(dir.path());
  RecordSpool spool(
      temp, "test",
      RecordSpoolOptions{
          .memory_bytes = 0, .block_bytes = 4 << 10, .spill = {SpillCompression::kNone, 1}});
  for (const Batch& batch : NumberedBatches(4, 100)) spool.Append(batch);
  spool.Finish();
  ASSERT_GT(spool.spilled_blocks(), 0u);
  testing::CorruptSpillFile(dir.path(), 100);
  Batch out;
  EXPECT_THROW(
      {
        while (spool.Next(&out, 1 << 20)) {
        }
      },
      CorruptionError);
}

}  // namespace
}  // namespace corpusflow
