// End-to-end tests of resumable runs (`--checkpoint DIR`, docs/resume.md) through the real
// binary: a run killed with SIGKILL at random moments of pass 1, pass 2 and the final commit,
// resumed each time, writes the bytes of an uninterrupted run without a checkpoint, redoes at
// most one task per kill and leaves nothing behind; a changed command, option or input is
// refused; `corpusflow status` shows what a checkpoint holds; what cannot be resumed is refused
// before any work.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/io/checkpoint.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/resume_testing.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::WriteFile;

/// A counter of the --stats-json document `json` (the first operator that has it), -1 if none.
int64_t Counter(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\": ";
  const size_t at = json.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(json.substr(at + key.size()));
}

/// A spilling shuffle of `dir`/in.txt into `dir`/`out` (seed 3, 2M of memory, 64K slices, its
/// temp files in `dir`), without a checkpoint.
std::vector<std::string> SmallShuffle(const ScopedTempDir& dir, const std::string& out) {
  return {"shuffle",
          dir.File("in.txt"),
          "-o",
          dir.File(out),
          "--seed",
          "3",
          "--memory",
          "2M",
          "--slice-bytes",
          "64K",
          "--progress",
          "never",
          "--tmp-dir",
          dir.path().string()};
}

/// Where a kill lands: the moments of KillPointForTest whose name holds `where`, the kill at one
/// of the first `most` of them.
struct KillKind {
  std::string where;
  uint64_t most;
};

/// Kill `command` (which writes `outputs`, checkpointed in `checkpoint`, its report in
/// `report`) 20 times at random moments of each kind in turn, resuming it after each kill and
/// starting it over once a run completes; then resume it to its end. Every completed run's
/// outputs must equal `expected` (name -> bytes) and leave no checkpoint, no temp file beside
/// the outputs, and its report must count at most one task redone.
void KillAndResume(const std::vector<std::string>& command, const std::vector<std::string>& outputs,
                   const std::vector<std::string>& expected, const std::filesystem::path& dir,
                   const std::string& checkpoint, const std::string& report,
                   const std::vector<KillKind>& kinds, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> kills_of(kinds.size(), 0);
  int completed = 0;
  const auto check_completed = [&](const CommandResult& r) {
    ++completed;
    for (size_t i = 0; i < outputs.size(); ++i) {
      EXPECT_EQ(ReadFile(outputs[i]), expected[i]) << outputs[i] << "\n" << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(checkpoint)) << r.err;
    for (const std::string& name : ListDir(dir)) {
      EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    }
    const std::string stats = ReadFile(report);
    EXPECT_LE(Counter(stats, "checkpoint_tasks_redone"), 1) << stats;
    EXPECT_EQ(Counter(stats, "checkpoint_tasks_resumed") + Counter(stats, "checkpoint_tasks_run"),
              Counter(stats, "checkpoint_tasks"))
        << stats;
    for (const std::string& output : outputs) std::filesystem::remove(output);
  };
  for (int kill = 0; kill < 20; ++kill) {
    const size_t kind = static_cast<size_t>(kill) % kinds.size();
    const uint64_t at = 1 + rng() % kinds[kind].most;
    SCOPED_TRACE("kill " + std::to_string(kill) + " at " + kinds[kind].where + " #" +
                 std::to_string(at));
    const CommandResult r = RunCorpusflow(command, "",
                                          {"CORPUSFLOW_TEST_KILL_AT=" + std::to_string(at),
                                           "CORPUSFLOW_TEST_KILL_WHERE=" + kinds[kind].where});
    if (r.exit_code == 0) {
      // Fewer moments of that kind were left: the run ended.
      check_completed(r);
      continue;
    }
    ASSERT_EQ(r.exit_code, 128 + 9) << r.err;
    ASSERT_NE(r.err.find("corpusflow: test kill at"), std::string::npos) << r.err;
    ASSERT_NE(r.err.find(kinds[kind].where), std::string::npos) << r.err;
    ++kills_of[kind];
    // What the checkpoint holds is never an output: none of them exists before the commit.
    if (r.err.find("the commit of the outputs") == std::string::npos) {
      for (const std::string& output : outputs) {
        EXPECT_FALSE(std::filesystem::exists(output)) << output;
      }
    }
  }
  if (std::filesystem::exists(checkpoint)) {
    const CommandResult last = RunCorpusflow(command);
    ASSERT_EQ(last.exit_code, 0) << last.err;
    check_completed(last);
  }
  for (size_t k = 0; k < kinds.size(); ++k) {
    EXPECT_GT(kills_of[k], 0) << "no kill landed at " << kinds[k].where;
  }
  EXPECT_GT(completed, 0);
}

/// Rewrite the journal entries of the checkpoint in `ck` as if another boot of the machine had
/// written them; returns how many there are.
int SayAnotherBootWroteTheEntries(const std::string& ck) {
  int entries = 0;
  for (const std::string& name : ListDir(ck + "/tasks")) {
    if (name.size() < 5 || name.substr(name.size() - 5) != ".done") continue;
    const std::string path = ck + "/tasks/" + name;
    std::string entry = ReadFile(path);
    const size_t at = entry.find("value\tboot\t");
    if (at == std::string::npos) ADD_FAILURE() << entry;
    if (at == std::string::npos) continue;
    const size_t end = entry.find('\n', at);
    entry.replace(at, end - at, "value\tboot\tanother-boot");
    WriteFile(path, entry);
    ++entries;
  }
  return entries;
}

/// Lines of varied length, a few MB.
std::string Lines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += std::to_string(i) + (i % 3 == 0 ? " 中文語料 " : " text ") +
            std::string(static_cast<size_t>(i * 7919 % 97), static_cast<char>('a' + i % 26)) + "\n";
  }
  return text;
}

TEST(ResumeTest, ASpillingShuffleKilledTwentyTimesWritesTheBytesOfOneUninterruptedRun) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(40000));
  const std::vector<std::string> options = {
      "--seed", "3",          "--slice-bytes", "64K",       "--memory",
      "2M",     "--progress", "never",         "--tmp-dir", dir.path().string()};
  std::vector<std::string> plain = {"shuffle", dir.File("in.txt"), "-o", dir.File("plain.txt")};
  plain.insert(plain.end(), options.begin(), options.end());
  plain.insert(plain.end(), {"--stats-json", dir.File("plain.json")});
  const CommandResult reference = RunCorpusflow(plain);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  // The uninterrupted run spills: the shuffle does not fit its memory.
  ASSERT_GT(Counter(ReadFile(dir.File("plain.json")), "spill_files"), 0);
  const std::string expected = ReadFile(dir.File("plain.txt"));

  std::vector<std::string> command = {"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt")};
  command.insert(command.end(), options.begin(), options.end());
  command.insert(command.end(),
                 {"--checkpoint", dir.File("ck"), "--stats-json", dir.File("out.json")});
  std::filesystem::remove(dir.File("plain.txt"));
  std::filesystem::remove(dir.File("plain.json"));
  KillAndResume(command, {dir.File("out.txt")}, {expected}, dir.path(), dir.File("ck"),
                dir.File("out.json"),
                {{"input task", 12}, {"output task", 12}, {"of the outputs", 2}}, 20261206);
}

TEST(ResumeTest, APegasusPipelineToMegatronKilledTwentyTimesWritesTheBytesOfOneUninterruptedRun) {
  ScopedTempDir dir;
  testing::WritePegasusInputs(dir);
  const auto pipeline = [&](const std::string& out) { return testing::PegasusPipeline(dir, out); };
  const std::vector<std::string> options = {"--slice-bytes", "32K",       "--progress",
                                            "never",         "--tmp-dir", dir.path().string()};
  std::vector<std::string> plain = {"run", pipeline("plain")};
  plain.insert(plain.end(), options.begin(), options.end());
  const CommandResult reference = RunCorpusflow(plain);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  std::vector<std::string> outputs, expected;
  for (const std::string& suffix : testing::PegasusOutputSuffixes()) {
    outputs.push_back(dir.File("out" + suffix));
    expected.push_back(ReadFile(dir.File("plain" + suffix)));
    std::filesystem::remove(dir.File("plain" + suffix));
  }
  std::vector<std::string> command = {"run", pipeline("out")};
  command.insert(command.end(), options.begin(), options.end());
  command.insert(command.end(),
                 {"--checkpoint", dir.File("ck"), "--stats-json", dir.File("out.json")});
  KillAndResume(command, outputs, expected, dir.path(), dir.File("ck"), dir.File("out.json"),
                {{"input task", 10}, {"output task", 10}, {"of the outputs", 7}}, 5);
}

TEST(ResumeTest, APipelineWithoutABreakerResumesFromItsParts) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(20000));
  const std::string pipeline =
      "read " + dir.File("in.txt") + " | filter --min-chars 12 | write " + dir.File("out.txt");
  const CommandResult plain = RunCorpusflow(
      {"run",
       "read " + dir.File("in.txt") + " | filter --min-chars 12 | write " + dir.File("plain.txt"),
       "--progress", "never", "--stats-json", dir.File("plain.json")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::vector<std::string> command = {
      "run",   pipeline,       "--slice-bytes", "32K",          "--progress",
      "never", "--checkpoint", dir.File("ck"),  "--stats-json", dir.File("out.json")};
  // Killed as it commits its fourth task: three committed, each with its part of the output.
  const CommandResult killed = RunCorpusflow(
      command, "", {"CORPUSFLOW_TEST_KILL_AT=4", "CORPUSFLOW_TEST_KILL_WHERE=the commit of"});
  ASSERT_EQ(killed.exit_code, 137) << killed.err;
  const CommandResult status = RunCorpusflow({"status", dir.File("ck")});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("input tasks   3 of 38 committed"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("unfinished    1 task"), std::string::npos) << status.out;
  const CommandResult resumed = RunCorpusflow(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("out.txt")), ReadFile(dir.File("plain.txt")));
  // The report counts every record once: the committed tasks' figures and this run's.
  const std::string a = ReadFile(dir.File("plain.json"));
  const std::string b = ReadFile(dir.File("out.json"));
  EXPECT_EQ(Counter(b, "records_in"), Counter(a, "records_in"));
  EXPECT_EQ(Counter(b, "records_dropped"), Counter(a, "records_dropped"));
  // One file written, as without a checkpoint (not one per task).
  EXPECT_NE(b.find("\"counters\": {\"files\": 1, \"output_bytes\""), std::string::npos) << b;
  EXPECT_EQ(Counter(b, "checkpoint_tasks_resumed"), 3) << b;
  EXPECT_EQ(Counter(b, "checkpoint_tasks_run"), 35) << b;
  EXPECT_EQ(Counter(b, "checkpoint_tasks_redone"), 1) << b;
  EXPECT_FALSE(std::filesystem::exists(dir.File("ck")));
}

TEST(ResumeTest, AChangedCommandOrInputIsRefusedAndRestartDiscardsTheCheckpoint) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(20000));
  const auto command = [&](const std::string& seed) {
    return std::vector<std::string>{
        "shuffle",      dir.File("in.txt"), "-o",  dir.File("out.txt"), "--seed",
        seed,           "--slice-bytes",    "32K", "--progress",        "never",
        "--checkpoint", dir.File("ck")};
  };
  const CommandResult killed = RunCorpusflow(command("1"), "", {"CORPUSFLOW_TEST_KILL_AT=5"});
  ASSERT_EQ(killed.exit_code, 137) << killed.err;
  const CommandResult other = RunCorpusflow(command("2"));
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("cannot resume the checkpoint in " + dir.File("ck") +
                           ": it is of another command"),
            std::string::npos)
      << other.err;
  // --threads and --memory may change.
  std::vector<std::string> more = command("1");
  more.insert(more.end(), {"--threads", "1", "--memory", "64M"});
  WriteFile(dir.File("in.txt"), Lines(20000) + "one more line\n");
  const CommandResult changed = RunCorpusflow(more);
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_NE(changed.err.find("the input " + dir.File("in.txt") + " changed since"),
            std::string::npos)
      << changed.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt")));
  more.push_back("--restart");
  const CommandResult restarted = RunCorpusflow(more);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  const CommandResult plain =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "--seed", "1", "--slice-bytes", "32K"});
  EXPECT_EQ(ReadFile(dir.File("out.txt")), plain.out);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"in.txt", "out.txt"}));
}

TEST(ResumeTest, WhatCannotBeResumedIsRefusedBeforeAnyWork) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(100));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string ck = dir.File("ck");
  const std::vector<Case> cases = {
      {{"shuffle", dir.File("in.txt"), "-o", dir.File("o.txt"), "--checkpoint", ck},
       "shuffle cannot run in a checkpointed run: a resumed shuffle must draw the same order: "
       "give --seed N"},
      {{"shuffle", dir.File("in.txt"), "--seed", "1", "--checkpoint", ck},
       "write cannot run in a checkpointed run: stdout cannot be joined"},
      {{"run", "read " + dir.File("in.txt") + " | head --count 3 | write " + dir.File("o.txt"),
        "--checkpoint", ck},
       "head cannot run in a checkpointed run"},
      {{"run", "read " + dir.File("in.txt") + " | vocab -o " + dir.File("v.txt"), "--checkpoint",
        ck},
       "vocab cannot run in a checkpointed run"},
      {{"run", "read " + dir.File("in.txt") + " | write " + dir.File("o.txt") + " --shards 2",
        "--checkpoint", ck},
       "write cannot run in a checkpointed run: sharded output is not resumable yet"},
      {{"run",
        "read " + dir.File("in.txt") + " | parse-ids | pack --mode best-fit --length 8 | write " +
            dir.File("o.jsonl"),
        "--checkpoint", ck},
       "pack cannot run in a checkpointed run: it packs the whole stream of documents, in order, "
       "in one process"},
      {{"run", "read " + dir.File("in.txt") + " | write " + dir.File("o.txt"), "--restart"},
       "--restart discards a checkpoint: give it with --checkpoint DIR"},
  };
  for (const Case& c : cases) {
    const CommandResult r = RunCorpusflow(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"});
  // A folder that holds other files is not taken for a checkpoint.
  std::filesystem::create_directory(dir.File("mine"));
  WriteFile(dir.File("mine/notes.txt"), "mine");
  const CommandResult r = RunCorpusflow({"shuffle", dir.File("in.txt"), "--seed", "1", "-o",
                                         dir.File("o.txt"), "--checkpoint", dir.File("mine")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holds files but no checkpoint"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir.File("mine/notes.txt")), "mine");
}

TEST(ResumeTest, TasksOfAnotherBootAreCheckedAndThoseWhoseFilesDidNotSurviveAreDoneAgain) {
  // The records of input tasks and the bytes appended to the outputs are not synced: a machine
  // that restarts may lose them. A run on another boot checks them against their checksums.
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(40000));
  ASSERT_EQ(RunCorpusflow(SmallShuffle(dir, "plain.txt")).exit_code, 0);
  const std::string expected = ReadFile(dir.File("plain.txt"));
  std::vector<std::string> command = SmallShuffle(dir, "out.txt");
  command.insert(command.end(),
                 {"--checkpoint", dir.File("ck"), "--stats-json", dir.File("out.json")});
  // Killed as it commits its third output task: every input task and two output tasks are
  // committed; then the entries say that another boot of the machine wrote them.
  const auto killed_on_another_boot = [&] {
    const CommandResult killed = RunCorpusflow(
        command, "",
        {"CORPUSFLOW_TEST_KILL_AT=3", "CORPUSFLOW_TEST_KILL_WHERE=the commit of an output task"});
    ASSERT_EQ(killed.exit_code, 137) << killed.err;
    ASSERT_GT(SayAnotherBootWroteTheEntries(dir.File("ck")), 3);
  };

  // Nothing lost: every committed task is checked and kept; the killed one is done again.
  killed_on_another_boot();
  CommandResult resumed = RunCorpusflow(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("out.txt")), expected);
  std::string stats = ReadFile(dir.File("out.json"));
  EXPECT_EQ(Counter(stats, "checkpoint_tasks_redone"), 1) << stats;
  std::filesystem::remove(dir.File("out.txt"));

  // One byte of input task 1's records and the first byte appended to the output lost: that
  // input task and every output task are done again, and the bytes are those of one run.
  killed_on_another_boot();
  const std::string records = dir.File("ck/tasks/input-00000001/records");
  std::string bytes = ReadFile(records);
  ASSERT_GT(bytes.size(), 200u);
  bytes[100] ^= 1;
  WriteFile(records, bytes);
  std::string appended;
  for (const std::string& name : ListDir(dir.path())) {
    if (name.find("-appended") != std::string::npos) appended = dir.File(name);
  }
  ASSERT_FALSE(appended.empty());
  bytes = ReadFile(appended);
  bytes[0] ^= 1;
  WriteFile(appended, bytes);
  resumed = RunCorpusflow(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("out.txt")), expected);
  stats = ReadFile(dir.File("out.json"));
  // The killed task, input task 1, output tasks 0 and 1.
  EXPECT_EQ(Counter(stats, "checkpoint_tasks_redone"), 4) << stats;
  EXPECT_FALSE(std::filesystem::exists(dir.File("ck")));
}

TEST(ResumeTest, OutputTasksFixedInADamagedManifestAreRefused) {
  // The output tasks are fixed in the checkpoint's manifest once pass 1 is done, as the first key
  // range of each. A list that is empty or starts past the first range would lose the records of
  // the ranges before it (or index past the tasks): the resume refuses it.
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(40000));
  std::vector<std::string> command = SmallShuffle(dir, "out.txt");
  command.insert(command.end(), {"--checkpoint", dir.File("ck")});
  const std::string manifest = dir.File(std::string("ck/") + kCheckpointManifest);
  for (const std::string damaged : {"", "1,2"}) {
    SCOPED_TRACE("output_groups '" + damaged + "'");
    std::filesystem::remove_all(dir.File("ck"));
    const CommandResult killed = RunCorpusflow(
        command, "",
        {"CORPUSFLOW_TEST_KILL_AT=1", "CORPUSFLOW_TEST_KILL_WHERE=the commit of an output task"});
    ASSERT_EQ(killed.exit_code, 137) << killed.err;
    std::string text = ReadFile(manifest);
    const size_t at = text.find("plan\toutput_groups\t");
    ASSERT_NE(at, std::string::npos) << text;
    const size_t value = at + std::string("plan\toutput_groups\t").size();
    text.replace(value, text.find('\n', value) - value, damaged);
    WriteFile(manifest, text);
    const CommandResult resumed = RunCorpusflow(command);
    EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
    EXPECT_NE(resumed.err.find("are not runs of its key ranges; give --restart"), std::string::npos)
        << resumed.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt")));
  }
}

TEST(ResumeTest, APartDamagedOnAnotherBootIsDoneAgainWithTheTasksAfterIt) {
  ScopedTempDir dir;
  std::string ids;
  for (int i = 0; i < 20000; ++i) ids += std::to_string(i % 300) + " " + std::to_string(i) + "\n";
  WriteFile(dir.File("in.txt"), ids);
  const auto command = [&](const std::string& out) {
    return std::vector<std::string>{"run",
                                    "read " + dir.File("in.txt") +
                                        " | parse-ids --field text --output ids | write-megatron " +
                                        dir.File(out),
                                    "--slice-bytes",
                                    "32K",
                                    "--progress",
                                    "never",
                                    "--checkpoint",
                                    dir.File("ck"),
                                    "--stats-json",
                                    dir.File("out.json")};
  };
  ASSERT_EQ(RunCorpusflow(command("plain")).exit_code, 0);
  // Killed as it commits its fourth task: three committed, each with its part of the index.
  const CommandResult killed =
      RunCorpusflow(command("out"), "",
                    {"CORPUSFLOW_TEST_KILL_AT=4", "CORPUSFLOW_TEST_KILL_WHERE=the commit of"});
  ASSERT_EQ(killed.exit_code, 137) << killed.err;
  ASSERT_EQ(SayAnotherBootWroteTheEntries(dir.File("ck")), 3);
  const std::string part = dir.File("ck/tasks/input-00000001/part-1");
  std::string bytes = ReadFile(part);
  ASSERT_GT(bytes.size(), 40u);
  bytes[bytes.size() - 3] ^= 1;
  WriteFile(part, bytes);
  const CommandResult resumed = RunCorpusflow(command("out"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const std::string suffix : {"_ids_document.bin", "_ids_document.idx"}) {
    EXPECT_EQ(ReadFile(dir.File("out" + suffix)), ReadFile(dir.File("plain" + suffix))) << suffix;
  }
  // The killed task, and tasks 1 and 2 (the outputs are appended to: task 2's bytes come after
  // task 1's); task 0 was checked and kept.
  const std::string stats = ReadFile(dir.File("out.json"));
  EXPECT_EQ(Counter(stats, "checkpoint_tasks_redone"), 3) << stats;
  EXPECT_EQ(Counter(stats, "checkpoint_tasks_resumed"), 1) << stats;
}

TEST(ResumeTest, OutputTasksThatOutgrowASmallerBudgetAreShuffledOutOfCore) {
  // The output tasks are made to fit the budget of the run that ends pass 1; a resumed run given
  // far less --memory shuffles each task's key ranges one at a time through a RecordShuffler
  // (which spills what does not fit).
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), Lines(40000));
  const auto command = [&](const std::string& memory, const std::string& out) {
    return std::vector<std::string>{"shuffle",
                                    dir.File("in.txt"),
                                    "-o",
                                    dir.File(out),
                                    "--seed",
                                    "5",
                                    "--slice-bytes",
                                    "64K",
                                    "--memory",
                                    memory,
                                    "--progress",
                                    "never",
                                    "--tmp-dir",
                                    dir.path().string(),
                                    "--checkpoint",
                                    dir.File("ck"),
                                    "--stats-json",
                                    dir.File("out.json")};
  };
  std::vector<std::string> plain = command("64M", "plain.txt");
  plain.resize(plain.size() - 4);  // no checkpoint, no report
  ASSERT_EQ(RunCorpusflow(plain).exit_code, 0);
  const CommandResult killed = RunCorpusflow(
      command("64M", "out.txt"), "",
      {"CORPUSFLOW_TEST_KILL_AT=1", "CORPUSFLOW_TEST_KILL_WHERE=the commit of an output task"});
  ASSERT_EQ(killed.exit_code, 137) << killed.err;
  const CommandResult resumed = RunCorpusflow(command("1M", "out.txt"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadFile(dir.File("out.txt")), ReadFile(dir.File("plain.txt")));
  const std::string stats = ReadFile(dir.File("out.json"));
  EXPECT_GT(Counter(stats, "output_tasks_out_of_core"), 0) << stats;
}

TEST(ResumeTest, ADamagedPartOrAShortenedOutputIsFoundBeforeAnyOutputIsReplaced) {
  ScopedTempDir dir;
  std::string ids;
  for (int i = 0; i < 20000; ++i) ids += std::to_string(i % 300) + " " + std::to_string(i) + "\n";
  WriteFile(dir.File("in.txt"), ids);
  const std::vector<std::string> command = {
      "run",
      "read " + dir.File("in.txt") + " | parse-ids --field text --output ids | write-megatron " +
          dir.File("out"),
      "--slice-bytes",
      "32K",
      "--progress",
      "never",
      "--checkpoint",
      dir.File("ck")};
  const auto killed_at_the_join = [&] {
    const CommandResult killed = RunCorpusflow(
        command, "", {"CORPUSFLOW_TEST_KILL_AT=1", "CORPUSFLOW_TEST_KILL_WHERE=the join"});
    ASSERT_EQ(killed.exit_code, 137) << killed.err;
  };
  killed_at_the_join();
  // One byte of the first task's part of the index changes: the join finds it.
  const std::string part = dir.File("ck/tasks/input-00000000/part-1");
  std::string bytes = ReadFile(part);
  ASSERT_GT(bytes.size(), 40u);
  bytes[bytes.size() - 3] ^= 1;
  WriteFile(part, bytes);
  CommandResult resumed = RunCorpusflow(command);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.err.find(part + ", a part of " + dir.File("out_ids_document.idx") +
                             " in the checkpoint, is missing or damaged"),
            std::string::npos)
      << resumed.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("out_ids_document.bin")));
  // The .bin the tasks appended to, cut short: found before any task runs.
  const CommandResult restarted = RunCorpusflow(
      [&] {
        std::vector<std::string> args = command;
        args.push_back("--restart");
        return args;
      }(),
      "", {"CORPUSFLOW_TEST_KILL_AT=1", "CORPUSFLOW_TEST_KILL_WHERE=the join"});
  ASSERT_EQ(restarted.exit_code, 137) << restarted.err;
  std::string appended;
  for (const std::string& name : ListDir(dir.path())) {
    if (name.find("_ids_document.bin.tmp-") != std::string::npos &&
        name.find("-appended") != std::string::npos) {
      appended = dir.File(name);
    }
  }
  ASSERT_FALSE(appended.empty());
  std::filesystem::resize_file(appended, std::filesystem::file_size(appended) / 2);
  resumed = RunCorpusflow(command);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.err.find(", the output " + dir.File("out_ids_document.bin") +
                             " that a checkpointed run appends to, is missing or shorter"),
            std::string::npos)
      << resumed.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("out_ids_document.bin")));
  // --restart discards it all, what it appended to included, and runs to the end.
  std::vector<std::string> again = command;
  again.push_back("--restart");
  const CommandResult done = RunCorpusflow(again);
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"in.txt", "out_ids_document.bin", "out_ids_document.idx"}));
}

}  // namespace
}  // namespace corpusflow
