// End-to-end tests of the Megatron path through the real binary: `run ... | write-megatron`,
// `corpusflow merge` and `corpusflow inspect`, their exit codes, messages and outputs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operators/megatron/megatron_dataset.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Write documents (lists of sequences) as a dataset with the library.
void WriteDataset(const std::string& prefix, MegatronDType dtype,
                  const std::vector<std::vector<std::vector<int32_t>>>& documents,
                  const std::filesystem::path& scratch) {
  MegatronDatasetWriter writer(prefix, dtype, scratch);
  for (const auto& d : documents) {
    for (const auto& s : d) writer.AddSequence(s);
    writer.EndDocument();
  }
  writer.Commit();
}

/// Lines of ids "i i+1 ... " of varied lengths, some empty.
std::string IdLines(int n, int vocab) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < (i * 7) % 13; ++j) {
      text += (j ? " " : "") + std::to_string((i * 31 + j * 17) % vocab);
    }
    text += "\n";
  }
  return text;
}

TEST(MegatronCliTest, PipelineWritesDatasetsThatInspectAccepts) {
  ScopedTempDir dir;
  WriteFile(dir.File("ids.txt"), "101 7 102\n\n101 8 9 102\n");
  const CommandResult run = RunCorpusflow(
      {"run", "read " + dir.File("ids.txt") + " | parse-ids --vocab-size 200 | write-megatron " +
                  dir.File("t") + " --append-eod 199"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string vocab;
  for (int i = 0; i < 200; ++i) vocab += "tok" + std::to_string(i) + "\n";
  WriteFile(dir.File("vocab.txt"), vocab);
  const CommandResult r =
      RunCorpusflow({"inspect", dir.File("t"), "--vocab", dir.File("vocab.txt"), "--show", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "dataset    " + dir.File("t_text_ids_document") + "\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "dtype uint16 (code 8, 2 bytes)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "sequences  3\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "tokens     9 (mean 3.0 per sequence)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "token ids  7..199 (vocabulary of 200: all in range)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "check      ok:")) << r.out;
  EXPECT_TRUE(Contains(r.out, "sequence 0 (document 0, 4 tokens): tok101 tok7 tok102 tok199\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "sequence 1 (document 1, 0 tokens): \n")) << r.out;
}

TEST(MegatronCliTest, InspectReportsFiguresOfAHandMadeDataset) {
  ScopedTempDir dir;
  WriteDataset(dir.File("g"), MegatronDType::kUInt16, {{{1, 2, 3}}, {{4}, {65535, 0}}, {{}}, {}},
               dir.path());
  const CommandResult r = RunCorpusflow({"inspect", dir.File("g.idx"), "--show", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "g.idx: 122 bytes, MMIDIDX version 1, dtype uint16")) << r.out;
  EXPECT_TRUE(Contains(r.out, "g.bin: 12 bytes")) << r.out;
  EXPECT_TRUE(Contains(r.out, "documents  4 (0 to 2 sequences each; 1 without sequences)\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "lengths    min 0, max 3, 1 empty\n")) << r.out;
  // Lengths 3, 1, 2, 0: buckets 0, 1, 2-3.
  EXPECT_TRUE(Contains(r.out, "              0              1  ####################\n")) << r.out;
  EXPECT_TRUE(
      Contains(r.out, "            2-3              2  ########################################\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "token ids  0..65535\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "sequence 2 (document 1, 2 tokens): 65535 0\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "sequence 3 (document 2, 0 tokens): \n")) << r.out;
}

TEST(MegatronCliTest, InspectFlagsIdsOutsideTheVocabulary) {
  ScopedTempDir dir;
  WriteDataset(dir.File("v"), MegatronDType::kUInt16, {{{1, 2}}, {{3, 50}}, {{60}}}, dir.path());
  WriteFile(dir.File("vocab.txt"), "a\nb\nc\nd\n");
  const CommandResult r =
      RunCorpusflow({"inspect", dir.File("v"), "--vocab", dir.File("vocab.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.out, "(vocabulary of 4: 2 ids OUT OF RANGE, the first in sequence 1)"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "sequence 1 (document 1, 2 tokens): d <50?>")) << r.out;
  EXPECT_TRUE(Contains(r.err, "token ids out of range")) << r.err;
  EXPECT_EQ(RunCorpusflow({"inspect", dir.File("v"), "--vocab-size", "61"}).exit_code, 0);
}

TEST(MegatronCliTest, InspectReadsPegasusOffsetIdsAndNamesSpecialTokens) {
  ScopedTempDir dir;
  // A SentencePiece .vocab with PEGASUS' ids (pad 0, eos 1, unk 2): under tokenize --id-offset
  // 103 its lines 2..7 are ids 105..110, and ids 2..104 are PEGASUS' own (<mask_1> 2,
  // <mask_2> 3, the rest reserved).
  WriteFile(dir.File("m.vocab"),
            "<pad>\t0\n</s>\t0\n<unk>\t0\n\u2581the\t-1\n\u2581un\t-2\naff\t-3\nable\t-4\n"
            "\u2581x\t-5\n");
  WriteDataset(dir.File("p"), MegatronDType::kUInt16,
               {{{106, 2, 110, 1}}, {{3, 107, 108, 109, 50, 105, 1, 0}}}, dir.path());
  const CommandResult r = RunCorpusflow({"inspect", dir.File("p"), "--vocab", dir.File("m.vocab"),
                                         "--id-offset", "103", "--special-tokens", "pegasus"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "token ids  0..110 (vocabulary of 111: all in range)\n")) << r.out;
  EXPECT_TRUE(
      Contains(r.out, "sequence 0 (document 0, 4 tokens): \u2581the <mask_1> \u2581x </s>\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out,
                       "sequence 1 (document 1, 8 tokens): <mask_2> \u2581un aff able <50> <unk> "
                       "</s> <pad>\n"))
      << r.out;
  // The special tokens name ids without a vocabulary too.
  const CommandResult names =
      RunCorpusflow({"inspect", dir.File("p"), "--special-tokens", "<mask_1>=2,<mask_2>=3,</s>=1"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  EXPECT_TRUE(Contains(names.out, "sequence 0 (document 0, 4 tokens): 106 <mask_1> 110 </s>\n"))
      << names.out;
  // Read without the offset, the ids are out of range: what the offset is for.
  const CommandResult plain =
      RunCorpusflow({"inspect", dir.File("p"), "--vocab", dir.File("m.vocab")});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_TRUE(Contains(plain.out, "(vocabulary of 8: 7 ids OUT OF RANGE, the first in sequence 0)"))
      << plain.out;
  // An offset needs a vocabulary; a special id must be inside it.
  EXPECT_EQ(RunCorpusflow({"inspect", dir.File("p"), "--id-offset", "103"}).exit_code, 2);
  const CommandResult outside = RunCorpusflow(
      {"inspect", dir.File("p"), "--vocab", dir.File("m.vocab"), "--special-tokens", "<x>=200"});
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_TRUE(Contains(outside.err, "special token '<x>=200' is outside the vocabulary (8 ids)"))
      << outside.err;
}

TEST(MegatronCliTest, TruncatedIndexIsAClearErrorForInspectAndMerge) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1, 2}}, {{3}}}, dir.path());
  WriteDataset(dir.File("b"), MegatronDType::kUInt16, {{{4}}}, dir.path());
  const std::string idx = ReadFile(dir.File("b.idx"));
  for (const size_t keep : {idx.size() - 3, size_t{10}, size_t{0}}) {
    WriteFile(dir.File("b.idx"), idx.substr(0, keep));
    const CommandResult inspect = RunCorpusflow({"inspect", dir.File("b")});
    EXPECT_EQ(inspect.exit_code, 1);
    EXPECT_TRUE(
        Contains(inspect.err, "corpusflow: error: " + dir.File("b.idx") + ": truncated index"))
        << inspect.err;
    const CommandResult merge =
        RunCorpusflow({"merge", dir.File("m"), dir.File("a"), dir.File("b")});
    EXPECT_EQ(merge.exit_code, 1);
    EXPECT_TRUE(Contains(merge.err, dir.File("b.idx") + ": truncated index")) << merge.err;
  }
  // A truncated .bin is found while merging; nothing is left behind.
  WriteFile(dir.File("b.idx"), idx);
  WriteFile(dir.File("a.bin"), ReadFile(dir.File("a.bin")).substr(0, 3));
  const CommandResult merge = RunCorpusflow({"merge", dir.File("m"), dir.File("a"), dir.File("b")});
  EXPECT_EQ(merge.exit_code, 1);
  EXPECT_TRUE(Contains(merge.err, "truncated .bin")) << merge.err;
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.bin", "a.idx", "b.bin", "b.idx"}));
}

// The missing folders of the output are created, and removed again by a merge that fails.
TEST(MegatronCliTest, MergeCreatesAMissingOutputFolderAndRemovesItOnFailure) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1, 2}}, {{3}}}, dir.path());
  WriteDataset(dir.File("b"), MegatronDType::kUInt16, {{{4}}}, dir.path());
  const CommandResult merged =
      RunCorpusflow({"merge", dir.File("out/new/m"), dir.File("a"), dir.File("b")});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(ListDir(dir.path() / "out/new"), (std::vector<std::string>{"m.bin", "m.idx"}));
  WriteFile(dir.File("a.bin"), ReadFile(dir.File("a.bin")).substr(0, 3));
  const CommandResult failed =
      RunCorpusflow({"merge", dir.File("gone/deep/m"), dir.File("a"), dir.File("b")});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_TRUE(Contains(failed.err, "truncated .bin")) << failed.err;
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"a.bin", "a.idx", "b.bin", "b.idx", "out"}));
}

TEST(MegatronCliTest, MergeOfDifferentDtypesIsAnError) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  WriteDataset(dir.File("b"), MegatronDType::kInt32, {{{1}}}, dir.path());
  const CommandResult r = RunCorpusflow({"merge", dir.File("m"), dir.File("a"), dir.File("b")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "holds int32 tokens but " + dir.File("a.idx") + " holds uint16"))
      << r.err;
  EXPECT_EQ(ListDir(dir.path()).size(), 4u);
}

TEST(MegatronCliTest, MergeUsageErrors) {
  ScopedTempDir dir;
  EXPECT_EQ(RunCorpusflow({"merge"}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"merge", dir.File("out")}).exit_code, 2);
  const CommandResult missing = RunCorpusflow({"merge", dir.File("out"), dir.File("nothing")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(Contains(missing.err, "no dataset " + dir.File("nothing") + ".idx")) << missing.err;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  EXPECT_EQ(RunCorpusflow({"merge", dir.File("a"), dir.File("a")}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"inspect"}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"inspect", dir.File("nothing")}).exit_code, 1);
}

TEST(MegatronCliTest, MergedShardsOfAPairEqualOneRunInShardOrder) {
  ScopedTempDir dir;
  // Two fields: src = the line's ids, tgt = the same ids (replacing text) with another vocab.
  const int n = 50;
  const std::string lines = IdLines(n, 1000);
  WriteFile(dir.File("ids.txt"), lines);
  const std::string stages =
      " | parse-ids --output src_ids --vocab-size 1000"
      " | parse-ids --output tgt_ids --vocab-size 70000";
  const CommandResult sharded =
      RunCorpusflow({"run", "read " + dir.File("ids.txt") + stages + " | write-megatron " +
                                dir.File("sh") + " --shards 3"});
  ASSERT_EQ(sharded.exit_code, 0) << sharded.err;
  // The same records in shard-major order: shard 0 holds lines 0, 3, 6, ...
  std::vector<std::string> all;
  size_t begin = 0;
  for (size_t end; (end = lines.find('\n', begin)) != std::string::npos; begin = end + 1) {
    all.push_back(lines.substr(begin, end - begin));
  }
  std::string reordered;
  for (size_t s = 0; s < 3; ++s) {
    for (size_t k = s; k < all.size(); k += 3) reordered += all[k] + "\n";
  }
  WriteFile(dir.File("reordered.txt"), reordered);
  const CommandResult single =
      RunCorpusflow({"run", "read " + dir.File("reordered.txt") + stages + " | write-megatron " +
                                dir.File("single")});
  ASSERT_EQ(single.exit_code, 0) << single.err;

  // Merge by write-megatron prefixes: each field is merged into its own dataset.
  const CommandResult merge =
      RunCorpusflow({"merge", dir.File("m"), dir.File("sh-00000-of-00003"),
                     dir.File("sh-00001-of-00003"), dir.File("sh-00002-of-00003")});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_TRUE(Contains(merge.out, dir.File("m") + "_src_ids_document: 3 inputs, 50 sequences"))
      << merge.out;
  for (const std::string field : {"_src_ids_document", "_tgt_ids_document"}) {
    for (const std::string ext : {".bin", ".idx"}) {
      EXPECT_EQ(ReadFile(dir.File("m" + field + ext)), ReadFile(dir.File("single" + field + ext)))
          << field << ext;
    }
  }
  // Merge by dataset files, as a shell glob lists them (.bin and .idx of each).
  std::vector<std::string> args = {"merge", dir.File("g")};
  for (const std::string shard : {"00000", "00001", "00002"}) {
    args.push_back(dir.File("sh-" + shard + "-of-00003_tgt_ids_document.bin"));
    args.push_back(dir.File("sh-" + shard + "-of-00003_tgt_ids_document.idx"));
  }
  ASSERT_EQ(RunCorpusflow(args).exit_code, 0);
  EXPECT_EQ(ReadFile(dir.File("g.idx")), ReadFile(dir.File("single_tgt_ids_document.idx")));
  EXPECT_EQ(ReadFile(dir.File("g.bin")), ReadFile(dir.File("single_tgt_ids_document.bin")));
}

TEST(MegatronCliTest, RunErrorsExitCodesAndNoLeftovers) {
  ScopedTempDir dir;
  WriteFile(dir.File("ids.txt"), "1 2\n3 70000\n");
  const CommandResult range =
      RunCorpusflow({"run", "read " + dir.File("ids.txt") + " | parse-ids | write-megatron " +
                                dir.File("o") + " --vocab-size 30000"});
  EXPECT_EQ(range.exit_code, 1);
  EXPECT_TRUE(Contains(range.err,
                       "write-megatron: record 2, field 'text_ids': id 70000 is out of "
                       "range for the vocabulary size 30000 (dataset dtype uint16)"))
      << range.err;
  const CommandResult field =
      RunCorpusflow({"run", "read " + dir.File("ids.txt") + " | parse-ids | write-megatron " +
                                dir.File("o") + " --fields src_ids"});
  EXPECT_EQ(field.exit_code, 2);
  EXPECT_TRUE(Contains(field.err, "write-megatron needs field 'src_ids' (int32-list)"))
      << field.err;
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"ids.txt"}));
}

TEST(MegatronCliTest, FullDiskIsAClearErrorWithNothingLeftBehind) {
#ifndef CORPUSFLOW_FAULT_SHIM
  GTEST_SKIP() << "the fault-injection shim is not built (sanitizer build)";
#else
  ScopedTempDir in;
  ScopedTempDir out;
  WriteFile(in.File("ids.txt"), IdLines(20000, 30000));  // about 120,000 ids
  const std::vector<std::string> env = {"LD_PRELOAD=" CORPUSFLOW_FAULT_SHIM,
                                        "CORPUSFLOW_FAULT_DIR=" + out.path().string(),
                                        "CORPUSFLOW_FAULT_ENOSPC_AFTER=100000"};
  const CommandResult run = RunCorpusflow(
      {"run", "--tmp-dir", out.path().string(),
       "read " + in.File("ids.txt") + " | parse-ids --vocab-size 30000 | write-megatron " +
           out.File("o") + " --shards 2"},
      "", env);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(Contains(run.err, "No space left on device")) << run.err;
  EXPECT_TRUE(Contains(run.err, out.File("o"))) << run.err;
  EXPECT_TRUE(ListDir(out.path()).empty());

  // The same datasets written elsewhere, then merged into the full folder.
  const CommandResult ok = RunCorpusflow(
      {"run", "read " + in.File("ids.txt") + " | parse-ids --vocab-size 30000 | write-megatron " +
                  in.File("o")});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const CommandResult merge = RunCorpusflow(
      {"merge", out.File("m"), in.File("o_text_ids_document"), in.File("o_text_ids_document")}, "",
      env);
  EXPECT_EQ(merge.exit_code, 1) << merge.err;
  EXPECT_TRUE(Contains(merge.err, "No space left on device")) << merge.err;
  EXPECT_TRUE(ListDir(out.path()).empty());
#endif
}

}  // namespace
}  // namespace corpusflow::testing
