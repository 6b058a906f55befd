// Tests of the `pack` stage (operators/pack/pack.h) in pipelines: samples as the packers make
// them, byte-identical for any thread count and memory budget, every document in a sample or
// counted, samples streaming out before the input ends with two windows' buffers for any input,
// packing after the global shuffle and shuffling packed samples, the seq2seq pad mode, and the
// plan-time errors.
#include "operators/pack/pack.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/pack/packer.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::CollectedOutput;
using testing::CollectedRecord;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::VectorSource;
using Ids = std::vector<int32_t>;

std::unique_ptr<Operator> Op(const std::string& name, const std::vector<std::string>& args) {
  return OperatorRegistry::Global().Create(name, args);
}

struct PackResult {
  std::vector<CollectedRecord> records;
  std::unique_ptr<RunStats> stats = std::make_unique<RunStats>();
};

/// VectorSource(documents, 3 per batch) | jitter | parse-ids | STAGES... | collect every field.
PackResult RunPipeline(const std::vector<std::string>& documents,
                       std::vector<std::unique_ptr<Operator>> stages, int threads = 2,
                       uint64_t memory = 64 << 20) {
  CollectedOutput output;
  CollectingSinkOptions options;
  options.field = "";
  options.all_fields = true;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<VectorSource>(documents, 3));
  chain.push_back(std::make_unique<testing::JitterTransform>(7, 100));
  chain.push_back(Op("parse-ids", {}));
  for (auto& stage : stages) chain.push_back(std::move(stage));
  chain.push_back(std::make_unique<CollectingSink>(&output, options));
  PackResult run;
  testing::RunChain(std::move(chain), testing::TestRunOptions(threads, memory), run.stats.get());
  run.records = std::move(output.records);
  return run;
}

PackResult RunPack(const std::vector<std::string>& documents, const std::vector<std::string>& args,
                   int threads = 2, uint64_t memory = 64 << 20) {
  std::vector<std::unique_ptr<Operator>> stages;
  stages.push_back(Op("pack", args));
  return RunPipeline(documents, std::move(stages), threads, memory);
}

Ids Get(const CollectedRecord& r, const std::string& field) { return std::get<Ids>(r.Get(field)); }

const OperatorStats& Stats(const RunStats& stats, const std::string& label) {
  for (const auto& op : stats.operators()) {
    if (op->label() == label) return *op;
  }
  ADD_FAILURE() << "no operator " << label;
  return *stats.operators().front();
}

TEST(PackTest, ConcatSamplesThroughThePipeline) {
  const PackResult run =
      RunPack({"1 2 3", "4 5", "", "6 7 8 9 10", "11"},
              {"--mode", "concat", "--length", "4", "--plus-one", "--eod", "99", "--keep-last"});
  ASSERT_EQ(run.records.size(), 4u);
  EXPECT_EQ(run.records[0].fields.size(), 3u);  // input_ids, loss_mask, cu_seqlens only
  EXPECT_EQ(Get(run.records[0], "input_ids"), (Ids{1, 2, 3, 99, 4}));
  EXPECT_EQ(Get(run.records[1], "input_ids"), (Ids{4, 5, 99, 6, 7}));
  EXPECT_EQ(Get(run.records[1], "cu_seqlens"), (Ids{0, 3, 5}));
  EXPECT_EQ(Get(run.records[2], "input_ids"), (Ids{7, 8, 9, 10, 99}));
  EXPECT_EQ(Get(run.records[3], "input_ids"), (Ids{99, 11, 99, 0, 0}));
  EXPECT_EQ(Get(run.records[3], "loss_mask"), (Ids{1, 1, 1, 0, 0}));
  EXPECT_EQ(Get(run.records[3], "cu_seqlens"), (Ids{0, 1, 3}));
  const OperatorStats& pack = Stats(*run.stats, "pack");
  EXPECT_EQ(pack.drops(), (std::map<std::string, uint64_t>{{"empty document", 1}}));
  EXPECT_EQ(pack.counter("documents"), 4u);
  EXPECT_EQ(pack.counter("samples"), 4u);
  EXPECT_EQ(pack.counter("padding_tokens"), 2u);
}

TEST(PackTest, EveryDocumentIsInASampleOrCounted) {
  const PackResult run = RunPack({"1 2 3", "", "4 5 6 7 8", "9", "10 11"}, {"--length", "4"});
  ASSERT_EQ(run.records.size(), 2u);
  EXPECT_EQ(Get(run.records[1], "input_ids"), (Ids{5, 6, 7, 8}));
  const OperatorStats& pack = Stats(*run.stats, "pack");
  EXPECT_EQ(pack.drops(), (std::map<std::string, uint64_t>{
                              {"empty document", 1}, {"only in the dropped last window", 2}}));
  EXPECT_EQ(pack.counter("documents") + pack.dropped_total() -
                pack.drops().at("only in the dropped last window"),
            5u);
  EXPECT_EQ(pack.counter("dropped_tokens"), 3u);
}

TEST(PackTest, BestFitPaddingIsReported) {
  const PackResult run =
      RunPack({"1 2 3", "4 5", "6 7 8 9 10", "11"},
              {"--mode", "best-fit", "--length", "4", "--eod", "99", "--window-bytes", "1M"});
  ASSERT_EQ(run.records.size(), 4u);
  EXPECT_EQ(Get(run.records[2], "input_ids"), (Ids{4, 5, 99, 0}));
  EXPECT_EQ(Get(run.records[3], "cu_seqlens"), (Ids{0, 2, 4}));
  const OperatorStats& pack = Stats(*run.stats, "pack");
  EXPECT_EQ(pack.counter("padding_tokens"), 1u);
  EXPECT_EQ(pack.counter("pieces"), 5u);
  EXPECT_EQ(pack.counter("split_documents"), 1u);
  EXPECT_DOUBLE_EQ(pack.values().at("padding_percent"), 100.0 / 16);
}

/// `count` documents of 1..600 ids below 50000 (a long tail), as strings of ids, from `seed`;
/// with `wide_every` > 0, every wide_every-th document ends with an id above 65535 (a window
/// holding one keeps 32-bit ids).
std::vector<std::string> RandomDocuments(uint64_t seed, size_t count, size_t wide_every = 0) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> size(4.0, 1.0);
  std::vector<std::string> documents(count);
  for (size_t k = 0; k < count; ++k) {
    std::string& d = documents[k];
    const size_t n = std::min<size_t>(static_cast<size_t>(size(rng)), 600);
    for (size_t i = 0; i < n; ++i) d += (i ? " " : "") + std::to_string(rng() % 50000);
    if (wide_every > 0 && k % wide_every == wide_every - 1) {
      d += (n ? " " : "") + std::to_string(65536 + rng() % 1000000);
    }
  }
  return documents;
}

TEST(PackTest, IdenticalForAnyThreadsAndBudget) {
  const auto narrow = RandomDocuments(3, 6000);
  // Best-fit windows of 16-bit ids, and windows widened to 32 bits by a rare large id.
  const auto mixed = RandomDocuments(3, 6000, 700);
  for (const auto& [documents, args] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {narrow,
            {"--mode", "concat", "--length", "256", "--plus-one", "--eod", "0", "--keep-last"}},
           {narrow,
            {"--mode", "best-fit", "--length", "256", "--eod", "0", "--window", "500",
             "--window-bytes", "256K"}},
           {mixed,
            {"--mode", "best-fit", "--length", "256", "--eod", "0", "--window", "500",
             "--window-bytes", "256K"}},
           {narrow, {"--mode", "first-fit", "--length", "300", "--window", "200"}}}) {
    const PackResult base = RunPack(documents, args, 1, 256 << 20);
    // Batches of 64 KiB: a batch's samples leave from other windows than with 4 MiB batches.
    const PackResult small = RunPack(documents, args, 2, 4 << 20);
    const PackResult more_threads = RunPack(documents, args, 4, 64 << 20);
    ASSERT_GT(base.records.size(), 1000u) << args[1];
    ASSERT_EQ(base.records.size(), small.records.size()) << args[1];
    ASSERT_EQ(base.records.size(), more_threads.records.size()) << args[1];
    for (size_t i = 0; i < base.records.size(); ++i) {
      for (const char* field : {"input_ids", "loss_mask", "cu_seqlens"}) {
        ASSERT_EQ(Get(base.records[i], field), Get(small.records[i], field))
            << args[1] << " sample " << i << " " << field;
        ASSERT_EQ(Get(base.records[i], field), Get(more_threads.records[i], field))
            << args[1] << " sample " << i << " " << field;
      }
    }
  }
}

/// The samples the packer makes of `documents` (strings of ids) directly.
std::vector<Ids> PackDirectly(const std::vector<std::string>& documents, DocumentPacker& packer) {
  Int32ListColumn ids, mask, cu;
  SampleColumns out{ids, mask, cu};
  for (const std::string& text : documents) {
    Ids document;
    size_t at = 0;
    while (at < text.size()) {
      size_t end = text.find(' ', at);
      if (end == std::string::npos) end = text.size();
      document.push_back(std::stoi(text.substr(at, end - at)));
      at = end + 1;
    }
    if (!document.empty()) packer.Add(document, out);
  }
  packer.Finish(out);
  std::vector<Ids> samples;
  for (size_t i = 0; i < ids.size(); ++i) samples.emplace_back(ids[i].begin(), ids[i].end());
  return samples;
}

TEST(PackTest, PacksDocumentsInTheOrderOfTheGlobalShuffle) {
  // read | parse-ids | shuffle | pack: the samples of the shuffled documents.
  const auto documents = RandomDocuments(5, 800);
  std::vector<std::unique_ptr<Operator>> stages;
  stages.push_back(Op("shuffle", {"--seed", "11"}));
  stages.push_back(
      Op("pack", {"--mode", "best-fit", "--length", "512", "--eod", "7", "--window", "100"}));
  const PackResult run = RunPipeline(documents, std::move(stages), 2, 16 << 20);
  BinPacker packer(BinPackOptions{.length = 512, .eod = 7, .window_pieces = 100});
  const std::vector<Ids> expected = PackDirectly(testing::ShuffleKeyOrder(documents, 11), packer);
  ASSERT_EQ(run.records.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(Get(run.records[i], "input_ids"), expected[i]) << "sample " << i;
  }
}

TEST(PackTest, ShufflesPackedSamples) {
  // ... | pack | shuffle: the packed samples, in the shuffle's order of their ordinals.
  const auto documents = RandomDocuments(6, 500);
  std::vector<std::unique_ptr<Operator>> stages;
  stages.push_back(Op("pack", {"--length", "128", "--plus-one", "--eod", "0"}));
  stages.push_back(Op("shuffle", {"--seed", "4"}));
  const PackResult run = RunPipeline(documents, std::move(stages), 2, 16 << 20);
  ConcatPacker packer(ConcatOptions{.length = 128, .plus_one = true, .eod = 0});
  const std::vector<Ids> samples = PackDirectly(documents, packer);
  // ShuffleKeyOrder orders strings by their ordinals' keys: order the samples' ordinals.
  std::vector<std::string> ordinals;
  for (size_t i = 0; i < samples.size(); ++i) ordinals.push_back(std::to_string(i));
  const std::vector<std::string> order = testing::ShuffleKeyOrder(ordinals, 4);
  ASSERT_EQ(run.records.size(), samples.size());
  bool moved = false;
  for (size_t i = 0; i < samples.size(); ++i) {
    const size_t from = std::stoul(order[i]);
    moved = moved || from != i;
    ASSERT_EQ(Get(run.records[i], "input_ids"), samples[from]) << "position " << i;
  }
  EXPECT_TRUE(moved);
}

TEST(PackTest, StreamsSamplesBeforeItsInputEnds) {
  // pack | head 3: the first window's samples reach head while the source still reads, and head
  // stops it after a few windows of its 3000 documents (a breaker would read them all first).
  for (const char* mode : {"concat", "best-fit"}) {
    SCOPED_TRACE(mode);
    std::vector<std::unique_ptr<Operator>> stages;
    std::vector<std::string> args = {"--mode", mode, "--length", "64"};
    if (std::string(mode) == "best-fit") args.insert(args.end(), {"--window", "20"});
    stages.push_back(Op("pack", args));
    stages.push_back(Op("head", {"3"}));
    const PackResult run = RunPipeline(RandomDocuments(8, 3000), std::move(stages), 2, 1 << 20);
    ASSERT_EQ(run.records.size(), 3u);
    const uint64_t read = Stats(*run.stats, "parse-ids").records_out;
    EXPECT_LT(read, 1000u);
    // The documents read were packed, and their samples, drained after the stop, reached head.
    EXPECT_EQ(Stats(*run.stats, "pack").counter("documents"), read);
    EXPECT_EQ(Stats(*run.stats, "head").records_in.load(),
              Stats(*run.stats, "pack").counter("samples"));
  }
}

TEST(PackTest, HoldsTwoWindowsWhateverTheInputSize) {
  // Windows of 200 pieces and a 4 MiB budget: every window's buffers are those of the window
  // two before it (one for the window being filled, one for the window being read), for 3000
  // documents as for 30000, and in 32 bits too (ids above 65535: a 16-bit and a 32-bit buffer
  // each). Nothing depends on the budget beyond the batches' size: no window is spilled.
  const std::vector<std::string> args = {"--mode",   "best-fit", "--length", "256",
                                         "--window", "200",      "--eod",    "0"};
  for (const size_t count : {3000, 30000}) {
    SCOPED_TRACE(count);
    testing::ScopedTempDir tmp;
    RunOptions options = testing::TestRunOptions(2, 4 << 20);
    options.tmp_dir = tmp.path();
    for (const size_t wide_every : {0, 1}) {
      CollectedOutput output;
      std::vector<std::unique_ptr<Operator>> chain;
      chain.push_back(std::make_unique<VectorSource>(RandomDocuments(5, count, wide_every), 50));
      chain.push_back(Op("parse-ids", {}));
      chain.push_back(Op("pack", args));
      chain.push_back(std::make_unique<CollectingSink>(
          &output, CollectingSinkOptions{.field = "", .all_fields = true}));
      RunStats stats;
      testing::RunChain(std::move(chain), options, &stats);
      const OperatorStats& pack = Stats(stats, "pack");
      EXPECT_GT(pack.counter("windows"), count / 200 - 1);
      EXPECT_EQ(pack.counter("window_buffers"), wide_every == 0 ? 2u : 4u);
      EXPECT_EQ(output.records.size(), pack.counter("samples"));
      EXPECT_EQ(testing::ListDir(tmp.path()), std::vector<std::string>{});
    }
  }
}

TEST(PackTest, AFailedRunLeavesNothingInTheTempFolder) {
  // The stage after pack fails on its third batch: the error reaches the caller and the temp
  // folder is left empty.
  testing::ScopedTempDir tmp;
  RunOptions options = testing::TestRunOptions(2, 4 << 20);
  options.tmp_dir = tmp.path();
  CollectedOutput output;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<VectorSource>(RandomDocuments(3, 6000), 3));
  chain.push_back(Op("parse-ids", {}));
  chain.push_back(Op("pack", {"--length", "256", "--eod", "0"}));
  chain.push_back(std::make_unique<testing::FailingTransform>(2, "stop here"));
  chain.push_back(std::make_unique<CollectingSink>(&output, CollectingSinkOptions{.field = ""}));
  RunStats stats;
  EXPECT_NE(testing::ErrorMessage<DataError>([&] {
              testing::RunChain(std::move(chain), options, &stats);
            }).find("stop here"),
            std::string::npos);
  EXPECT_EQ(testing::ListDir(tmp.path()), std::vector<std::string>{});
}

TEST(PackTest, PadModeTruncatesAndPadsSourceAndTarget) {
  CollectedOutput output;
  CollectingSinkOptions options;
  options.field = "";
  options.all_fields = true;
  Batch batch;
  batch.AddString("id");
  batch.AddInt32List("src_ids", 100);
  batch.AddInt32List("tgt_ids", 100);
  for (const auto& [id, src, tgt] : std::vector<std::tuple<std::string, Ids, Ids>>{
           {"a", {1, 2, 3, 4}, {5}}, {"b", {}, {6, 7, 8, 9}}, {"c", {10, 11}, {12, 13}}}) {
    batch.GetString("id").Append(id);
    batch.GetInt32List("src_ids").Append(src);
    batch.GetInt32List("tgt_ids").Append(tgt);
  }
  std::vector<std::unique_ptr<Operator>> chain;
  std::vector<Batch> batches;
  batches.push_back(std::move(batch));
  chain.push_back(std::make_unique<testing::BatchSource>(std::move(batches)));
  chain.push_back(
      Op("pack", {"--mode", "pad", "--src-length", "3", "--tgt-length", "2", "--pad-id", "0"}));
  chain.push_back(std::make_unique<CollectingSink>(&output, options));
  RunStats stats;
  const Plan plan =
      testing::RunChain(std::move(chain), testing::TestRunOptions(2, 64 << 20), &stats);
  EXPECT_EQ(plan.operators()[1]->role(), OperatorRole::kTransform);
  ASSERT_EQ(output.records.size(), 3u);
  const auto& r = output.records;
  EXPECT_EQ(std::get<std::string>(r[0].Get("id")), "a");
  EXPECT_EQ(Get(r[0], "src_ids"), (Ids{1, 2, 3}));
  EXPECT_EQ(Get(r[0], "src_mask"), (Ids{1, 1, 1}));
  EXPECT_EQ(Get(r[0], "tgt_ids"), (Ids{5, 0}));
  EXPECT_EQ(Get(r[0], "tgt_mask"), (Ids{1, 0}));
  EXPECT_EQ(Get(r[1], "src_ids"), (Ids{0, 0, 0}));
  EXPECT_EQ(Get(r[1], "src_mask"), (Ids{0, 0, 0}));
  EXPECT_EQ(Get(r[1], "tgt_ids"), (Ids{6, 7}));
  EXPECT_EQ(Get(r[2], "src_ids"), (Ids{10, 11, 0}));
  EXPECT_EQ(Get(r[2], "src_mask"), (Ids{1, 1, 0}));
  EXPECT_EQ(Get(r[2], "tgt_ids"), (Ids{12, 13}));
  const OperatorStats& pack = Stats(stats, "pack");
  EXPECT_EQ(pack.counter("truncated_src"), 1u);
  EXPECT_EQ(pack.counter("truncated_src_tokens"), 1u);
  EXPECT_EQ(pack.counter("truncated_tgt"), 1u);
  EXPECT_EQ(pack.counter("truncated_tgt_tokens"), 2u);
}

TEST(PackTest, RefusesOptionsOutsideTheirMode) {
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([] {
              Op("pack", {"--mode", "best-fit", "--length", "8", "--plus-one"});
            }).find("--plus-one applies to --mode concat"),
            std::string::npos);
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([] {
              Op("pack", {"--mode", "concat", "--length", "8", "--window", "9"});
            }).find("--window applies to best-fit and first-fit"),
            std::string::npos);
  EXPECT_NE(
      testing::ErrorMessage<InvalidArgument>([] {
        Op("pack", {"--mode", "pad", "--src-length", "8", "--tgt-length", "8", "--length", "4"});
      }).find("--length applies to"),
      std::string::npos);
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([] {
              Op("pack", {"--mode", "best-fit"});
            }).find("needs --length"),
            std::string::npos);
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([] {
              Op("pack", {"--mode", "pad", "--src-length", "8"});
            }).find("needs --src-length and --tgt-length"),
            std::string::npos);
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([] {
              Op("pack", {"--mode", "greedy"});
            }).find("--mode must be concat, best-fit, first-fit or pad"),
            std::string::npos);
}

TEST(PackTest, PlanChecksFieldEodAndWindow) {
  auto op = Op("pack", {"--length", "8", "--eod", "70000"});
  const Schema ids({Field{"text_ids", FieldType::kInt32List, 32000}});
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([&] {
              op->OutputSchema(ids);
            }).find("--eod 70000 is not below the vocabulary size 32000"),
            std::string::npos);
  auto names = Op("pack", {"--length", "8", "--eod", "</s>"});
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([&] {
              names->OutputSchema(ids);
            }).find("has no token names"),
            std::string::npos);
  EXPECT_THROW(Op("pack", {"--length", "8"})->OutputSchema(Schema({Field{"text"}})),
               InvalidArgument);
  // The output: the packed ids keep the vocabulary (widened for the padding id).
  const Schema out = Op("pack", {"--length", "8", "--pad-id", "32000"})->OutputSchema(ids);
  EXPECT_EQ(out.ToString(),
            "input_ids:int32-list[vocab 32001], loss_mask:int32-list[vocab 2], "
            "cu_seqlens:int32-list[vocab 9]");
  // A window larger than a quarter of the budget is refused before any I/O.
  const RunOptions small = testing::TestRunOptions(2, 16 << 20);
  auto big = Op("pack", {"--mode", "best-fit", "--length", "2048", "--window-bytes", "64M"});
  EXPECT_NE(testing::ErrorMessage<InvalidArgument>([&] {
              big->Validate(testing::TestPlanContext(small));
            }).find("lower --window-bytes or --window, or raise --memory"),
            std::string::npos);
}

TEST(PackTest, ListedByTheCommandLine) {
  const testing::CommandResult ops = testing::RunCorpusflow({"ops"});
  EXPECT_EQ(ops.exit_code, 0);
  EXPECT_NE(ops.out.find("pack "), std::string::npos);
  const testing::CommandResult help = testing::RunCorpusflow({"help", "pack"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--mode"), std::string::npos);
  EXPECT_NE(help.out.find("best-fit decreasing"), std::string::npos);
}

}  // namespace
}  // namespace corpusflow
