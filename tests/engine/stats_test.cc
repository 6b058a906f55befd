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
  shuffle.Set("big figure", 51380200.5);
  shuffle.SetInteger("memory_budget_bytes", 268435456);
  shuffle.SetInteger("seed", 18446744073709551615ull);
  shuffle.Set("nan", std::nan(""));
  OperatorStats& write = stats.AddOperator("write");
  write.records_in = 8;
  stats.RecordOutputs({{2, OutputFile{"out-00000-of-00002.txt", 40}},
                       {2, OutputFile{"out-00001-of-00002.txt", 2}},
                       {-1, OutputFile{"unowned", 1}}},
                      {false, false, true});
  EXPECT_EQ(
      stats.ToJson(),
      "{\n"
      "  \"schema\": \"corpusflow-stats\", \"version\": 1,\n"
      "  \"status\": \"error\",\n"
      "  \"error\": \"bad \\\"input\\\"\\n\",\n"
      "  \"elapsed_seconds\": 1.5,\n"
      "  \"peak_rss_bytes\": 123456789,\n"
      "  \"records_in\": 10, \"records_out\": 8, \"records_dropped\": 3,\n"
      "  \"outputs\": [],\n"
      "  \"operators\": [\n"
      "    {\"name\": \"read\", \"records_in\": 0, \"records_out\": 10, \"bytes_in\": 0, "
      "\"bytes_out\": 300, \"wall_seconds\": 2.5, \"cpu_seconds\": 0.000001,\n"
      "     \"dropped\": {\"bad_utf8\": 1, \"empty\": 2}, \"counters\": {\"files\": 3, "
      "\"format\": \"jsonl\"}, \"outputs\": []},\n"
      "    {\"name\": \"shuffle\", \"records_in\": 0, \"records_out\": 0, \"bytes_in\": 0, "
      "\"bytes_out\": 0, \"wall_seconds\": 0, \"cpu_seconds\": 0,\n"
      "     \"dropped\": {}, \"counters\": {\"big_figure\": 51380200.5, \"memory_budget_bytes\": "
      "268435456, \"nan\": null, \"ratio\": 0.123457, \"seed\": 18446744073709551615}, "
      "\"outputs\": []},\n"
      "    {\"name\": \"write\", \"records_in\": 8, \"records_out\": 0, \"bytes_in\": 0, "
      "\"bytes_out\": 42, \"wall_seconds\": 0, \"cpu_seconds\": 0,\n"
      "     \"dropped\": {}, \"counters\": {}, \"outputs\": []}\n"
      "  ]\n"
      "}\n");
  EXPECT_EQ(shuffle.values().at("seed"), 18446744073709551615.0);
  // Only a run that succeeded lists its files: a failed run's are removed.
  stats.status = "ok";
  const std::string ok = stats.ToJson();
  const std::string files =
      "\"outputs\": [{\"path\": \"out-00000-of-00002.txt\", \"bytes\": 40}, {\"path\": "
      "\"out-00001-of-00002.txt\", \"bytes\": 2}]";
  EXPECT_NE(ok.find("\n  " + files + ",\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("\"bytes_out\": 42, "), std::string::npos) << ok;
  EXPECT_NE(ok.find("\"counters\": {}, " + files + "}\n"), std::string::npos) << ok;
  // Recorded once: a second call changes nothing.
  stats.RecordOutputs({{2, OutputFile{"again", 7}}}, {false, false, true});
  EXPECT_EQ(write.bytes_out.load(), 42u);
  EXPECT_EQ(stats.outputs().size(), 2u);
}

TEST(RunStatsTest, EmptyRun) {
  RunStats stats;
  EXPECT_EQ(stats.ToJson(),
            "{\n  \"schema\": \"corpusflow-stats\", \"version\": 1,\n  \"status\": \"ok\",\n"
            "  \"elapsed_seconds\": 0,\n  \"peak_rss_bytes\": 0,\n"
            "  \"records_in\": 0, \"records_out\": 0, \"records_dropped\": 0,\n"
            "  \"outputs\": [],\n  \"operators\": [\n  ]\n}\n");
}

// Drop reasons and names made of a field name become snake_case keys.
TEST(RunStatsTest, KeysAreSnakeCase) {
  EXPECT_EQ(StatsKey("invalid UTF-8"), "invalid_utf_8");
  EXPECT_EQ(StatsKey("longer than --max-record-bytes"), "longer_than_max_record_bytes");
  EXPECT_EQ(StatsKey("src_ids.tokens"), "src_ids_tokens");
  EXPECT_EQ(StatsKey("missing field 'Title'"), "missing_field_title");
  EXPECT_EQ(StatsKey("fewer than 3 sentences"), "fewer_than_3_sentences");
  EXPECT_EQ(StatsKey("already_snake"), "already_snake");
  // Two reasons that map to one key are added up.
  RunStats stats;
  OperatorStats& op = stats.AddOperator("read");
  op.Drop("empty text", 2);
  op.Drop("empty-text", 3);
  EXPECT_NE(stats.ToJson().find("\"dropped\": {\"empty_text\": 5}"), std::string::npos)
      << stats.ToJson();
}

// The one-line summary: exact counts, drops by operator and reason, the files with sizes.
TEST(RunStatsTest, SummaryLineIsOneLineOfExactCounts) {
  RunStats stats;
  stats.elapsed_seconds = 2;
  OperatorStats& read = stats.AddOperator("read");
  read.records_out = 208227;
  read.bytes_out = 4000000;
  read.Drop("malformed JSON", 3);
  OperatorStats& write = stats.AddOperator("write-megatron");
  write.records_in = 208224;
  stats.RecordOutputs({{1, OutputFile{"ds.bin", 2048}}, {1, OutputFile{"ds.idx", 100}}},
                      {false, true});
  EXPECT_EQ(stats.SummaryLine(),
            "done: 208,227 records in, 208,224 out, 3 dropped (read: malformed JSON 3); wrote "
            "ds.bin (2.00 KiB), ds.idx (100 B); 2.0s, 2.0 MB/s\n");
  stats.RecordOutputs({}, {});
  RunStats many;
  many.AddOperator("gen");
  many.AddOperator("write");
  many.RecordOutputs({{1, OutputFile{"a", 1024}},
                      {1, OutputFile{"b", 1024}},
                      {1, OutputFile{"<stdout>", std::nullopt}}},
                     {false, true});
  EXPECT_EQ(many.SummaryLine(),
            "done: 0 records in, 0 out; wrote 3 files (2.00 KiB, first a); 0.0s, 0.0 MB/s\n");
}

}  // namespace
}  // namespace corpusflow
