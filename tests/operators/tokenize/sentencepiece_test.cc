// `tokenize --kind sentencepiece` against spm_encode (Debian's sentencepiece) with small models
// the test trains with spm_train on text from Debian packages: an mT5-style unigram model (pad 0,
// eos 1, unk 2, byte fallback) and a BPE model with SentencePiece's default ids; EOS, the
// PEGASUS id offset, bad model files, and the operator through the binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "operators/tokenize/tokenize.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::JoinIds;
using testing::SplitLines;

using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Mixed Chinese/English text: fortunes-zh and license texts, plus a few harder lines.
std::vector<std::string> Corpus() {
  std::vector<std::string> zh = SplitLines(ReadFile("/usr/share/games/fortunes/chinese"));
  std::vector<std::string> en;
  for (const char* name : {"GPL-3", "Apache-2.0"}) {
    for (std::string& line :
         SplitLines(ReadFile(std::string("/usr/share/common-licenses/") + name))) {
      en.push_back(std::move(line));
    }
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < 3000 && i < zh.size(); ++i) {
    lines.push_back(zh[i]);
    if (i < en.size()) lines.push_back(en[i]);
  }
  for (const char* extra :
       {"", "   leading and trailing spaces   ", "emoji 😀 and rare 𠀀 characters",
        "ＦＵＬＬ－ＷＩＤＴＨ １２３ and Café", "\t tab \t"}) {
    lines.emplace_back(extra);
  }
  return lines;
}

struct TrainedModel {
  std::string model;
  std::string input;
  std::vector<std::string> lines;
};

/// spm_train flags of PEGASUS' (and mT5's) ids: pad 0, eos 1, unk 2, no bos.
const std::vector<std::string> kPegasusIds = {"--pad_id=0", "--eos_id=1", "--unk_id=2",
                                              "--bos_id=-1"};

/// Train a model on the corpus with spm_train.
TrainedModel Train(const ScopedTempDir& tmp, const std::string& name,
                   const std::vector<std::string>& extra_flags) {
  TrainedModel trained;
  trained.lines = Corpus();
  trained.input = tmp.File(name + ".txt");
  WriteFile(trained.input, testing::JoinLines(trained.lines));
  std::vector<std::string> argv = {
      "spm_train",         "--input=" + trained.input, "--model_prefix=" + tmp.File(name),
      "--vocab_size=1500", "--num_threads=2",          "--minloglevel=2"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  const auto result = RunProgram(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  trained.model = tmp.File(name + ".model");
  return trained;
}

/// spm_encode's ids for every line of the training input.
std::vector<std::string> SpmEncode(const ScopedTempDir& tmp, const TrainedModel& trained,
                                   bool eos) {
  std::vector<std::string> argv = {
      "spm_encode",      "--model=" + trained.model, "--output_format=id",
      "--minloglevel=2", "--input=" + trained.input, "--output=" + tmp.File("spm.out")};
  if (eos) argv.push_back("--extra_options=eos");
  const auto result = RunProgram(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return SplitLines(ReadFile(tmp.File("spm.out")));
}

/// Our ids of every line, as spm_encode prints them (offset and EOS applied).
int CompareWithSpm(const TrainedModel& trained, const std::vector<std::string>& expected, bool eos,
                   int32_t offset) {
  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = trained.model;
  options.id_offset = offset;
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(expected.size(), trained.lines.size());
  int differences = 0;
  for (size_t i = 0; i < trained.lines.size() && i < expected.size(); ++i) {
    std::vector<int32_t> ids;
    tokenizer->Encode(trained.lines[i], &ids);
    if (eos) ids.push_back(*tokenizer->end_id());
    // spm_encode's ids, shifted as PEGASUS does (ids above 1 move by the offset).
    std::string shifted;
    for (const std::string& field : [&] {
           std::vector<std::string> f;
           size_t pos = 0;
           const std::string& e = expected[i];
           while (pos < e.size()) {
             size_t sp = e.find(' ', pos);
             if (sp == std::string::npos) sp = e.size();
             f.push_back(e.substr(pos, sp - pos));
             pos = sp + 1;
           }
           return f;
         }()) {
      const int id = std::stoi(field);
      if (!shifted.empty()) shifted += ' ';
      shifted += std::to_string(id > 1 ? id + offset : id);
    }
    if (JoinIds(ids) != shifted && ++differences <= 5) {
      ADD_FAILURE() << "line " << i + 1 << ": '" << trained.lines[i]
                    << "'\n  corpusflow: " << JoinIds(ids) << "\n  spm_encode: " << shifted;
    }
  }
  return differences;
}

TEST(SentencePieceTest, UnigramMt5LayoutMatchesSpmEncode) {
  ScopedTempDir tmp;
  const TrainedModel trained =
      Train(tmp, "unigram",
            {"--model_type=unigram", "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1",
             "--byte_fallback=true", "--character_coverage=0.995"});
  EXPECT_EQ(CompareWithSpm(trained, SpmEncode(tmp, trained, false), false, 0), 0);
  EXPECT_EQ(CompareWithSpm(trained, SpmEncode(tmp, trained, true), true, 0), 0);
  // PEGASUS: pad 0 and eos 1 stay, everything else moves up by 103.
  EXPECT_EQ(CompareWithSpm(trained, SpmEncode(tmp, trained, true), true, 103), 0);

  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = trained.model;
  options.id_offset = 103;
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(tokenizer->vocab_size(), 1500 + 103);
  EXPECT_EQ(tokenizer->end_id(), 1);
  EXPECT_EQ(tokenizer->start_id(), std::nullopt);
}

TEST(SentencePieceTest, ConcurrentEncodingAgrees) {
  ScopedTempDir tmp;
  const TrainedModel trained = Train(tmp, "threads", {"--model_type=unigram"});
  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = trained.model;
  const auto tokenizer = TextTokenizer::Create(options);
  std::vector<std::string> serial;
  for (const std::string& line : trained.lines) {
    std::vector<int32_t> ids;
    tokenizer->Encode(line, &ids);
    serial.push_back(JoinIds(ids));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < trained.lines.size(); i += 2) {
        std::vector<int32_t> ids;
        tokenizer->Encode(trained.lines[i], &ids);
        if (JoinIds(ids) != serial[i]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(SentencePieceTest, BpeDefaultIdsMatchSpmEncode) {
  ScopedTempDir tmp;
  const TrainedModel trained = Train(tmp, "bpe", {"--model_type=bpe"});
  EXPECT_EQ(CompareWithSpm(trained, SpmEncode(tmp, trained, false), false, 0), 0);
  EXPECT_EQ(CompareWithSpm(trained, SpmEncode(tmp, trained, true), true, 0), 0);
  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = trained.model;
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(tokenizer->end_id(), 2);
  std::vector<int32_t> ids;
  // A 1 MB line without spaces.
  std::string chinese;
  while (chinese.size() < (1 << 20)) chinese += "自由软件基金会";
  tokenizer->Encode(chinese, &ids);
  EXPECT_GT(ids.size(), 1000u);
  ids.clear();
  // Without byte fallback, characters outside the model are <unk> (id 0), and counted.
  EXPECT_GT(tokenizer->Encode("𠀀𠀁 ☃", &ids), 0u);
}

TEST(SentencePieceTest, BadModelFiles) {
  ScopedTempDir tmp;
  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = tmp.File("missing.model");
  EXPECT_THROW(TextTokenizer::Create(options), IoError);
  WriteFile(tmp.File("bad.model"), "this is not a protobuf");
  options.model_path = tmp.File("bad.model");
  const std::string message =
      testing::ErrorMessage<DataError>([&] { TextTokenizer::Create(options); });
  EXPECT_NE(message.find(tmp.File("bad.model")), std::string::npos) << message;
  options.vocab_path = "vocab.txt";
  EXPECT_THROW(TextTokenizer::Create(options), InvalidArgument);
}

/// Options of a SentencePiece tokenizer of `model` with `offset`.
TokenizerOptions SentencePieceOptions(const std::string& model, int32_t offset) {
  TokenizerOptions options;
  options.kind = TokenizerKind::kSentencePiece;
  options.model_path = model;
  options.id_offset = offset;
  return options;
}

/// spm_encode's ids of each of `lines` (no EOS), each id above 1 shifted by `offset`.
std::vector<std::vector<int32_t>> SpmIds(const std::string& model,
                                         const std::vector<std::string>& lines, int32_t offset) {
  const auto spm =
      RunProgram({"spm_encode", "--model=" + model, "--output_format=id", "--minloglevel=2"},
                 testing::JoinLines(lines));
  EXPECT_EQ(spm.exit_code, 0) << spm.err;
  std::vector<std::vector<int32_t>> out;
  std::string out_text = spm.out;
  size_t pos = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t eol = out_text.find('\n', pos);
    if (eol == std::string::npos) eol = out_text.size();
    std::vector<int32_t> ids;
    size_t p = pos;
    while (p < eol) {
      size_t sp = out_text.find(' ', p);
      if (sp == std::string::npos || sp > eol) sp = eol;
      const int id = std::stoi(out_text.substr(p, sp - p));
      ids.push_back(id > 1 ? id + offset : id);
      p = sp + 1;
    }
    out.push_back(std::move(ids));
    pos = eol + 1;
  }
  return out;
}

/// `{"FIELD":[ids]}` lines, as `write --field FIELD` prints an ids field.
std::string IdsJsonLines(const std::string& field, const std::vector<std::vector<int32_t>>& rows) {
  std::string out;
  for (const std::vector<int32_t>& ids : rows) {
    out += "{\"" + field + "\":[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    out += "]}\n";
  }
  return out;
}

TEST(SentencePieceTest, PegasusSpecialTokensAreTheirIdsNeverPieces) {
  ScopedTempDir tmp;
  // PEGASUS' ids, and the mask tokens as user-defined pieces (which used to give <mask_1> the
  // shifted id 106 instead of 2).
  std::vector<std::string> flags = kPegasusIds;
  flags.insert(flags.end(),
               {"--user_defined_symbols=<mask_1>,<mask_2>", "--character_coverage=0.995"});
  const TrainedModel trained = Train(tmp, "pegasus", flags);
  TokenizerOptions options = SentencePieceOptions(trained.model, 103);
  options.special_tokens = ParseSpecialTokens("pegasus");
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(tokenizer->end_id(), 1);
  // What gsg writes, a literal EOS, and <mask_2>: the text between the tokens is encoded as
  // spm_encode encodes it on its own.
  const std::vector<std::string> stretches = {"The cat sat on the mat. ", " A bird flew. ",
                                              "自由软件", "free software"};
  const std::vector<std::vector<int32_t>> spm = SpmIds(trained.model, stretches, 103);
  std::vector<int32_t> expected = spm[0];
  expected.push_back(2);
  expected.insert(expected.end(), spm[1].begin(), spm[1].end());
  expected.push_back(2);
  std::vector<int32_t> ids;
  uint64_t specials = 0;
  EXPECT_EQ(
      tokenizer->Encode("The cat sat on the mat. <mask_1> A bird flew. <mask_1>", &ids, &specials),
      0u);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(specials, 2u);
  expected = {3};
  expected.insert(expected.end(), spm[2].begin(), spm[2].end());
  expected.push_back(1);
  expected.insert(expected.end(), spm[3].begin(), spm[3].end());
  expected.push_back(0);
  ids.clear();
  tokenizer->Encode("<mask_2>自由软件</s>free software<pad>", &ids);
  EXPECT_EQ(ids, expected);
  // No piece lands on the ids the offset reserves.
  for (const int32_t id : expected) EXPECT_TRUE(id < 4 || id >= 105) << id;

  // Without the offset, ids 2 and 3 are pieces of the model: refused, with the remedy.
  options.id_offset = 0;
  const std::string message =
      testing::ErrorMessage<InvalidArgument>([&] { TextTokenizer::Create(options); });
  EXPECT_NE(message.find(trained.model + ": special token '<mask_1>=2': id 2 is its token '<unk>'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("needs --id-offset 103"), std::string::npos) << message;
}

TEST(SentencePieceTest, TheOutputFieldNamesItsIdsWithTheOffsetAndTheSpecialTokens) {
  ScopedTempDir tmp;
  std::vector<std::string> flags = kPegasusIds;
  flags.insert(flags.end(),
               {"--user_defined_symbols=<mask_1>,<mask_2>", "--character_coverage=0.995"});
  const TrainedModel trained = Train(tmp, "pegasus", flags);
  TokenizeOptions options;
  options.tokenizer = SentencePieceOptions(trained.model, 103);
  options.tokenizer.special_tokens = ParseSpecialTokens("pegasus");
  const TokenizeOperator op(options);
  const Schema out = op.OutputSchema(Schema({Field{"text", FieldType::kString, 0}}));
  const Field* field = out.Find("text_ids");
  ASSERT_NE(field, nullptr);
  ASSERT_NE(field->token_names, nullptr);
  const TokenNames& names = *field->token_names;
  EXPECT_EQ(names.source(), trained.model +
                                " (ids above 1 + 103) with special tokens "
                                "<pad>=0,</s>=1,<mask_1>=2,<mask_2>=3");
  // The map before the model: <mask_1> is 2, not its user-defined piece shifted (3 + 103).
  EXPECT_EQ(names.Find("<mask_1>"), 2);
  EXPECT_EQ(names.Find("</s>"), 1);
  EXPECT_EQ(names.Find("<pad>"), 0);
  // The model's pieces with the offset: <unk> is piece 2, so 105.
  EXPECT_EQ(names.Find("<unk>"), 105);
  const std::vector<std::vector<int32_t>> spm = SpmIds(trained.model, {"free"}, 103);
  ASSERT_EQ(spm[0].size(), 1u);
  EXPECT_EQ(names.Find("\u2581free"), spm[0][0]);
  EXPECT_EQ(names.Find("[SEP]"), std::nullopt);
  EXPECT_EQ(names.DidYouMean("</S>"), " (did you mean '</s>'?)");
  // A string-list field gives one id list per item.
  const Schema lists = op.OutputSchema(Schema({Field{"text", FieldType::kStringList, 0}}));
  EXPECT_EQ(lists.Find("text_ids")->type, FieldType::kInt32ListList);
  EXPECT_EQ(lists.Find("text_ids")->vocab_size, field->vocab_size);
}

TEST(SentencePieceTest, DefaultIdsUnderAnIdOffsetAreRefused) {
  ScopedTempDir tmp;
  // spm_train's defaults: unk 0, bos 1, eos 2. With the offset, every <unk> would become 0
  // (padding) and EOS 105.
  const TrainedModel trained = Train(tmp, "defaults", {"--model_type=unigram"});
  TokenizerOptions options = SentencePieceOptions(trained.model, 103);
  const std::string message =
      testing::ErrorMessage<InvalidArgument>([&] { TextTokenizer::Create(options); });
  EXPECT_NE(message.find(trained.model + ": --id-offset 103 keeps ids 0 and 1 for the model's pad "
                                         "and EOS, but its piece 0 is '<unk>' (unknown), piece 1 "
                                         "is '<s>' (control) and its EOS '</s>' is piece 2"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"), std::string::npos)
      << message;
  // Through the binary: a usage error before anything is written.
  WriteFile(tmp.File("in.txt"), "free software\n");
  const auto run = testing::RunCorpusflow(
      {"run",
       "read " + tmp.File("in.txt") + " | tokenize --kind sentencepiece --model " + trained.model +
           " --id-offset 103 --add-special | write " + tmp.File("out.jsonl"),
       "--progress", "never"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(trained.model + ": --id-offset 103 keeps ids 0 and 1"), std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("out.jsonl")));
  // Without the offset the same model is fine.
  options.id_offset = 0;
  EXPECT_EQ(TextTokenizer::Create(options)->end_id(), 2);
}

TEST(SentencePieceTest, InvalidUtf8GivesTheIdsOfSpmEncode) {
  ScopedTempDir tmp;
  // Truncated sequences, stray continuation bytes, 0xFF: SentencePiece makes one U+FFFD per bad
  // byte (an <unk>, or its three byte pieces with byte fallback); a repair before encoding made
  // one per sequence, and U+FFFD in the text is normalised to a space.
  const std::string input =
      "ab\xe4\xb8"
      "cd \xff\xfe x\n\xe4\xb8\xad\xe6\x96 自由\x80\x80软件\nplain text\n";
  WriteFile(tmp.File("in.txt"), input);
  const TrainedModel unigram = Train(tmp, "unigram", {"--model_type=unigram"});
  std::vector<std::string> byte_flags = kPegasusIds;
  byte_flags.insert(byte_flags.end(), {"--byte_fallback=true", "--character_coverage=0.995"});
  const TrainedModel bytes = Train(tmp, "bytes", byte_flags);
  for (const TrainedModel* trained : {&unigram, &bytes}) {
    SCOPED_TRACE(trained->model);
    const auto result = testing::RunCorpusflow(
        {"run",
         "read " + tmp.File("in.txt") + " | tokenize --kind sentencepiece --model " +
             trained->model + " | write " + tmp.File("out.jsonl") + " --field text_ids",
         "--progress", "never", "--stats-json", tmp.File("stats.json")});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(ReadFile(tmp.File("out.jsonl")),
              IdsJsonLines("text_ids", SpmIds(trained->model, SplitLines(input), 0)));
    // The two records with bad bytes are counted.
    EXPECT_NE(ReadFile(tmp.File("stats.json")).find("\"invalid_utf8_replaced\": 2"),
              std::string::npos)
        << ReadFile(tmp.File("stats.json"));
  }
}

TEST(SentencePieceTest, EndToEndThroughTheBinaryWithPegasusOffset) {
  ScopedTempDir tmp;
  const TrainedModel trained = Train(
      tmp, "m", {"--model_type=unigram", "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1"});
  WriteFile(tmp.File("in.txt"), "Debian 是一个自由的操作系统。\nfree software\n");
  const auto result = testing::RunCorpusflow(
      {"run",
       "read " + tmp.File("in.txt") + " | tokenize --kind sentencepiece --model " + trained.model +
           " --add-special --id-offset 103 --output tgt_ids | write " + tmp.File("out.jsonl") +
           " --field tgt_ids",
       "--progress", "never"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  WriteFile(tmp.File("plain.txt"), "Debian 是一个自由的操作系统。\nfree software\n");
  const auto spm =
      RunProgram({"spm_encode", "--model=" + trained.model, "--output_format=id",
                  "--extra_options=eos", "--minloglevel=2", "--input=" + tmp.File("plain.txt")});
  ASSERT_EQ(spm.exit_code, 0) << spm.err;
  std::string expected;
  for (const std::string& line : SplitLines(spm.out)) {
    expected += "{\"tgt_ids\":[";
    size_t pos = 0;
    bool first = true;
    while (pos < line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      const int id = std::stoi(line.substr(pos, sp - pos));
      expected += (first ? "" : ",") + std::to_string(id > 1 ? id + 103 : id);
      first = false;
      pos = sp + 1;
    }
    expected += "]}\n";
  }
  EXPECT_EQ(ReadFile(tmp.File("out.jsonl")), expected);
}

}  // namespace
}  // namespace corpusflow
