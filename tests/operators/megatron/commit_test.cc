// Tests of the commit of datasets (commit.h): outputs created as unique temp files (never through
// a planted symlink, never over a device or FIFO), every .bin before every .idx, the previous
// pair kept until the new one is in place and put back when a commit fails, and the SIGKILL test:
// a write-megatron rewrite killed before each step of its commit never leaves a mixed dataset.
#include "operators/megatron/commit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/megatron/writer.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/fault_file_system.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::FaultFileSystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;
using Document = testing::MegatronDocument;

/// The bytes of a dataset: its .bin and .idx ("" for a missing file).
struct Pair {
  std::string bin;
  std::string idx;
  bool operator==(const Pair&) const = default;
};

std::string ReadIfExists(const std::string& path) {
  return std::filesystem::exists(path) ? ReadFile(path) : std::string();
}

Pair ReadPair(const std::string& prefix) {
  return Pair{ReadIfExists(prefix + ".bin"), ReadIfExists(prefix + ".idx")};
}

/// Write `documents` as `prefix` through `run`'s file system and commit it alone.
void WriteThrough(const std::string& prefix, const std::vector<Document>& documents,
                  const std::filesystem::path& scratch, const RunFiles& run) {
  MegatronDatasetWriter writer(prefix, MegatronDType::kUInt16, scratch,
                               MegatronDatasetWriter::kDefaultBufferBytes, run);
  for (const Document& d : documents) {
    for (const auto& s : d) writer.AddSequence(s);
    writer.EndDocument();
  }
  writer.Commit();
}

const std::vector<Document> kOld = {{{1, 2, 3}}, {{4}}};
const std::vector<Document> kNew = {{{7, 8}}, {{9}, {10, 11}}, {}};

TEST(MegatronCommitTest, ReplacingADatasetLeavesOnlyTheNewPair) {
  ScopedTempDir dir;
  testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kOld, dir.path());
  testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kNew, dir.path());
  EXPECT_EQ(testing::ReadMegatronDocuments(dir.File("d")), kNew);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.bin", "d.idx"}));
}

TEST(MegatronCommitTest, BackupNamesAreHiddenBesideTheFile) {
  EXPECT_EQ(MegatronBackupPath("out/t_src_document.idx"), "out/.t_src_document.idx.prev");
  EXPECT_EQ(MegatronBackupPath("t.bin"), ".t.bin.prev");
}

// The old writer opened a fixed `PREFIX.bin.tmp` with O_TRUNC, following a symlink planted there.
TEST(MegatronCommitTest, APlantedSymlinkAtTheOldTempNameIsNeverFollowed) {
  ScopedTempDir dir;
  WriteFile(dir.File("victim"), "precious");
  std::filesystem::create_symlink(dir.File("victim"), dir.File("d.bin.tmp"));
  std::filesystem::create_symlink(dir.File("victim"), dir.File("d.idx.tmp"));
  testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kNew, dir.path());
  EXPECT_EQ(ReadFile(dir.File("victim")), "precious");
  EXPECT_EQ(testing::ReadMegatronDocuments(dir.File("d")), kNew);
}

// The old writer renamed its temp file over whatever had the name, a FIFO or a device included.
TEST(MegatronCommitTest, AFifoIsNeverReplaced) {
  ScopedTempDir dir;
  ASSERT_EQ(::mkfifo(dir.File("d.idx").c_str(), 0600), 0);
  try {
    testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kNew, dir.path());
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.File("d.idx") + ": it is not a regular file"),
              std::string::npos)
        << e.what();
  }
  struct stat st {};
  ASSERT_EQ(::lstat(dir.File("d.idx").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.idx"}));
}

TEST(MegatronCommitTest, FullDiskIsAnIoErrorAndLeavesNothing) {
  ScopedTempDir dir;
  ScopedTempDir scratch;
  testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kOld, dir.path());
  for (const std::string file : {".bin", ".idx"}) {
    FaultFileSystem fs;
    fs.set_path_filter("d" + file);
    fs.FailWritesFrom(1, ENOSPC);
    RunFiles run;
    run.file_system = &fs;
    try {
      WriteThrough(dir.File("d"), kNew, scratch.path(), run);
      FAIL() << "no error";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write " + dir.File("d" + file)),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos);
    }
    EXPECT_GT(fs.failed_writes(), 0u);
    // The previous dataset is untouched, and no temp or scratch file is left.
    EXPECT_EQ(testing::ReadMegatronDocuments(dir.File("d")), kOld);
    EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.bin", "d.idx"}));
    EXPECT_TRUE(ListDir(scratch.path()).empty());
  }
}

/// Fails the first rename onto one path, as a disk error would.
class FailRenameOnto : public FaultFileSystem {
 public:
  explicit FailRenameOnto(std::string target) : target_(std::move(target)) {}
  void Rename(const std::string& from, const std::string& to) override {
    if (to == target_ && !failed_) {
      failed_ = true;
      ThrowIoError("cannot rename " + from + " to", to, EIO);
    }
    FaultFileSystem::Rename(from, to);
  }

 private:
  std::string target_;
  bool failed_ = false;
};

TEST(MegatronCommitTest, AFailedCommitPutsThePreviousPairBack) {
  ScopedTempDir dir;
  testing::WriteMegatronDocuments(dir.File("d"), MegatronDType::kUInt16, kOld, dir.path());
  const Pair old = ReadPair(dir.File("d"));
  // The rename of the new .idx fails after the new .bin is in place; then the .bin's.
  for (const std::string file : {"d.idx", "d.bin"}) {
    FailRenameOnto fs(dir.File(file));
    RunFiles run;
    run.file_system = &fs;
    EXPECT_THROW(WriteThrough(dir.File("d"), kNew, dir.path(), run), IoError) << file;
    EXPECT_EQ(ReadPair(dir.File("d")), old) << file;
    EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.bin", "d.idx"})) << file;
  }
  // A new dataset whose .idx cannot be renamed leaves nothing.
  FailRenameOnto fs(dir.File("n.idx"));
  RunFiles run;
  run.file_system = &fs;
  EXPECT_THROW(WriteThrough(dir.File("n"), kNew, dir.path(), run), IoError);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.bin", "d.idx"}));
}

// --- SIGKILL between the renames of a rewrite --------------------------------------------------

/// Lines of ids for parse-ids: `n` records, ids below 1000, of lengths varying with `salt`.
std::string Ids(int n, int salt) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < (i * 7 + salt) % 11 + 1; ++j) {
      text += (j ? " " : "") + std::to_string((i * 31 + j * 17 + salt) % 1000);
    }
    text += "\n";
  }
  return text;
}

/// The pipeline writing `ids` as the datasets PREFIX_src_ids_document (uint16) and
/// PREFIX_tgt_ids_document (int32).
std::string Pipeline(const std::string& ids, const std::string& prefix) {
  return "read " + ids +
         " | parse-ids --output src_ids --vocab-size 1000"
         " | parse-ids --output tgt_ids --vocab-size 70000 | write-megatron " +
         prefix;
}

const std::vector<std::string> kFields = {"_src_ids_document", "_tgt_ids_document"};

/// Run corpusflow with the commit paused before step `step`, and SIGKILL it there. Returns
/// "killed", or "exit N" when it ended without reaching the step.
std::string RunKilledAtStep(const std::string& pipeline, int step, const std::string& err_file) {
  const std::string script =
      "\"$0\" run \"$1\" 2>\"$2\" & pid=$!\n"
      "until grep -q 'test pause' \"$2\"; do\n"
      "  if ! kill -0 $pid 2>/dev/null; then wait $pid; echo \"exit $?\"; exit 0; fi\n"
      "  sleep 0.02\n"
      "done\n"
      "kill -9 $pid; wait $pid; echo killed\n";
  const testing::CommandResult r =
      testing::RunProgram({"bash", "-c", script, testing::CorpusflowBinary(), pipeline, err_file},
                          "", {"CORPUSFLOW_TEST_PAUSE_MEGATRON_COMMIT=" + std::to_string(step)});
  return r.out.substr(0, r.out.find('\n'));
}

/// Carry out the `mv A B && mv C D` that inspect gives to restore a dataset.
void RunRestoreCommand(const std::string& message) {
  const size_t begin = message.find("restore it with `");
  ASSERT_NE(begin, std::string::npos) << message;
  const size_t start = begin + std::string("restore it with `").size();
  const std::string command = message.substr(start, message.find('`', start) - start);
  size_t at = 0;
  while (at < command.size()) {
    ASSERT_EQ(command.compare(at, 3, "mv "), 0) << command;
    const size_t from_end = command.find(' ', at + 3);
    size_t to_end = command.find(" && ", from_end + 1);
    if (to_end == std::string::npos) to_end = command.size();
    std::filesystem::rename(command.substr(at + 3, from_end - at - 3),
                            command.substr(from_end + 1, to_end - from_end - 1));
    at = to_end == command.size() ? to_end : to_end + 4;
  }
}

TEST(MegatronCommitTest, SigkillBetweenRenamesNeverLeavesAMixedDataset) {
  ScopedTempDir dir;
  WriteFile(dir.File("old.txt"), Ids(300, 0));
  WriteFile(dir.File("new.txt"), Ids(500, 5));
  // The two pairs of each field, written apart.
  std::map<std::string, Pair> old_pairs, new_pairs;
  for (const auto& [name, pairs] : {std::pair{"old", &old_pairs}, std::pair{"new", &new_pairs}}) {
    const testing::CommandResult r =
        testing::RunCorpusflow({"run", Pipeline(dir.File(std::string(name) + ".txt"),
                                                dir.File(std::string("ref-") + name))});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& f : kFields)
      (*pairs)[f] = ReadPair(dir.File("ref-" + std::string(name) + f));
  }
  ASSERT_NE(old_pairs[kFields[0]].bin.size(), new_pairs[kFields[0]].bin.size());

  // The steps of a rewrite of two datasets: per dataset, move its .idx and .bin to the backups
  // and rename the new .bin (1-3 src, 4-6 tgt); then rename each new .idx (7 src, 8 tgt).
  const std::map<int, std::vector<std::string>> expected = {
      {1, {"old", "old"}},
      {2, {"interrupted", "old"}},
      {3, {"interrupted", "old"}},
      {4, {"interrupted", "old"}},
      {5, {"interrupted", "interrupted"}},
      {6, {"interrupted", "interrupted"}},
      {7, {"interrupted", "interrupted"}},
      {8, {"new", "interrupted"}},
      {9, {"new", "new"}},
  };
  for (const auto& [step, states] : expected) {
    // Restore what inspect says before the next run, or let the next run start from the state
    // the killed one left.
    for (const bool restore : {true, false}) {
      SCOPED_TRACE("killed before step " + std::to_string(step) + (restore ? ", restored" : ""));
      const std::string folder =
          dir.File("step" + std::to_string(step) + (restore ? "-restored" : "-left"));
      std::filesystem::create_directory(folder);
      const std::string prefix = folder + "/t";
      for (const std::string& f : kFields) {
        WriteFile(prefix + f + ".bin", old_pairs[f].bin);
        WriteFile(prefix + f + ".idx", old_pairs[f].idx);
      }
      const std::string outcome =
          RunKilledAtStep(Pipeline(dir.File("new.txt"), prefix), step, folder + ".err");
      EXPECT_EQ(outcome, step == 9 ? "exit 0" : "killed") << ReadIfExists(folder + ".err");

      // What a reader finds: each dataset complete (old or new) or without its .idx, never a
      // .bin with an .idx that is not its own.
      std::vector<std::string> seen;
      for (const std::string& f : kFields) {
        const Pair pair = ReadPair(prefix + f);
        if (std::filesystem::exists(prefix + f + ".idx")) {
          ASSERT_TRUE(pair == old_pairs[f] || pair == new_pairs[f]) << f << ": a mixed pair";
          seen.push_back(pair == old_pairs[f] ? "old" : "new");
          continue;
        }
        // inspect names the state and how to restore the previous pair, which is intact.
        const testing::CommandResult inspect = testing::RunCorpusflow({"inspect", prefix + f});
        EXPECT_EQ(inspect.exit_code, 1);
        EXPECT_NE(inspect.err.find("was killed while committing"), std::string::npos)
            << inspect.err;
        if (restore) {
          RunRestoreCommand(inspect.err);
          EXPECT_EQ(ReadPair(prefix + f), old_pairs[f]) << f;
        }
        seen.push_back("interrupted");
      }
      EXPECT_EQ(seen, states);

      // A later run writes the new datasets, and no backup stays.
      const testing::CommandResult rerun =
          testing::RunCorpusflow({"run", Pipeline(dir.File("new.txt"), prefix)});
      ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
      for (const std::string& f : kFields) EXPECT_EQ(ReadPair(prefix + f), new_pairs[f]) << f;
      for (const std::string& name : ListDir(folder)) {
        EXPECT_EQ(name.find(".prev"), std::string::npos) << name;
      }
    }
  }
}

// A rewrite killed before the first new .idx appears and inspected before anything is restored:
// inspect of the write-megatron prefix names every interrupted dataset.
TEST(MegatronCommitTest, InspectNamesEveryInterruptedDatasetOfAPrefix) {
  ScopedTempDir dir;
  WriteFile(dir.File("ids.txt"), Ids(50, 1));
  ASSERT_EQ(testing::RunCorpusflow({"run", Pipeline(dir.File("ids.txt"), dir.File("t"))}).exit_code,
            0);
  ASSERT_EQ(RunKilledAtStep(Pipeline(dir.File("ids.txt"), dir.File("t")), 7, dir.File("err")),
            "killed");
  const testing::CommandResult inspect = testing::RunCorpusflow({"inspect", dir.File("t")});
  EXPECT_EQ(inspect.exit_code, 1);
  for (const std::string& f : kFields) {
    const std::string p = dir.File("t" + f);
    EXPECT_NE(inspect.err.find(p + ": " + p + ".idx is missing but " + p + ".bin is there"),
              std::string::npos)
        << inspect.err;
  }
  const testing::CommandResult merge =
      testing::RunCorpusflow({"merge", dir.File("m"), dir.File("t")});
  EXPECT_EQ(merge.exit_code, 1);
  EXPECT_NE(merge.err.find("merge: "), std::string::npos) << merge.err;
}

}  // namespace
}  // namespace corpusflow
