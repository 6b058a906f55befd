#include "tests/testing/bpe_parity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {

using namespace std::string_literals;

bool BpeOraclesInstalled() {
  return std::filesystem::exists(SourceDir() + "/tests/oracles/node_modules/tiktoken") &&
         std::filesystem::exists(SourceDir() + "/tests/oracles/node_modules/tokenizers");
}

std::string BpeOracle() { return SourceDir() + "/tests/oracles/bpe_oracle.js"; }

std::vector<std::string> BpeParityCorpus() {
  std::vector<std::string> docs = {
      "Hello world! It's 2026; we'll see. I'M HERE, you'RE there, THEY'VE gone.",
      "中文句子没有空格但是很长的一段话，其中夹杂English words和数字1234567890以及标点！？",
      "日本語のテキスト、カタカナとひらがな。한국어 텍스트. Ελληνικά κείμενα, Русский текст Ё ё.",
      "العربية نص עברית טקסט हिन्दी पाठ ไทย ภาษา ქართული Հայերեն አማርኛ ᏣᎳᎩ ᠮᠣᠩᠭᠣᠯ",
      "emoji 😀👍🏽 and a ZWJ family 👨\u200d👩\u200d👧\u200d👦 flags "
      "🇨🇳🇺🇸 "
      "keycap "
      "1️⃣ "
      "end",
      "digits 1 12 123 1234 12345 123456789012345678901234567890 3.14159 1,000,000 ½ ² ٣٤٥",
      "spaces:  two   three    four\t\ttabs \u00a0nbsp\u3000ideographic\u2028ls\u0085nel end ",
      "lines\r\nwith\r\n\r\nCRLF\n\n\nand LF\rCR only\n",
      "   leading and trailing   ",
      "literal <|endoftext|> and <|fim_prefix|>x<|fim_suffix|>y<|fim_middle|> <|endofprompt|>",
      "<|endoftext|>",
      "code: for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; } // done\n    return 0;",
      "URLs https://example.org/path?q=1&r=[2]#frag and a_b-c@x.com, /usr/local/bin/",
      "combining e\u0301 vs é, A\u030A, stacked a\u0323\u0302, Hangul jamo \u1100\u1161\u11a8",
      "ǅemal Ǆ ſtraße K Ω ẞ İstanbul ﬁne 'ſ 'S 'ſt",
      std::string(500, 'a') + " " + std::string(300, '9') + " " + std::string(200, ' ') + "x",
      std::string(120, '!') + std::string(50, '\n') + "end",
      "invalid \xff\xfe bytes \xe4\xb8 cut \xf0\x80\x80 overlong \xc0\xaf and \xed\xa0\x80 "
      "surrogate",
      "",
      "\t",
  };
  // Chinese prose (fortunes-zh) and English licenses (base-files), a few hundred documents.
  std::vector<std::string> zh = SplitLines(ReadFile("/usr/share/games/fortunes/chinese"));
  std::vector<std::string> en = SplitLines(ReadFile("/usr/share/common-licenses/GPL-3"));
  std::string doc;
  for (size_t i = 0; i < std::min<size_t>(zh.size(), 3000); ++i) {
    doc += zh[i] + (i % 2 == 0 ? "\n" : " ");
    if (i < en.size()) doc += en[i] + "\n";
    if (i % 10 == 9) {
      docs.push_back(doc);
      doc.clear();
    }
  }
  return docs;
}

int CompareBpeWithOracle(const std::vector<std::string>& docs,
                         const std::vector<std::string>& oracle_args,
                         const std::vector<std::string>& oracle_flags,
                         const std::string& tokenize_args, const std::string& label) {
  ScopedTempDir dir;
  std::string input;
  for (size_t i = 0; i < docs.size(); ++i) input += (i > 0 ? "\0"s : ""s) + docs[i];
  WriteFile(dir.File("docs.bin"), input);
  std::vector<std::string> argv = {"node", BpeOracle()};
  argv.insert(argv.end(), oracle_args.begin(), oracle_args.end());
  argv.push_back(dir.File("docs.bin"));
  argv.push_back(dir.File("oracle.txt"));
  argv.insert(argv.end(), oracle_flags.begin(), oracle_flags.end());
  const CommandResult oracle = RunProgram(argv);
  EXPECT_EQ(oracle.exit_code, 0) << oracle.err;
  const std::vector<std::string> expected = SplitLines(ReadFile(dir.File("oracle.txt")));
  EXPECT_EQ(expected.size(), docs.size());
  const CommandResult r =
      RunCorpusflow({"run",
                     "read " + dir.File("docs.bin") + " -z | tokenize --kind bpe " + tokenize_args +
                         " | write " + dir.File("ids.jsonl") + " --field text_ids",
                     "--progress", "never", "--threads", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> got = SplitLines(ReadFile(dir.File("ids.jsonl")));
  EXPECT_EQ(got.size(), docs.size());
  int differences = 0;
  for (size_t i = 0; i < got.size() && i < expected.size(); ++i) {
    // {"text_ids":[1,2,3]} -> "1 2 3"
    std::string ids = got[i].substr(got[i].find('[') + 1);
    ids.resize(ids.rfind(']'));
    std::replace(ids.begin(), ids.end(), ',', ' ');
    if (ids != expected[i] && ++differences <= 3) {
      ADD_FAILURE() << label << " document " << i << ": '" << docs[i].substr(0, 200)
                    << "'\n  corpusflow: " << ids.substr(0, 400)
                    << "\n  oracle:     " << expected[i].substr(0, 400);
    }
  }
  return differences;
}

}  // namespace corpusflow::testing
