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
