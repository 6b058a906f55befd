#include "engine/plan.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/schema.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::BufferingBreaker;
using testing::Chain;
using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::PredicateFilter;
using testing::RecordIndexTransform;
using testing::TestPlanContext;
using testing::TestRunOptions;
using testing::VectorSource;

PlanContext Context() { return TestPlanContext(TestRunOptions(1, 64 << 20)); }

std::unique_ptr<VectorSource> Source() {
  return std::make_unique<VectorSource>(std::vector<std::string>{"a", "b", "c"}, 2);
}

std::unique_ptr<PredicateFilter> Predicate() {
  return std::make_unique<PredicateFilter>([](std::string_view) { return true; });
}

/// A transform whose plan-time check fails, to show Validate runs before any I/O.
class RejectingTransform : public Transform {
 public:
  RejectingTransform() { set_name("reject"); }
  void Validate(const PlanContext& /*ctx*/) const override {
    throw IoError("reject: cannot open /nonexistent/x: No such file or directory");
  }
  std::unique_ptr<TransformRun> Open(const OpenContext&) const override {
    ADD_FAILURE() << "opened at plan time";
    return nullptr;
  }
};

/// Expect Plan::Build to throw InvalidArgument with exactly `message`.
void ExpectPlanError(std::vector<std::unique_ptr<Operator>> chain, const std::string& message) {
  try {
    Plan::Build(std::move(chain), Context());
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(PlanTest, RejectsAnEmptyChain) { ExpectPlanError({}, "empty pipeline"); }

TEST(PlanTest, RequiresASourceFirst) {
  CollectedOutput out;
  ExpectPlanError(Chain(Predicate(), std::make_unique<CollectingSink>(&out)),
                  "a pipeline starts with a source such as 'read' or 'gen', not 'predicate' (a "
                  "transform)");
  ExpectPlanError(
      Chain(std::make_unique<BufferingBreaker>(), std::make_unique<CollectingSink>(&out)),
      "a pipeline starts with a source such as 'read' or 'gen', not 'buffer' (a "
      "pipeline breaker)");
}

TEST(PlanTest, RejectsASourceAfterTheFirstStage) {
  CollectedOutput out;
  ExpectPlanError(Chain(Source(), Source(), std::make_unique<CollectingSink>(&out)),
                  "'vector-source' (a source) can only start a pipeline");
}

TEST(PlanTest, RequiresTheSinkLast) {
  CollectedOutput out;
  ExpectPlanError(Chain(Source(), std::make_unique<CollectingSink>(&out), Predicate(),
                        std::make_unique<CollectingSink>(&out)),
                  "'collect' (a sink) must be the last stage");
  ExpectPlanError(Chain(Source(), Predicate()),
                  "a pipeline ends with a sink such as 'write PATH' (or 'write -' for stdout), "
                  "not 'predicate' (a transform)");
  ExpectPlanError(Chain(Source(), std::make_unique<BufferingBreaker>()),
                  "a pipeline ends with a sink such as 'write PATH' (or 'write -' for stdout), "
                  "not 'buffer' (a pipeline breaker)");
}

TEST(PlanTest, SchemaErrorNamesTheOperatorAndWhatUpstreamProduces) {
  CollectedOutput out;
  CollectingSinkOptions options;
  options.field = "tgt";
  ExpectPlanError(Chain(Source(), std::make_unique<CollectingSink>(&out, options)),
                  "collect needs field 'tgt' (string) but upstream only produces text:string; "
                  "'tgt' comes from gsg or pseudo-summary");
  ExpectPlanError(
      Chain(Source(), std::make_unique<RecordIndexTransform>("text2"),
            std::make_unique<PredicateFilter>([](std::string_view) { return true; }, "src"),
            std::make_unique<CollectingSink>(&out)),
      "predicate needs field 'src' (string) but upstream only produces text:string, "
      "text2:string; 'src' comes from gsg or pseudo-summary");
}

TEST(PlanTest, MissingFieldSuggestsTheNearestKnownNameAndWhereItComesFrom) {
  // The hints come from the registry's declared outputs (OperatorDef::outputs).
  auto expect = [](const std::string& field, const std::string& message) {
    CollectedOutput out;
    CollectingSinkOptions options;
    options.field = field;
    ExpectPlanError(Chain(Source(), std::make_unique<CollectingSink>(&out, options)), message);
  };
  expect("txt",
         "collect needs field 'txt' (string) but upstream only produces text:string (did you "
         "mean 'text'?)");
  expect("sentence",
         "collect needs field 'sentence' (string) but upstream only produces text:string (did "
         "you mean 'sentences'?); 'sentences' comes from sentences");
  expect("src_ids",
         "collect needs field 'src_ids' (string) but upstream only produces text:string; "
         "'src_ids' comes from tokenize --field src");
  expect("mlm_ids",
         "collect needs field 'mlm_ids' (string) but upstream only produces text:string; "
         "'mlm_ids' comes from mlm");
  expect("zzzzzz", "collect needs field 'zzzzzz' (string) but upstream only produces text:string");
}

TEST(PlanTest, ValidateRunsAtPlanTime) {
  CollectedOutput out;
  EXPECT_THROW(Plan::Build(Chain(Source(), std::make_unique<RejectingTransform>(),
                                 std::make_unique<CollectingSink>(&out)),
                           Context()),
               IoError);
}

TEST(SchemaTest, RequireMessages) {
  const Schema empty;
  const Schema schema({Field{"text", FieldType::kString}, Field{"ids", FieldType::kString}});
  EXPECT_EQ(&schema.Require("text", FieldType::kString, "x"), &schema.fields()[0]);
  try {
    empty.Require("text", FieldType::kString, "write");
    ADD_FAILURE();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "write needs field 'text' (string) but upstream produces no fields");
  }
  try {
    schema.Require("tgt", FieldType::kString, "tokenize");
    ADD_FAILURE();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "tokenize needs field 'tgt' (string) but upstream only produces text:string, "
                 "ids:string");
  }
  try {
    schema.Require("ids", FieldType::kInt32List, "write-megatron");
    ADD_FAILURE();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "write-megatron needs field 'ids' (int32-list) but upstream 'ids' is string");
  }
}

TEST(PlanTest, CutsAtBreakersAndThreadsTheSchema) {
  CollectedOutput out;
  const Plan plan = Plan::Build(Chain(Source(), Predicate(), std::make_unique<BufferingBreaker>(),
                                      std::make_unique<RecordIndexTransform>(), Predicate(),
                                      std::make_unique<CollectingSink>(&out)),
                                Context());
  ASSERT_EQ(plan.pipelines().size(), 2u);
  EXPECT_EQ(plan.pipelines()[0].source, 0u);
  EXPECT_EQ(plan.pipelines()[0].transforms, (std::vector<size_t>{1}));
  EXPECT_EQ(plan.pipelines()[0].sink, 2u);
  EXPECT_EQ(plan.pipelines()[1].source, 2u);
  EXPECT_EQ(plan.pipelines()[1].transforms, (std::vector<size_t>{3, 4}));
  EXPECT_EQ(plan.pipelines()[1].sink, 5u);
  EXPECT_EQ(plan.labels(), (std::vector<std::string>{"vector-source", "predicate#1", "buffer",
                                                     "record-index", "predicate#2", "collect"}));
  EXPECT_EQ(plan.schemas()[1].ToString(), "text:string");
  EXPECT_EQ(plan.schemas()[3].ToString(), "text:string, record_index:string");
  EXPECT_EQ(plan.schemas()[5].ToString(), "text:string, record_index:string");
}

TEST(PlanTest, DryRunTextListsPipelinesStagesAndSchemas) {
  CollectedOutput out;
  const Plan plan = Plan::Build(
      Chain(Source(), Predicate(), std::make_unique<BufferingBreaker>(),
            std::make_unique<RecordIndexTransform>(), std::make_unique<CollectingSink>(&out)),
      Context());
  EXPECT_EQ(plan.ToString(),
            "pipeline 1 of 2:\n"
            "  source    vector-source: 3 records, 2 per batch -> text\n"
            "      -> text:string\n"
            "  transform predicate: predicate\n"
            "      -> text:string\n"
            "  breaker   buffer: buffer\n"
            "      -> text:string\n"
            "pipeline 2 of 2:\n"
            "  breaker   buffer: buffer\n"
            "      -> text:string\n"
            "  transform record-index: record-index\n"
            "      -> text:string, record_index:string\n"
            "  sink      collect: collect\n"
            "      -> text:string, record_index:string\n");
}

TEST(PlanTest, SinglePipelineDryRun) {
  CollectedOutput out;
  const Plan plan = Plan::Build(Chain(Source(), std::make_unique<CollectingSink>(&out)), Context());
  EXPECT_EQ(plan.ToString(),
            "pipeline 1 of 1:\n"
            "  source    vector-source: 3 records, 2 per batch -> text\n"
            "      -> text:string\n"
            "  sink      collect: collect\n"
            "      -> text:string\n");
}

}  // namespace
}  // namespace corpusflow
