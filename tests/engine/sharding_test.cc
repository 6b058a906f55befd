// engine/sharding.h: the one naming scheme and the two dealing policies of every sink.
#include "engine/sharding.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/error.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

TEST(ShardingTest, FileNamesGoBeforeTheExtensions) {
  EXPECT_EQ(ShardFilePath("out/a.jsonl.zst", 2, 8), "out/a-00002-of-00008.jsonl.zst");
  EXPECT_EQ(ShardFilePath("out/a.txt", 13, 0), "out/a-00013.txt");
  EXPECT_EQ(ShardFilePath("a", 0, 3), "a-00000-of-00003");
  EXPECT_EQ(ShardFilePath("d.x/a.gz", 1, 0), "d.x/a-00001.gz");
  EXPECT_EQ(ShardFilePath(".hidden", 1, 0), ".hidden-00001");
  EXPECT_EQ(ShardFilePath("a.txt", 123456, 200000), "a-123456-of-200000.txt");
  // One shard keeps the name.
  EXPECT_EQ(ShardFilePath("out/a.txt", 0, 1), "out/a.txt");
}

TEST(ShardingTest, PrefixesTakeTheSameSuffixAtTheirEnd) {
  EXPECT_EQ(ShardPrefix("out/train", 2, 8), "out/train-00002-of-00008");
  // A dot in a prefix is no extension.
  EXPECT_EQ(ShardPrefix("out/v1.2", 0, 3), "out/v1.2-00000-of-00003");
  EXPECT_EQ(ShardPrefix("out/train", 0, 1), "out/train");
}

TEST(ShardingTest, PolicyNamesRoundTripAndUnknownOnesAreRefused) {
  for (ShardPolicy p : {ShardPolicy::kRoundRobin, ShardPolicy::kContiguous}) {
    EXPECT_EQ(ParseShardPolicy(ShardPolicyName(p)), p);
  }
  EXPECT_EQ(testing::ErrorMessage<InvalidArgument>([] { ParseShardPolicy("random"); }),
            "unknown --shard-policy 'random' (expected round-robin or contiguous)");
}

/// Deal `kept.size()` records one at a time; kept[i] says whether record i is written.
std::vector<uint64_t> Deal(ShardDealer dealer, const std::vector<bool>& kept) {
  std::vector<uint64_t> shards;
  for (bool k : kept) {
    shards.push_back(dealer.shard());
    dealer.Advance(k);
  }
  return shards;
}

TEST(ShardingTest, RoundRobinDealsKeptRecordsOnly) {
  ShardDealer dealer(ShardPolicy::kRoundRobin, 3, std::nullopt, "test");
  // Records 1 and 2 are dropped: they take no turn.
  EXPECT_EQ(Deal(dealer, {true, false, false, true, true, true, true}),
            (std::vector<uint64_t>{0, 1, 1, 1, 2, 0, 1}));
}

TEST(ShardingTest, ContiguousPiecesPartitionTheOrderByTheFormula) {
  for (uint64_t n : {0, 1, 2, 5, 7, 100, 101, 999}) {
    for (uint64_t shards : {1, 2, 3, 7, 16}) {
      SCOPED_TRACE(std::to_string(n) + " records, " + std::to_string(shards) + " shards");
      ShardDealer dealer(ShardPolicy::kContiguous, shards, n, "test");
      const std::vector<uint64_t> got = Deal(dealer, std::vector<bool>(n, true));
      for (uint64_t r = 0; r < n; ++r) {
        // Shard s holds [floor(s*n/N), floor((s+1)*n/N)).
        uint64_t s = 0;
        while (s + 1 < shards && r >= (s + 1) * n / shards) ++s;
        ASSERT_EQ(got[r], s) << "record " << r;
      }
    }
  }
}

TEST(ShardingTest, ContiguousRunsMatchOneAtATimeAndDropsKeepTheirPlace) {
  const uint64_t n = 103, shards = 5;
  ShardDealer one(ShardPolicy::kContiguous, shards, n, "test");
  std::vector<bool> kept(n);
  for (uint64_t r = 0; r < n; ++r) kept[r] = r % 4 != 1;
  const std::vector<uint64_t> expected = Deal(one, kept);
  ShardDealer runs(ShardPolicy::kContiguous, shards, n, "test");
  std::vector<uint64_t> got;
  while (got.size() < n) {
    const uint64_t take = std::min<uint64_t>(runs.RunLength(), 7);
    for (uint64_t i = 0; i < take && got.size() < n; ++i) got.push_back(runs.shard());
    runs.AdvanceRun(take);
  }
  got.resize(n);
  EXPECT_EQ(got, expected);
}

TEST(ShardingTest, ContiguousTakesRecordsPastTheCountIntoTheLastShard) {
  ShardDealer dealer(ShardPolicy::kContiguous, 3, 3, "test");
  EXPECT_EQ(Deal(dealer, std::vector<bool>(6, true)), (std::vector<uint64_t>{0, 1, 2, 2, 2, 2}));
}

TEST(ShardingTest, ContiguousNeedsTheRecordCount) {
  EXPECT_EQ(testing::ErrorMessage<InvalidArgument>(
                [] { ShardDealer(ShardPolicy::kContiguous, 4, std::nullopt, "write"); }),
            "write: --shard-policy contiguous needs the number of records before the first one "
            "arrives, known right after a breaker such as shuffle; put it there or use "
            "--shard-policy round-robin");
  // One shard needs no count.
  ShardDealer one(ShardPolicy::kContiguous, 1, std::nullopt, "write");
  EXPECT_EQ(one.shard(), 0u);
}

}  // namespace
}  // namespace corpusflow
