// The PEGASUS pipeline of docs/pegasus.md through the real binary, with a SentencePiece model in
// PEGASUS' layout trained here by spm_train: gsg -> tokenize sentencepiece --id-offset 103
// --special-tokens pegasus -> mlm --id-offset 103 -> write-megatron -> inspect. The masked
// sentences come out as id 2 (<mask_1>), the masked words as 3 (<mask_2>), EOS as 1, every other
// piece as spm_encode's id + 103; inspect names them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "operators/megatron/reader.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The documents: REFERENCE.md's worked example and a whitespace-only one.
const char kDocs[] =
    "The cat sat on the mat. The dog sat on the log. A bird flew. The cat and the dog sat.\n"
    "   \n";

/// spm_encode's output (`format` id or piece) for `lines`, one string per line.
std::vector<std::string> SpmEncode(const std::string& model, const std::string& format,
                                   const std::vector<std::string>& lines) {
  const CommandResult spm =
      RunProgram({"spm_encode", "--model=" + model, "--output_format=" + format, "--minloglevel=2"},
                 JoinLines(lines));
  EXPECT_EQ(spm.exit_code, 0) << spm.err;
  std::vector<std::string> out = SplitLines(spm.out);
  out.resize(lines.size());
  return out;
}

/// spm_encode's ids of `line`, shifted as PEGASUS does (ids above 1 by 103), as JSON items.
std::string PegasusIds(const std::string& model, const std::string& line) {
  const std::string ids = SpmEncode(model, "id", {line})[0];
  std::string json;
  size_t pos = 0;
  while (pos < ids.size()) {
    size_t sp = ids.find(' ', pos);
    if (sp == std::string::npos) sp = ids.size();
    const int id = std::stoi(ids.substr(pos, sp - pos));
    json += std::to_string(id > 1 ? id + 103 : id) + ",";
    pos = sp + 1;
  }
  return json;
}

TEST(PegasusPipelineTest, MaskIdsAreTwoAndThreeAndEosIsOneThroughInspect) {
  ScopedTempDir dir;
  const CommandResult train =
      RunProgram({"spm_train", "--input=/usr/share/common-licenses/GPL-3",
                  "--model_prefix=" + dir.File("pegasus"), "--vocab_size=300", "--pad_id=0",
                  "--eos_id=1", "--unk_id=2", "--bos_id=-1", "--num_threads=2", "--minloglevel=2"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string model = dir.File("pegasus.model");
  const std::string vocab = dir.File("pegasus.vocab");
  WriteFile(dir.File("docs.txt"), kDocs);
  const std::string gsg = "read " + dir.File("docs.txt") +
                          " | gsg --split pegasus --tokens reference --ratio 0.5 --min-sentences 1";
  const std::string tokenize =
      " | tokenize --kind sentencepiece --model " + model +
      " --id-offset 103 --special-tokens pegasus --field src --output src_ids --add-special"
      " | tokenize --kind sentencepiece --model " +
      model +
      " --id-offset 103 --special-tokens pegasus --field tgt --output tgt_ids --add-special";

  // Before mlm: Ind picks sentences 1 and 3, each masked by id 2; EOS is 1. The whitespace-only
  // document is masked whole, as the reference does: input <mask_1> EOS, target EOS.
  const CommandResult ids = RunCorpusflow(
      {"run", gsg + tokenize + " | write " + dir.File("ids.jsonl") + " --field src_ids,tgt_ids",
       "--progress", "never"});
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const std::string src_ids = PegasusIds(model, "The cat sat on the mat. ") + "2," +
                              PegasusIds(model, " A bird flew. ") + "2,1";
  const std::string tgt_ids =
      PegasusIds(model, "The dog sat on the log. The cat and the dog sat.") + "1";
  EXPECT_EQ(ReadFile(dir.File("ids.jsonl")), "{\"src_ids\":[" + src_ids + "],\"tgt_ids\":[" +
                                                 tgt_ids +
                                                 "]}\n{\"src_ids\":[2,1],\"tgt_ids\":[1]}\n");

  // The whole pipeline of the docs: mlm masks whole words with <mask_2> (every picked word,
  // here) and reads the .vocab with the same offset.
  std::filesystem::create_directory(dir.path() / "out");
  const CommandResult run = RunCorpusflow(
      {"run",
       gsg + tokenize + " | mlm --field src_ids --mask-id 3 --id-offset 103 --vocab " + vocab +
           " --word-start-prefix \u2581 --mask-prob 1 --random-prob 0 | write-megatron " +
           dir.File("out/train"),
       "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const MegatronDatasetReader src(dir.File("out/train_src_ids_document"));
  const MegatronDatasetReader labels(dir.File("out/train_mlm_ids_document"));
  ASSERT_EQ(src.sequences(), 2u);
  std::vector<int64_t> masked, original;
  src.ReadSequence(0, &masked);
  labels.ReadSequence(0, &original);
  ASSERT_EQ(masked.size(), original.size());
  std::string unmasked;
  size_t mask_2 = 0;
  for (size_t i = 0; i < masked.size(); ++i) {
    // A label marks a masked position: the id there is <mask_2>'s.
    if (original[i] != 0) {
      EXPECT_EQ(masked[i], 3) << i;
      ++mask_2;
    }
    unmasked += std::to_string(original[i] != 0 ? original[i] : masked[i]) + ",";
  }
  EXPECT_GE(mask_2, 1u);
  EXPECT_EQ(unmasked, src_ids + ",");

  // inspect reads the offset ids with the .vocab and names the special tokens.
  const std::vector<std::string> names = {"--vocab",          vocab,    "--id-offset", "103",
                                          "--special-tokens", "pegasus"};
  std::vector<std::string> args = {"inspect", dir.File("out/train_tgt_ids_document")};
  args.insert(args.end(), names.begin(), names.end());
  const CommandResult tgt = RunCorpusflow(args);
  ASSERT_EQ(tgt.exit_code, 0) << tgt.out << tgt.err;
  EXPECT_TRUE(Contains(tgt.out, "(vocabulary of 403: all in range)\n")) << tgt.out;
  const std::string pieces =
      SpmEncode(model, "piece", {"The dog sat on the log. The cat and the dog sat."})[0];
  const size_t tgt_tokens = static_cast<size_t>(std::count(pieces.begin(), pieces.end(), ' ')) + 2;
  EXPECT_TRUE(Contains(tgt.out, "sequence 0 (document 0, " + std::to_string(tgt_tokens) +
                                    " tokens): " + pieces + " </s>\n"))
      << tgt.out;
  EXPECT_TRUE(Contains(tgt.out, "sequence 1 (document 1, 1 tokens): </s>\n")) << tgt.out;

  args = {"inspect", dir.File("out/train_src_ids_document")};
  args.insert(args.end(), names.begin(), names.end());
  const CommandResult inspect_src = RunCorpusflow(args);
  ASSERT_EQ(inspect_src.exit_code, 0) << inspect_src.out << inspect_src.err;
  EXPECT_TRUE(Contains(inspect_src.out, "(vocabulary of 403: all in range)\n")) << inspect_src.out;
  const size_t first = inspect_src.out.find("sequence 0 (document 0, ");
  ASSERT_NE(first, std::string::npos) << inspect_src.out;
  const std::string line = inspect_src.out.substr(first, inspect_src.out.find('\n', first) - first);
  EXPECT_TRUE(Contains(line, " <mask_1> ")) << line;
  EXPECT_TRUE(Contains(line, "<mask_2>")) << line;
  EXPECT_TRUE(line.ends_with(" <mask_1> </s>")) << line;
  EXPECT_TRUE(Contains(inspect_src.out, "sequence 1 (document 1, 2 tokens): <mask_1> </s>\n"))
      << inspect_src.out;
}

}  // namespace
}  // namespace corpusflow::testing
