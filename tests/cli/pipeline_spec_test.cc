#include "cli/pipeline_spec.h"

#include <gtest/gtest.h>

#include "engine/error.h"

namespace corpusflow {
namespace {

TEST(PipelineSpecTest, SplitsStagesAndWords) {
  const auto stages = ParsePipelineSpec("read in.txt --field text | head 10|write out.txt");
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[0].name, "read");
  EXPECT_EQ(stages[0].args, (std::vector<std::string>{"in.txt", "--field", "text"}));
  EXPECT_EQ(stages[1].name, "head");
  EXPECT_EQ(stages[1].args, (std::vector<std::string>{"10"}));
  EXPECT_EQ(stages[2].name, "write");
  EXPECT_EQ(stages[2].args, (std::vector<std::string>{"out.txt"}));
}

TEST(PipelineSpecTest, QuotesKeepBarsAndSpaces) {
  const auto stages = ParsePipelineSpec(
      R"(gsg --mask-token '<mask_1>' --sep "a | b" --x a\ b | write "o \"q\".txt")");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].args,
            (std::vector<std::string>{"--mask-token", "<mask_1>", "--sep", "a | b", "--x", "a b"}));
  EXPECT_EQ(stages[1].args, (std::vector<std::string>{"o \"q\".txt"}));
}

TEST(PipelineSpecTest, EmptyQuotedArgumentIsKept) {
  const auto stages = ParsePipelineSpec("write out.txt --sep ''");
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages[0].args, (std::vector<std::string>{"out.txt", "--sep", ""}));
}

TEST(PipelineSpecTest, RejectsEmptyStagesAndOpenQuotes) {
  EXPECT_THROW(ParsePipelineSpec("read a | | write b"), InvalidArgument);
  EXPECT_THROW(ParsePipelineSpec("read a |"), InvalidArgument);
  EXPECT_THROW(ParsePipelineSpec("read 'a | write b"), InvalidArgument);
  EXPECT_THROW(ParsePipelineSpec("   "), InvalidArgument);
}

TEST(PipelineSpecTest, FileModeNewlinesCommentsContinuations) {
  const auto stages = ParsePipelineFile(
      "# a pipeline\n"
      "read in.txt   # the input\n"
      "\n"
      "| filter --min-chars 20 \\\n"
      "    --max-chars 100\n"
      "head 5 |\n"
      "write out.txt\n");
  ASSERT_EQ(stages.size(), 4u);
  EXPECT_EQ(stages[0].name, "read");
  EXPECT_EQ(stages[0].args, (std::vector<std::string>{"in.txt"}));
  EXPECT_EQ(stages[1].name, "filter");
  EXPECT_EQ(stages[1].args, (std::vector<std::string>{"--min-chars", "20", "--max-chars", "100"}));
  EXPECT_EQ(stages[2].name, "head");
  EXPECT_EQ(stages[3].name, "write");
}

TEST(PipelineSpecTest, HashInsideWordIsNotAComment) {
  const auto stages = ParsePipelineFile("write out#1.txt\n");
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages[0].args, (std::vector<std::string>{"out#1.txt"}));
}

}  // namespace
}  // namespace corpusflow
