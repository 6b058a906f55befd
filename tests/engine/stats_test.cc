// Tests of the --stats-json document: its exact layout (one run-wide figure per line, two lines
// per operator), and figures written exactly when they are integers.
#include "engine/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace corpusflow {
namespace {

TEST(RunStatsTest, JsonLayoutIsExact) {
  RunStats stats;
  stats.elapsed_seconds = 1.5;
  stats.peak_rss_bytes = 123456789;
  stats.status = "error";
  stats.error = "bad \"input\"\n";
  OperatorStats& read = stats.AddOperator("read");
  read.records_out = 10;
  read.bytes_out = 300;
  read.wall_ns = 2500000000;
  read.cpu_ns = 1000;
  read.Drop("empty", 2);
  read.Drop("bad\tutf8");
  read.Add("files", 3);
  read.SetText("format", "jsonl");
  OperatorStats& shuffle = stats.AddOperator("shuffle");
  shuffle.Set("ratio", 0.123456789);
  shuffle.Set("memory budget bytes", 268435456.0);
  shuffle.SetInteger("seed", 18446744073709551615ull);
  shuffle.Set("nan", std::nan(""));
  EXPECT_EQ(
      stats.ToJson(),
      "{\n"
      "  \"status\": \"error\",\n"
      "  \"error\": \"bad \\\"input\\\"\\n\",\n"
      "  \"elapsed_seconds\": 1.5,\n"
      "  \"peak_rss_bytes\": 123456789,\n"
      "  \"operators\": [\n"
      "    {\"name\": \"read\", \"records_in\": 0, \"records_out\": 10, \"bytes_in\": 0, "
      "\"bytes_out\": 300, \"wall_seconds\": 2.5, \"cpu_seconds\": 1e-06,\n"
      "     \"dropped\": {\"bad\\tutf8\": 1, \"empty\": 2}, \"counters\": {\"files\": 3, "
      "\"format\": \"jsonl\"}},\n"
      "    {\"name\": \"shuffle\", \"records_in\": 0, \"records_out\": 0, \"bytes_in\": 0, "
      "\"bytes_out\": 0, \"wall_seconds\": 0, \"cpu_seconds\": 0,\n"
      "     \"dropped\": {}, \"counters\": {\"memory budget bytes\": 268435456, \"nan\": null, "
      "\"ratio\": 0.123457, \"seed\": 18446744073709551615}}\n"
      "  ]\n"
      "}\n");
  EXPECT_EQ(shuffle.values().at("seed"), 18446744073709551615.0);
}

TEST(RunStatsTest, EmptyRun) {
  RunStats stats;
  EXPECT_EQ(stats.ToJson(),
            "{\n  \"status\": \"ok\",\n  \"elapsed_seconds\": 0,\n  \"peak_rss_bytes\": 0,\n"
            "  \"operators\": [\n  ]\n}\n");
}

}  // namespace
}  // namespace corpusflow
