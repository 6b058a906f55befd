#include "engine/check.h"

#include <gtest/gtest.h>

#include <string>

namespace corpusflow {
namespace {

TEST(CheckDeathTest, FailedCheckNamesFileLineConditionAndMessage) {
  const int buckets = 3;
  EXPECT_DEATH(CF_CHECK(buckets == 4, "bucket count " + std::to_string(buckets)),
               "corpusflow: check failed at .*check_test.cc:[0-9]+: buckets == 4: bucket count 3");
  EXPECT_DEATH(CF_CHECK(buckets < 0), "check failed at .*check_test.cc:[0-9]+: buckets < 0\n");
}

TEST(CheckTest, PassingCheckEvaluatesTheConditionOnceAndNotTheMessage) {
  int evaluated = 0, messages = 0;
  CF_CHECK(++evaluated == 1, (++messages, "never"));
  EXPECT_EQ(evaluated, 1);
  EXPECT_EQ(messages, 0);
}

TEST(CheckDeathTest, DcheckRunsOnlyInDebugBuilds) {
  int evaluated = 0;
  CF_DCHECK(++evaluated > 0);
#ifdef NDEBUG
  EXPECT_EQ(evaluated, 0);
  CF_DCHECK(evaluated == 1, "not evaluated in release builds");
#else
  EXPECT_EQ(evaluated, 1);
  EXPECT_DEATH(CF_DCHECK(evaluated == 2, "two"), "check failed at .*: evaluated == 2: two");
#endif
}

}  // namespace
}  // namespace corpusflow
