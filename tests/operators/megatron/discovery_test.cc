// Tests of discovery: which datasets a name designates, the error when none, and the collapsing
// of a shell glob's `.bin`/`.idx` pairs.
#include "operators/megatron/discovery.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;
using testing::WriteFile;

using Names = std::vector<std::string>;

TEST(MegatronDiscoveryTest, ADatasetDesignatesItself) {
  ScopedTempDir dir;
  WriteFile(dir.File("d.idx"), "");
  WriteFile(dir.File("d_x_document.idx"), "");  // ignored: d itself is a dataset
  EXPECT_EQ(FindMegatronDatasets(dir.File("d")), Names{dir.File("d")});
  EXPECT_EQ(FindMegatronDatasets(dir.File("d.idx")), Names{dir.File("d")});
  EXPECT_EQ(FindMegatronDatasets(dir.File("d.bin")), Names{dir.File("d")});
}

TEST(MegatronDiscoveryTest, AWriteMegatronPrefixDesignatesItsFieldDatasetsSorted) {
  ScopedTempDir dir;
  for (const std::string name : {"t_tgt_ids_document.idx", "t_src_ids_document.idx",
                                 "t_src_ids_document.bin", "t_text_sentence.idx", "t__document.idx",
                                 "t_other.idx", "tt_x_document.idx", "t_y_document.bin"}) {
    WriteFile(dir.File(name), "");
  }
  // "t__document" has no field name; "t_y_document" has no .idx; "tt_" is another prefix.
  EXPECT_EQ(FindMegatronDatasets(dir.File("t")),
            (Names{dir.File("t_src_ids_document"), dir.File("t_text_sentence"),
                   dir.File("t_tgt_ids_document")}));
  EXPECT_TRUE(FindMegatronDatasets(dir.File("none")).empty());
  EXPECT_TRUE(FindMegatronDatasets(dir.File("missing-folder/t")).empty());
}

TEST(MegatronDiscoveryTest, RequireNamesWhatWasLookedFor) {
  ScopedTempDir dir;
  const std::string p = dir.File("p");
  try {
    RequireMegatronDatasets(p + ".idx", "inspect");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "inspect: no dataset " + p + ".idx, and no " + p +
                                         "_*_document or " + p + "_*_sentence datasets");
  }
  WriteFile(dir.File("p_a_document.idx"), "");
  EXPECT_EQ(RequireMegatronDatasets(p, "merge"), Names{dir.File("p_a_document")});
}

TEST(MegatronDiscoveryTest, CollapsesGlobPairsOnly) {
  EXPECT_EQ(CollapseMegatronFilePairs({"a.bin", "a.idx", "b.idx", "b.bin", "c"}),
            (Names{"a", "b", "c"}));
  // The same argument twice, a prefix and its file, or two different datasets stay apart.
  EXPECT_EQ(CollapseMegatronFilePairs({"a.bin", "a.bin"}), (Names{"a", "a"}));
  EXPECT_EQ(CollapseMegatronFilePairs({"a", "a.idx"}), (Names{"a", "a"}));
  EXPECT_EQ(CollapseMegatronFilePairs({"a.idx", "b.bin"}), (Names{"a", "b"}));
  EXPECT_EQ(CollapseMegatronFilePairs({"a.bin", "a.idx", "a.bin", "a.idx"}), (Names{"a", "a"}));
}

// The states a killed commit leaves (commit.h), made by hand.
TEST(MegatronDiscoveryTest, InterruptedCommitsAreFoundAndNamed) {
  ScopedTempDir dir;
  const std::string d = dir.File("d");
  // Killed after the .idx was moved away: the old .bin is still in place.
  WriteFile(d + ".bin", "");
  WriteFile(dir.File(".d.idx.prev"), "");
  EXPECT_EQ(FindInterruptedMegatronCommits(d), Names{d});
  EXPECT_EQ(FindInterruptedMegatronCommits(d + ".idx"), Names{d});
  EXPECT_EQ(DescribeInterruptedMegatronCommit(d),
            d + ": " + d + ".idx is missing but " + d + ".bin is there: a write or merge of this " +
                "dataset was killed while committing it. The previous dataset is kept: restore " +
                "it with `mv " + dir.File(".d.idx.prev") + " " + d + ".idx`, or rerun the job " +
                "that writes it");
  // Killed later: both files in the backups.
  WriteFile(dir.File(".d.bin.prev"), "");
  EXPECT_NE(DescribeInterruptedMegatronCommit(d).find(
                "restore it with `mv " + dir.File(".d.bin.prev") + " " + d + ".bin && mv " +
                dir.File(".d.idx.prev") + " " + d + ".idx`"),
            std::string::npos);
  try {
    RequireMegatronDatasets(d, "inspect");
    FAIL() << "no error";
  } catch (const CorruptionError& e) {
    EXPECT_EQ(std::string(e.what()), "inspect: " + DescribeInterruptedMegatronCommit(d));
  }
  // A .bin without anything else: only rerunning helps.
  WriteFile(dir.File("e.bin"), "");
  EXPECT_EQ(DescribeInterruptedMegatronCommit(dir.File("e")),
            dir.File("e") + ": " + dir.File("e") + ".idx is missing but " + dir.File("e") +
                ".bin is there: a write or merge of this dataset was killed while committing it " +
                "(or its .idx was removed); rerun the job that writes it");
  // A complete dataset is not interrupted, whatever is beside it.
  WriteFile(d + ".idx", "");
  EXPECT_TRUE(FindInterruptedMegatronCommits(d).empty());
}

TEST(MegatronDiscoveryTest, InterruptedDatasetsOfAWriteMegatronPrefix) {
  ScopedTempDir dir;
  for (const std::string name :
       {"t_a_document.bin", "t_a_document.idx",                 // complete
        "t_b_document.bin",                                     // .bin alone
        ".t_c_sentence.idx.prev", ".t_c_sentence.bin.prev",     // both in the backups
        "t_d_document.bin", ".t_d_document.bin.tmp-AbC123"}) {  // a temp file is not a dataset
    WriteFile(dir.File(name), "");
  }
  EXPECT_EQ(FindInterruptedMegatronCommits(dir.File("t")),
            (Names{dir.File("t_b_document"), dir.File("t_c_sentence"), dir.File("t_d_document")}));
  EXPECT_THROW(RequireMegatronDatasets(dir.File("t"), "merge"), CorruptionError);
  EXPECT_EQ(FindMegatronDatasets(dir.File("t")), Names{dir.File("t_a_document")});
}

}  // namespace
}  // namespace corpusflow
