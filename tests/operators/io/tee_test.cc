#include "operators/io/tee.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::Chain;
using testing::CollectedOutput;
using testing::CollectingSink;
using testing::FailingTransform;
using testing::JitterTransform;
using testing::JoinLines;
using testing::RunChain;
using testing::TestRunOptions;
using testing::VectorSource;

std::vector<std::string> MakeRecords(size_t n) {
  std::vector<std::string> records;
  for (size_t i = 0; i < n; ++i) records.push_back("record " + std::to_string(i * 7));
  return records;
}

std::unique_ptr<Operator> Create(const std::string& name, const std::vector<std::string>& args) {
  return OperatorRegistry::Global().Create(name, args);
}

TEST(TeeTest, BothSinksReceiveTheSameOrderedStream) {
  const std::vector<std::string> input = MakeRecords(3000);
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    CollectedOutput copy, main;
    RunChain(Chain(std::make_unique<VectorSource>(input, 7), std::make_unique<JitterTransform>(1),
                   std::make_unique<TeeOperator>(std::make_unique<CollectingSink>(&copy)),
                   std::make_unique<JitterTransform>(2), std::make_unique<CollectingSink>(&main)),
             TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(copy.texts, input);
    EXPECT_EQ(main.texts, input);
    EXPECT_TRUE(copy.finished);
    EXPECT_TRUE(main.finished);
  }
}

TEST(TeeTest, FailureNeverFinishesTheInnerSink) {
  const std::vector<std::string> input = MakeRecords(3000);
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    CollectedOutput copy, main;
    EXPECT_THROW(
        RunChain(
            Chain(std::make_unique<VectorSource>(input, 7),
                  std::make_unique<TeeOperator>(std::make_unique<CollectingSink>(&copy)),
                  std::make_unique<FailingTransform>(100), std::make_unique<CollectingSink>(&main)),
            TestRunOptions(threads, 1 << 20)),
        DataError);
    EXPECT_FALSE(copy.finished);
    EXPECT_TRUE(copy.destroyed);
    EXPECT_FALSE(main.finished);
  }
}

TEST(TeeTest, CopyBeforeABreakerIsCommittedOnlyWhenTheWholeRunSucceeds) {
  const std::vector<std::string> input = MakeRecords(2000);
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    CollectedOutput copy, main;
    RunChain(Chain(std::make_unique<VectorSource>(input, 7),
                   std::make_unique<TeeOperator>(std::make_unique<CollectingSink>(&copy)),
                   std::make_unique<testing::BufferingBreaker>(),
                   std::make_unique<JitterTransform>(5), std::make_unique<CollectingSink>(&main)),
             TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(copy.texts, input);
    EXPECT_TRUE(copy.finished);
    EXPECT_EQ(main.texts, input);

    // The second pipeline fails: the copy, complete since the first one, is not committed.
    testing::ScopedTempDir dir;
    CollectedOutput failed_copy;
    std::vector<std::unique_ptr<Operator>> chain =
        Chain(std::make_unique<VectorSource>(input, 7),
              std::make_unique<TeeOperator>(std::make_unique<CollectingSink>(&failed_copy)));
    chain.push_back(Create("tee", {dir.File("copy.txt")}));
    chain.push_back(std::make_unique<testing::BufferingBreaker>());
    chain.push_back(std::make_unique<FailingTransform>(50));
    chain.push_back(Create("write", {dir.File("main.txt")}));
    EXPECT_THROW(RunChain(std::move(chain), TestRunOptions(threads, 1 << 20)), DataError);
    EXPECT_EQ(failed_copy.texts, input);
    EXPECT_FALSE(failed_copy.finished);
    EXPECT_TRUE(failed_copy.destroyed);
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{});
  }
}

TEST(TeeTest, ArgumentsNameASinkOrArePassedToWrite) {
  auto tee = Create("tee", {"out.txt"});
  EXPECT_EQ(static_cast<const TeeOperator&>(*tee).inner().name(), "write");
  tee = Create("tee", {"write", "out.jsonl.zst", "--level", "9"});
  EXPECT_EQ(static_cast<const TeeOperator&>(*tee).inner().name(), "write");
  tee = Create("tee", {"out.txt", "--field", "src"});
  EXPECT_EQ(static_cast<const TeeOperator&>(*tee).inner().name(), "write");
  EXPECT_EQ(tee->Describe(), "copy the stream to write: " +
                                 static_cast<const TeeOperator&>(*tee).inner().Describe());

  try {
    Create("tee", {"head", "3"});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("tee: 'head' is a transform, not a sink"),
              std::string::npos)
        << e.what();
  }
  try {
    Create("tee", {});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "tee: missing output; usage: tee PATH [write options] or tee SINK [options]");
  }
  try {
    Create("tee", {"out.txt", "--levle", "3"});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("tee: write: unknown option '--levle'"), std::string::npos)
        << e.what();
  }
}

TEST(TeeTest, PlanTimeChecksAreTheInnerSinks) {
  testing::ScopedTempDir dir;
  const PlanContext ctx = testing::TestPlanContext(TestRunOptions(1, 1 << 20));
  // The schema check: write --field src needs 'src'.
  auto tee = Create("tee", {dir.File("out.txt"), "--field", "src"});
  const Schema text({Field{"text", FieldType::kString}});
  EXPECT_THROW(tee->OutputSchema(text), InvalidArgument);
  // tee passes its input schema on unchanged.
  EXPECT_EQ(Create("tee", {dir.File("out.txt")})->OutputSchema(text), text);
  // Validate: the output's nearest existing folder must be a folder (a missing one is created).
  EXPECT_NO_THROW(Create("tee", {dir.File("missing/out.txt")})->Validate(ctx));
  testing::WriteFile(dir.path() / "file", "");
  EXPECT_THROW(Create("tee", {dir.File("file/out.txt")})->Validate(ctx), IoError);
}

TEST(TeeTest, FilesAreIdenticalToAPlainWrite) {
  const std::vector<std::string> input = MakeRecords(5000);
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    testing::ScopedTempDir dir;
    std::vector<std::unique_ptr<Operator>> chain =
        Chain(std::make_unique<VectorSource>(input, 11), std::make_unique<JitterTransform>(3));
    chain.push_back(Create("tee", {dir.File("copy.txt")}));
    chain.push_back(std::make_unique<JitterTransform>(4));
    chain.push_back(Create("tee", {"write", dir.File("copy.jsonl.zst")}));
    chain.push_back(Create("write", {dir.File("main.txt")}));
    RunChain(std::move(chain), TestRunOptions(threads, 1 << 20, 256));

    std::vector<std::unique_ptr<Operator>> plain = Chain(std::make_unique<VectorSource>(input, 11));
    plain.push_back(Create("write", {dir.File("plain.jsonl.zst")}));
    RunChain(std::move(plain), TestRunOptions(1, 64 << 20));

    EXPECT_EQ(testing::ReadFile(dir.File("copy.txt")), JoinLines(input));
    EXPECT_EQ(testing::ReadFile(dir.File("main.txt")), JoinLines(input));
    EXPECT_EQ(testing::ReadFile(dir.File("copy.jsonl.zst")),
              testing::ReadFile(dir.File("plain.jsonl.zst")));
    EXPECT_EQ(
        testing::ListDir(dir.path()),
        (std::vector<std::string>{"copy.jsonl.zst", "copy.txt", "main.txt", "plain.jsonl.zst"}));
  }
}

TEST(TeeTest, FailedRunLeavesNeitherOutput) {
  const std::vector<std::string> input = MakeRecords(5000);
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    testing::ScopedTempDir dir;
    std::vector<std::unique_ptr<Operator>> chain = Chain(std::make_unique<VectorSource>(input, 11));
    chain.push_back(Create("tee", {dir.File("copy.txt")}));
    chain.push_back(std::make_unique<FailingTransform>(200));
    chain.push_back(Create("write", {dir.File("main.txt")}));
    EXPECT_THROW(RunChain(std::move(chain), TestRunOptions(threads, 1 << 20, 256)), DataError);
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{});
  }
}

TEST(TeeCliTest, CopiesTheStreamBeforeLaterStages) {
  testing::ScopedTempDir dir;
  const std::string all = dir.File("all.txt");
  const std::string long_docs = dir.File("long.txt");
  const auto result =
      testing::RunCorpusflow({"run", "gen --docs 300 --lang en --seed 3 | tee " + all +
                                         " | filter --min-chars 500 | write " + long_docs});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string all_text = testing::ReadFile(all);
  const std::string long_text = testing::ReadFile(long_docs);
  size_t lines = 0, long_lines = 0;
  std::string expected_long;
  for (size_t pos = 0; pos < all_text.size();) {
    const size_t end = all_text.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    const std::string line = all_text.substr(pos, end - pos);
    ++lines;
    if (line.size() >= 500) {  // English text: one byte per char
      expected_long += line + "\n";
      ++long_lines;
    }
    pos = end + 1;
  }
  EXPECT_EQ(lines, 300u);
  EXPECT_GT(long_lines, 0u);
  EXPECT_EQ(long_text, expected_long);
}

TEST(TeeCliTest, FailedRunLeavesNoOutputs) {
  testing::ScopedTempDir dir;
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "{\"text\": \"line " + std::to_string(i) + "\"}\n";
  input += "{\"text\": broken\n";
  testing::WriteFile(dir.File("in.jsonl"), input);
  const auto result =
      testing::RunCorpusflow({"run",
                              "read " + dir.File("in.jsonl") + " | tee " + dir.File("copy.txt") +
                                  " | write " + dir.File("out.txt"),
                              "--memory", "1M"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("in.jsonl:20001"), std::string::npos) << result.err;
  EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"in.jsonl"});
}

}  // namespace
}  // namespace corpusflow
