// Tests of merge: the streaming merge of datasets (byte-identical to one write of the same
// documents), its errors, and the grouping of `corpusflow merge` arguments into merges.
#include "operators/megatron/merge.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/megatron/reader.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/fault_file_system.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::RandomMegatronDocuments;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;
using testing::WriteMegatronDocuments;
using Document = testing::MegatronDocument;

/// Read a dataset back as documents of sequences, after verifying the whole index in small
/// chunks (7 sequences, 5 document-index entries) so that chunk boundaries are crossed.
std::vector<Document> ReadDataset(const std::string& prefix) {
  return testing::ReadMegatronDocuments(prefix, /*dtype=*/nullptr, /*sequence_chunk=*/7,
                                        /*document_chunk=*/5);
}

TEST(MegatronMergeTest, MergeOfPartsEqualsSingleWrite) {
  ScopedTempDir dir;
  const auto documents = RandomMegatronDocuments(7, 2000, 65535);
  WriteMegatronDocuments(dir.File("all"), MegatronDType::kUInt16, documents, dir.path());
  // Uneven parts, one of them empty.
  const std::vector<size_t> cuts = {0, 1, 700, 700, 1999, 2000};
  std::vector<std::string> parts;
  for (size_t p = 0; p + 1 < cuts.size(); ++p) {
    parts.push_back(dir.File("part" + std::to_string(p)));
    WriteMegatronDocuments(
        parts.back(), MegatronDType::kUInt16,
        std::vector<Document>(documents.begin() + static_cast<ptrdiff_t>(cuts[p]),
                              documents.begin() + static_cast<ptrdiff_t>(cuts[p + 1])),
        dir.path());
  }
  const MegatronMergeSummary summary = MergeMegatronDatasets(dir.File("merged"), parts);
  EXPECT_EQ(summary.documents, documents.size());
  EXPECT_EQ(summary.dtype, MegatronDType::kUInt16);
  EXPECT_EQ(ReadFile(dir.File("merged.bin")), ReadFile(dir.File("all.bin")));
  EXPECT_EQ(ReadFile(dir.File("merged.idx")), ReadFile(dir.File("all.idx")));
}

TEST(MegatronMergeTest, SingleInputIsACopy) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kInt32,
                         RandomMegatronDocuments(3, 100, 1000000), dir.path());
  MergeMegatronDatasets(dir.File("b"), {dir.File("a")});
  EXPECT_EQ(ReadFile(dir.File("b.bin")), ReadFile(dir.File("a.bin")));
  EXPECT_EQ(ReadFile(dir.File("b.idx")), ReadFile(dir.File("a.idx")));
}

TEST(MegatronMergeTest, DifferentDtypesAreAnError) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  WriteMegatronDocuments(dir.File("b"), MegatronDType::kInt32, {{{2}}}, dir.path());
  try {
    MergeMegatronDatasets(dir.File("m"), {dir.File("a"), dir.File("b")});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("holds int32 tokens but"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.bin", "a.idx", "b.bin", "b.idx"}));
}

TEST(MegatronMergeTest, CorruptInputLeavesNoOutput) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kUInt16, {{{1, 2}}, {{3}}}, dir.path());
  WriteMegatronDocuments(dir.File("b"), MegatronDType::kUInt16, {{{4}}}, dir.path());
  const std::string bin = ReadFile(dir.File("b.bin"));
  WriteFile(dir.File("b.bin"), bin + "zz");  // the index no longer covers the .bin
  EXPECT_THROW(MergeMegatronDatasets(dir.File("m"), {dir.File("a"), dir.File("b")}),
               CorruptionError);
  const std::string idx = ReadFile(dir.File("a.idx"));
  WriteFile(dir.File("a.idx"), idx.substr(0, idx.size() - 8));
  EXPECT_THROW(MergeMegatronDatasets(dir.File("m"), {dir.File("a")}), CorruptionError);
  for (const std::string& name : ListDir(dir.path())) EXPECT_NE(name[0], 'm') << name;
}

TEST(MegatronMergeTest, OutputMustNotBeAnInput) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  EXPECT_THROW(MergeMegatronDatasets(dir.File("a"), {dir.File("a")}), InvalidArgument);
  EXPECT_THROW(MergeMegatronDatasets(dir.File("a"), {}), InvalidArgument);
  EXPECT_EQ(ReadDataset(dir.File("a")), (std::vector<Document>{{{1}}}));
}

TEST(MegatronMergeTest, FullDiskIsAnIoErrorAndLeavesNothing) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kUInt16, RandomMegatronDocuments(1, 50, 9),
                         dir.path());
  testing::FaultFileSystem fs;
  fs.set_path_filter(".m.idx");  // the output index's temp file
  fs.FailWritesFrom(1, ENOSPC);
  MegatronMerger merger(dir.File("m"), {dir.File("a"), dir.File("a")}, fs);
  try {
    merger.Write();
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write " + dir.File("m.idx")), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(fs.failed_writes(), 1u);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.bin", "a.idx"}));
}

/// Two datasets "a" and "b" in `dir`, and their four files' bytes by name.
std::map<std::string, std::string> WriteTwoInputs(const ScopedTempDir& dir) {
  WriteMegatronDocuments(dir.File("a"), MegatronDType::kUInt16,
                         RandomMegatronDocuments(3, 300, 65535), dir.path());
  WriteMegatronDocuments(dir.File("b"), MegatronDType::kUInt16,
                         RandomMegatronDocuments(4, 200, 65535), dir.path());
  std::map<std::string, std::string> files;
  for (const char* name : {"a.bin", "a.idx", "b.bin", "b.idx"}) {
    files[name] = ReadFile(dir.File(name));
  }
  return files;
}

TEST(MegatronMergeTest, FailedTokenCopyLeavesNothingAndTheInputsUntouched) {
  // The n-th copy into the output .bin fails: n = 1 while copying a.bin, n = 2 while copying
  // b.bin (each input is one copy_file_range call).
  for (const int err : {ENOSPC, EIO}) {
    for (const uint64_t n : {1, 2}) {
      SCOPED_TRACE(std::string(std::strerror(err)) + ", copy " + std::to_string(n));
      ScopedTempDir dir;
      const std::map<std::string, std::string> inputs = WriteTwoInputs(dir);
      testing::FaultFileSystem fs;
      fs.set_path_filter(".m.bin");  // the output .bin's temp file
      fs.FailWritesFrom(n, err);
      MegatronMerger merger(dir.File("m"), {dir.File("a"), dir.File("b")}, fs);
      const std::string from = n == 1 ? "a.bin" : "b.bin";
      const uint64_t at = n == 1 ? 0 : inputs.at("a.bin").size();
      EXPECT_EQ(testing::ErrorMessage<IoError>([&] { merger.Write(); }),
                "cannot copy " + dir.File(from) + " at offset 0 to " + dir.File("m.bin") +
                    " at offset " + std::to_string(at) + ": " + std::strerror(err));
      EXPECT_EQ(fs.failed_writes(), 1u);
      EXPECT_EQ(fs.copy_calls(), n);
      EXPECT_EQ(ListDir(dir.path()),
                (std::vector<std::string>{"a.bin", "a.idx", "b.bin", "b.idx"}));
      for (const auto& [name, bytes] : inputs) EXPECT_EQ(ReadFile(dir.File(name)), bytes) << name;
    }
  }
}

TEST(MegatronMergeTest, CopiesTheKernelRefusesGoThroughABuffer) {
  ScopedTempDir dir;
  WriteTwoInputs(dir);
  MergeMegatronDatasets(dir.File("expected"), {dir.File("a"), dir.File("b")});
  {
    testing::FaultFileSystem fs;
    fs.RefuseKernelCopies(EXDEV);
    MegatronMerger merger(dir.File("m"), {dir.File("a"), dir.File("b")}, fs);
    merger.Write();
    merger.Publish();
    EXPECT_EQ(fs.copy_calls(), 2u);
    EXPECT_EQ(ReadFile(dir.File("m.bin")), ReadFile(dir.File("expected.bin")));
    EXPECT_EQ(ReadFile(dir.File("m.idx")), ReadFile(dir.File("expected.idx")));
  }
  // A full disk on the buffered path is a write error of the output, and leaves nothing.
  testing::FaultFileSystem fs;
  fs.RefuseKernelCopies(EOPNOTSUPP);
  fs.set_path_filter(".f.bin");
  fs.FailWritesFrom(1, ENOSPC);
  MegatronMerger merger(dir.File("f"), {dir.File("a"), dir.File("b")}, fs);
  EXPECT_EQ(testing::ErrorMessage<IoError>([&] { merger.Write(); }),
            "cannot write " + dir.File("f.bin") + " at offset 0: " + std::strerror(ENOSPC));
  for (const std::string& name : ListDir(dir.path())) EXPECT_NE(name.find("f."), 0u) << name;
}

TEST(MegatronMergeTest, InterruptedAndShortCopiesAreContinued) {
  ScopedTempDir dir;
  WriteTwoInputs(dir);
  MergeMegatronDatasets(dir.File("expected"), {dir.File("a"), dir.File("b")});
  testing::FaultFileSystem fs;
  fs.set_path_filter(".m.bin");
  fs.set_eintr(true);
  fs.set_short_writes(1000);
  MegatronMerger merger(dir.File("m"), {dir.File("a"), dir.File("b")}, fs);
  merger.Write();
  merger.Publish();
  const std::string expected = ReadFile(dir.File("expected.bin"));
  EXPECT_GT(fs.copy_calls(), 2 * (expected.size() / 1000));
  EXPECT_EQ(ReadFile(dir.File("m.bin")), expected);
  EXPECT_EQ(ReadFile(dir.File("m.idx")), ReadFile(dir.File("expected.idx")));
}

// --- grouping the arguments of `corpusflow merge` --------------------------------------------

/// The groups as "OUTPUT <- IN IN ..." lines relative to `dir`.
std::vector<std::string> Groups(const ScopedTempDir& dir, const std::string& output,
                                const std::vector<std::string>& inputs) {
  std::vector<std::string> in;
  for (const std::string& name : inputs) in.push_back(dir.File(name));
  const std::string root = dir.path().string() + "/";
  const auto relative = [&](const std::string& path) { return path.substr(root.size()); };
  std::vector<std::string> lines;
  for (const MegatronMergeGroup& g : GroupMegatronMergeInputs(dir.File(output), in)) {
    std::string line = relative(g.output_prefix) + " <-";
    for (const std::string& p : g.input_prefixes) line += " " + relative(p);
    lines.push_back(line);
  }
  return lines;
}

/// The message of the error of type E that grouping throws.
template <typename E>
std::string GroupError(const ScopedTempDir& dir, const std::vector<std::string>& inputs) {
  try {
    Groups(dir, "m", inputs);
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

/// Write an empty dataset for each name.
void Touch(const ScopedTempDir& dir, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    WriteMegatronDocuments(dir.File(p), MegatronDType::kUInt16, {}, dir.path());
  }
}

TEST(MegatronMergeGroupTest, DatasetsMergeIntoTheOutputInOrder) {
  ScopedTempDir dir;
  Touch(dir, {"a", "b"});
  EXPECT_EQ(Groups(dir, "m", {"b", "a.idx", "a.bin", "b.bin"}),
            (std::vector<std::string>{"m <- b a b"}));
  EXPECT_EQ(Groups(dir, "m.idx", {"a.bin", "a.idx"}), (std::vector<std::string>{"m <- a"}));
}

TEST(MegatronMergeGroupTest, WriteMegatronPrefixesMergePerField) {
  ScopedTempDir dir;
  Touch(dir, {"s0_src_document", "s0_tgt_document", "s1_tgt_document", "s1_src_document"});
  EXPECT_EQ(Groups(dir, "m", {"s1", "s0"}),
            (std::vector<std::string>{"m_src_document <- s1_src_document s0_src_document",
                                      "m_tgt_document <- s1_tgt_document s0_tgt_document"}));
}

TEST(MegatronMergeGroupTest, ErrorsNameTheInputs) {
  ScopedTempDir dir;
  Touch(dir, {"a", "s0_src_document", "s0_tgt_document", "s1_src_document"});
  EXPECT_EQ(GroupError<IoError>(dir, {"a", "nothing"}),
            "merge: no dataset " + dir.File("nothing") + ".idx, and no " + dir.File("nothing") +
                "_*_document or " + dir.File("nothing") + "_*_sentence datasets");
  EXPECT_EQ(GroupError<InvalidArgument>(dir, {"a", "s0"}),
            "merge: mix of dataset prefixes and write-megatron prefixes (" + dir.File("a") + ", " +
                dir.File("s0") + ")");
  EXPECT_EQ(GroupError<DataError>(dir, {"s0", "s1"}),
            "merge: " + dir.File("s0") + " has datasets *_src_document *_tgt_document but " +
                dir.File("s1") + " has *_src_document");
}

TEST(MegatronMergeGroupTest, GroupsAreCommittedTogether) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("s0_a_document"), MegatronDType::kUInt16, {{{1, 2}}}, dir.path());
  WriteMegatronDocuments(dir.File("s0_b_document"), MegatronDType::kUInt16, {{{3}}}, dir.path());
  WriteMegatronDocuments(dir.File("s1_a_document"), MegatronDType::kUInt16, {{{4}}, {}},
                         dir.path());
  WriteMegatronDocuments(dir.File("s1_b_document"), MegatronDType::kInt32, {{{5}}}, dir.path());
  const auto groups = GroupMegatronMergeInputs(dir.File("m"), {dir.File("s0"), dir.File("s1")});
  // Field b cannot be merged (dtypes differ, found when the inputs are opened): nothing written.
  EXPECT_THROW(MergeMegatronGroups(groups), DataError);
  for (const std::string& name : ListDir(dir.path())) EXPECT_NE(name[0], 'm') << name;
  // Field b's .bin is longer than its index says, found while writing, after field a was
  // written: field a is not published either, and no temp file is left.
  WriteMegatronDocuments(dir.File("s1_b_document"), MegatronDType::kUInt16, {{{5}}}, dir.path());
  const std::string bin = ReadFile(dir.File("s1_b_document.bin"));
  WriteFile(dir.File("s1_b_document.bin"), bin + "zz");
  EXPECT_THROW(MergeMegatronGroups(groups), CorruptionError);
  for (const std::string& name : ListDir(dir.path())) EXPECT_NE(name[0], 'm') << name;

  WriteFile(dir.File("s1_b_document.bin"), bin);
  const std::vector<MegatronMergeResult> results = MergeMegatronGroups(groups);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].output_prefix, dir.File("m_a_document"));
  EXPECT_EQ(results[0].inputs, 2u);
  EXPECT_EQ(results[0].summary.sequences, 2u);
  EXPECT_EQ(results[0].summary.documents, 3u);
  EXPECT_EQ(results[0].summary.bin_bytes, 6u);
  EXPECT_EQ(results[1].output_prefix, dir.File("m_b_document"));
  EXPECT_EQ(ReadDataset(dir.File("m_a_document")), (std::vector<Document>{{{1, 2}}, {{4}}, {}}));
  EXPECT_EQ(ReadDataset(dir.File("m_b_document")), (std::vector<Document>{{{3}}, {{5}}}));
}

}  // namespace
}  // namespace corpusflow
