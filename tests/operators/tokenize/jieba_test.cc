// The jieba-compatible segmenter against python3-jieba (the oracle, run with /usr/bin/python3) on
// the REFERENCE.md vectors, on every line of the Chinese texts of Debian's fortunes-zh, on random
// text built from dictionary words, with custom and user dictionaries, and on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::SplitLines;

using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SourceDir;
using testing::WriteFile;

const JiebaSegmenter& DefaultSegmenter() {
  static const std::unique_ptr<JiebaSegmenter> segmenter =
      JiebaSegmenter::Load(JiebaSegmenter::DefaultDictionaryPath());
  return *segmenter;
}

std::string Joined(const JiebaSegmenter& segmenter, std::string_view text) {
  std::vector<std::string_view> words;
  segmenter.Cut(text, &words);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += "/";
    out += words[i];
  }
  return out;
}

/// Run the Python oracle on `input_path`; returns its lines of word byte lengths.
std::vector<std::string> OracleLengths(const ScopedTempDir& tmp, const std::string& input_path,
                                       const std::vector<std::string>& extra_args = {}) {
  const std::string output = tmp.File("oracle.out");
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   SourceDir() + "/tests/operators/tokenize/jieba_oracle.py",
                                   input_path, output};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  // jieba writes its dictionary cache to $TMPDIR: keep it inside the test folder.
  const auto result = RunProgram(argv, "", {"TMPDIR=" + tmp.path().string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return SplitLines(ReadFile(output));
}

/// Compare the segmenter with the oracle on every line of `data`; returns the differing lines.
int CompareWithOracle(const JiebaSegmenter& segmenter, const std::string& data,
                      const std::vector<std::string>& extra_args = {}) {
  ScopedTempDir tmp;
  const std::string input = tmp.File("input.txt");
  WriteFile(input, data);
  const std::vector<std::string> expected = OracleLengths(tmp, input, extra_args);
  const std::vector<std::string> lines = SplitLines(data);
  EXPECT_EQ(expected.size(), lines.size());
  int differences = 0;
  std::vector<std::string_view> words;
  std::string clean;
  for (size_t i = 0; i < lines.size() && i < expected.size(); ++i) {
    ReplaceInvalidUtf8(lines[i], &clean);
    segmenter.Cut(clean, &words);
    std::string lengths;
    for (size_t j = 0; j < words.size(); ++j) {
      if (j > 0) lengths += ' ';
      lengths += std::to_string(words[j].size());
    }
    if (lengths != expected[i]) {
      if (++differences <= 5) {
        ADD_FAILURE() << "line " << i + 1 << ": '" << clean
                      << "'\n  corpusflow: " << Joined(segmenter, clean) << "\n  lengths "
                      << lengths << "\n  jieba lengths " << expected[i];
      }
    }
  }
  return differences;
}

TEST(JiebaSegmenterTest, ReferenceVectors) {
  const JiebaSegmenter& s = DefaultSegmenter();
  EXPECT_EQ(Joined(s, "他来到了网易杭研大厦"), "他/来到/了/网易/杭/研/大厦");
  EXPECT_EQ(Joined(s, "结婚的和尚未结婚的"), "结婚/的/和/尚未/结婚/的");
  EXPECT_EQ(Joined(s, "增长了3.14%，e-mail地址是a_b@x.com"),
            "增长/了/3/./14/%/，/e/-/mail/地址/是/a/_/b/@/x/./com");
  EXPECT_EQ(Joined(s, "U盘和u盘"), "U盘/和/u/盘");
  EXPECT_EQ(Joined(s, "iPhone12发布于2020年10月，售价5499元。"),
            "iPhone12/发布/于/2020/年/10/月/，/售价/5499/元/。");
  EXPECT_EQ(Joined(s, "c++和C#都是编程语言"), "c++/和/C#/都/是/编程语言");
  EXPECT_EQ(Joined(s, "hello  world\r\n你好\t！"), "hello/ / /world/\r\n/你好/\t/！");
}

TEST(JiebaSegmenterTest, DictionaryFigures) {
  const JiebaDictionary& dict = DefaultSegmenter().dictionary();
  EXPECT_EQ(dict.total_frequency(), 60101967u);
  EXPECT_EQ(dict.Frequency("来到"), 8779);  // dict.txt line 181502: "来到 8779 v"
  EXPECT_EQ(dict.Frequency("清华大"), 0);   // a prefix of 清华大学
  EXPECT_EQ(dict.Frequency("清华大学院校区"), std::nullopt);
}

TEST(JiebaSegmenterTest, EmptyAndWhitespaceOnly) {
  const JiebaSegmenter& s = DefaultSegmenter();
  std::vector<std::string_view> words = {"stale"};
  s.Cut("", &words);
  EXPECT_TRUE(words.empty());
  EXPECT_EQ(Joined(s, " \r\r\n\n"), " /\r/\r\n/\n");
  EXPECT_EQ(Joined(s, "\xE3\x80\x80x"), "\xE3\x80\x80/x");  // U+3000 is whitespace
}

TEST(JiebaSegmenterTest, InvalidUtf8SubpartsAreTokens) {
  const JiebaSegmenter& s = DefaultSegmenter();
  // A truncated 3-byte sequence, a stray continuation byte, 0xFF, then valid text.
  const std::string text =
      "\xE4\xB8"
      "abc\x80\xFF你好";
  std::vector<std::string_view> words;
  s.Cut(text, &words);
  ASSERT_EQ(words.size(), 5u);
  EXPECT_EQ(words[0], "\xE4\xB8");
  EXPECT_EQ(words[1], "abc");
  EXPECT_EQ(words[2], "\x80");
  EXPECT_EQ(words[3], "\xFF");
  EXPECT_EQ(words[4], "你好");
}

TEST(JiebaSegmenterTest, LongLineWithoutSpaces) {
  const JiebaSegmenter& s = DefaultSegmenter();
  std::string letters(1 << 20, 'a');
  std::vector<std::string_view> words;
  s.Cut(letters, &words);
  ASSERT_EQ(words.size(), 1u);
  EXPECT_EQ(words[0].size(), letters.size());
  std::string chinese;
  while (chinese.size() < (1 << 20)) chinese += "中华人民共和国成立了";
  s.Cut(chinese, &words);
  size_t covered = 0;
  for (std::string_view w : words) covered += w.size();
  EXPECT_EQ(covered, chinese.size());
  EXPECT_EQ(words[0], "中华人民共和国");
}

TEST(JiebaSegmenterTest, ConcurrentCutsAgree) {
  const JiebaSegmenter& s = DefaultSegmenter();
  const std::string text = "我来到北京清华大学，iPhone12发布于2020年10月。结婚的和尚未结婚的";
  const std::string expected = Joined(s, text);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (Joined(s, text) != expected) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(JiebaSegmenterTest, ParityWithPythonJiebaOnFortunesZh) {
  // Every line of the Chinese fortunes (Debian fortunes-zh): prose with ASCII, escape
  // sequences and punctuation, Tang and Song poems.
  const std::string dir = "/usr/share/games/fortunes/";
  std::string data;
  for (const char* name : {"chinese", "tang300", "song100"}) {
    const std::string path = dir + name;
    ASSERT_TRUE(std::filesystem::exists(path))
        << path << " is missing: install the Debian package fortunes-zh (the project's setup "
        << "installs it)";
    data += ReadFile(path);
    if (!data.empty() && data.back() != '\n') data += '\n';
  }
  EXPECT_GT(SplitLines(data).size(), 40000u);
  EXPECT_EQ(CompareWithOracle(DefaultSegmenter(), data), 0);
}

/// Random lines made of dictionary words, single characters of many classes and separators.
std::string RandomText(uint64_t seed, int lines) {
  static const std::vector<std::string> kWords = [] {
    std::vector<std::string> words;
    const std::string dict = ReadFile(JiebaSegmenter::DefaultDictionaryPath());
    size_t pos = 0;
    while (pos < dict.size()) {
      const size_t eol = dict.find('\n', pos);
      words.push_back(dict.substr(pos, dict.find(' ', pos) - pos));
      pos = eol == std::string::npos ? dict.size() : eol + 1;
    }
    return words;
  }();
  const std::vector<std::string> pieces = {
      "a",
      "B",
      "z",
      "7",
      "0",
      "+",
      "#",
      "&",
      ".",
      "_",
      "%",
      "-",
      " ",
      "  ",
      "\t",
      "\r\n",
      "\r",
      "\x0b",
      "\x1c",
      std::string(1, '\0'),
      "\xC2\x85",
      "\xC2\xA0",
      "\xE3\x80\x80",
      "，",
      "。",
      "！",
      "“",
      "”",
      "é",
      "Ω",
      "\xEF\xBC\x91",      // full-width 1
      "\xE9\xBF\x96",      // U+9FD6, just outside jieba's block range
      "\xE4\xB8\x80",      // U+4E00
      "\xF0\x9F\x98\x80",  // U+1F600
      "\xF0\xA0\x80\x80",  // U+20000
      "iPhone",
      "C++",
      "3.14",
      "e-mail",
      "A_b",
      "x86_64",
      "\xEF\xBF\xBD"};
  std::mt19937_64 rng(seed);
  std::string out;
  for (int l = 0; l < lines; ++l) {
    const int items = static_cast<int>(rng() % 40);
    for (int i = 0; i < items; ++i) {
      if (rng() % 3 == 0) {
        out += pieces[rng() % pieces.size()];
      } else {
        out += kWords[rng() % kWords.size()];
      }
    }
    out += '\n';
  }
  return out;
}

TEST(JiebaSegmenterTest, ParityWithPythonJiebaOnRandomText) {
  EXPECT_EQ(CompareWithOracle(DefaultSegmenter(), RandomText(20240601, 3000)), 0);
}

TEST(JiebaSegmenterTest, CustomDictionaryTiesAndDuplicates) {
  ScopedTempDir tmp;
  const std::string dict_path = tmp.File("dict.txt");
  // Equal scores everywhere (the tie rule), a duplicated word (last frequency wins, the total
  // counts both), a word given after its own prefix, and a zero-frequency word.
  WriteFile(dict_path,
            "ab 10 n\nbc 10\nabc 100\na 10\nb 10\nc 10\nabcd 0\nd 5\nd 10\n"
            "甲乙 7\n乙丙 7\n甲 7\n乙 7\n丙 7\n甲乙丙丁 3 x\n");
  auto segmenter = JiebaSegmenter::Load(dict_path);
  EXPECT_EQ(segmenter->dictionary().total_frequency(),
            10u + 10 + 100 + 10 + 10 + 10 + 0 + 5 + 10 + 7 + 7 + 7 + 7 + 7 + 3);
  EXPECT_EQ(segmenter->dictionary().Frequency("d"), 10);
  EXPECT_EQ(segmenter->dictionary().Frequency("abcd"), 0);
  const std::string text =
      "abcd\nabcabc\nbcd\n甲乙丙\n甲乙丙丁\n乙丙甲乙\nabab cdcd\naXb\n甲乙丙丁戊\n";
  EXPECT_EQ(CompareWithOracle(*segmenter, text, {"--dict", dict_path}), 0);
  EXPECT_EQ(CompareWithOracle(*segmenter, RandomText(7, 200), {"--dict", dict_path}), 0);
}

TEST(JiebaSegmenterTest, UserDictionaryMatchesLoadUserdict) {
  ScopedTempDir tmp;
  const std::string user_path = tmp.File("user.txt");
  // With and without frequency and tag, a BOM, blank lines, CRLF, a word containing a space and
  // a word that ends in digits.
  WriteFile(user_path,
            "\xEF\xBB\xBF云计算 5 n\n创新办 3 i\n\n杭研\r\n网易杭研大厦\n凱特琳 nz\n台中\n"
            "a b c\niPhone12 100\n12 34\n尚未结婚 0\n");
  auto segmenter = JiebaSegmenter::Load(JiebaSegmenter::DefaultDictionaryPath(), {user_path});
  const std::string text =
      "他来到了网易杭研大厦\n云计算创新办在台中\n凱特琳是a b c\niPhone12发布了\n1234和12 34\n"
      "结婚的和尚未结婚的\n李小福是创新办主任也是云计算方面的专家\n";
  EXPECT_EQ(CompareWithOracle(*segmenter, text, {"--user-dict", user_path}), 0);
  EXPECT_EQ(CompareWithOracle(*segmenter, RandomText(11, 300), {"--user-dict", user_path}), 0);
}

TEST(JiebaSegmenterTest, MalformedDictionaryNamesFileAndLine) {
  ScopedTempDir tmp;
  struct Case {
    std::string content;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"ab 1\nnofrequency\n", ":2: "}, {"ab 1\n\ncd 2\n", ":2: "}, {"ab x\n", ":1: "},
      {"ab 1\ncd -5\n", ":2: "},       {"ab  1\n", ":1: "},        {"ab 1\nc\xFF 2\n", ":2: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.content);
    const std::string path = tmp.File("bad.txt");
    WriteFile(path, c.content);
    const std::string message =
        testing::ErrorMessage<DataError>([&] { JiebaSegmenter::Load(path); });
    EXPECT_NE(message.find(path + c.expected), std::string::npos) << message;
  }
  EXPECT_THROW(JiebaSegmenter::Load(tmp.File("missing.txt")), IoError);
  const std::string user = tmp.File("user.txt");
  WriteFile(user, "ok 1\nbad\xC3\n");
  const std::string message = testing::ErrorMessage<DataError>(
      [&] { JiebaSegmenter::Load(JiebaSegmenter::DefaultDictionaryPath(), {user}); });
  EXPECT_NE(message.find(user + ":2: "), std::string::npos) << message;
}

}  // namespace
}  // namespace corpusflow
