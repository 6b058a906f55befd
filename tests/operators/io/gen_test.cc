#include "operators/io/gen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/units.h"
#include "operators/io/english_words.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::Chain;
using testing::CollectedOutput;
using testing::CollectingSink;
using testing::RunChain;
using testing::TestRunOptions;

GenOptions Options(GenLanguage language, uint64_t seed = 1) {
  GenOptions options;
  options.language = language;
  options.seed = seed;
  options.docs = 1;
  return options;
}

std::vector<std::string> Documents(const GenOptions& options, uint64_t count) {
  const CorpusGenerator generator(options);
  std::string scratch;
  std::vector<std::string> docs;
  for (uint64_t i = 0; i < count; ++i) docs.emplace_back(generator.Generate(i, &scratch));
  return docs;
}

/// The documents of `gen ARGS | collect`.
std::vector<std::string> RunGen(const std::vector<std::string>& args, const RunOptions& options) {
  CollectedOutput out;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(OperatorRegistry::Global().Create("gen", args));
  chain.push_back(std::make_unique<CollectingSink>(&out));
  RunChain(std::move(chain), options);
  EXPECT_TRUE(out.finished);
  return out.texts;
}

uint64_t TextBytes(const std::vector<std::string>& docs) {
  uint64_t total = 0;
  for (const std::string& d : docs) total += d.size() + 1;
  return total;
}

/// Split UTF-8 text into code points (as strings).
std::vector<std::string> Utf8Chars(std::string_view text) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    chars.emplace_back(text.substr(i, n));
    i += n;
  }
  return chars;
}

bool IsCjkIdeograph(const std::string& c) {
  if (c.size() != 3) return false;
  return c >= "\u4e00" && c <= "\u9fff";
}

const std::vector<std::string> kChinesePunctuation = {"。", "！", "？", "，", "、", "；"};
const std::vector<std::string> kSentenceEnds = {"。", "！", "？"};

bool IsChinesePunctuation(const std::string& c) {
  return std::find(kChinesePunctuation.begin(), kChinesePunctuation.end(), c) !=
         kChinesePunctuation.end();
}

/// The Chinese words of a jieba dictionary that gen may use (only CJK ideographs, freq > 0).
std::unordered_set<std::string> LoadDictionaryWords(const std::string& path) {
  std::unordered_set<std::string> words;
  std::ifstream in(path);
  std::string word, line;
  uint64_t freq = 0;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    word = line.substr(0, space);
    freq = std::stoull(line.substr(space + 1));
    const std::vector<std::string> chars = Utf8Chars(word);
    if (freq > 0 && std::all_of(chars.begin(), chars.end(), IsCjkIdeograph)) words.insert(word);
  }
  return words;
}

/// Whether `chars` is a concatenation of words of `dict` (dynamic programming word break).
bool IsWordSequence(const std::vector<std::string>& chars,
                    const std::unordered_set<std::string>& dict, size_t max_word_chars) {
  std::vector<bool> reachable(chars.size() + 1, false);
  reachable[0] = true;
  for (size_t end = 1; end <= chars.size(); ++end) {
    std::string word;
    for (size_t begin = end; begin-- > 0 && end - begin <= max_word_chars;) {
      word.insert(0, chars[begin]);
      if (reachable[begin] && dict.count(word) > 0) {
        reachable[end] = true;
        break;
      }
    }
  }
  return reachable[chars.size()];
}

/// The runs of Chinese characters between punctuation marks.
std::vector<std::vector<std::string>> ChineseClauses(std::string_view text) {
  std::vector<std::vector<std::string>> clauses(1);
  for (const std::string& c : Utf8Chars(text)) {
    if (IsChinesePunctuation(c)) {
      clauses.emplace_back();
    } else {
      clauses.back().push_back(c);
    }
  }
  return clauses;
}

TEST(CorpusGeneratorTest, SameSeedGivesTheSameDocuments) {
  for (GenLanguage language : {GenLanguage::kChinese, GenLanguage::kEnglish, GenLanguage::kMixed}) {
    SCOPED_TRACE(std::string(GenLanguageName(language)));
    EXPECT_EQ(Documents(Options(language, 7), 500), Documents(Options(language, 7), 500));
  }
}

TEST(CorpusGeneratorTest, DifferentSeedsGiveDifferentDocuments) {
  const auto a = Documents(Options(GenLanguage::kMixed, 1), 200);
  const auto b = Documents(Options(GenLanguage::kMixed, 2), 200);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NE(a[i], b[i]) << i;
}

TEST(CorpusGeneratorTest, DocumentDependsOnlyOnSeedAndIndex) {
  const GenOptions options = Options(GenLanguage::kMixed, 3);
  const auto docs = Documents(options, 300);
  const CorpusGenerator generator(options);
  std::string scratch;
  for (uint64_t i : {299, 0, 150, 7, 150}) {
    EXPECT_EQ(generator.Generate(i, &scratch), docs[i]) << i;
  }
}

TEST(CorpusGeneratorTest, ChineseDocumentsAreDictionaryWordsAndPunctuation) {
  const GenOptions options = Options(GenLanguage::kChinese, 11);
  const std::unordered_set<std::string> dict = LoadDictionaryWords(options.dict_path);
  ASSERT_GT(dict.size(), 300000u);
  const CorpusGenerator generator(options);
  EXPECT_EQ(generator.chinese_word_count(), 348974u);
  std::string scratch;
  for (uint64_t i = 0; i < 300; ++i) {
    const std::string doc(generator.Generate(i, &scratch));
    SCOPED_TRACE(doc);
    const std::vector<std::string> chars = Utf8Chars(doc);
    ASSERT_FALSE(chars.empty());
    EXPECT_NE(std::find(kSentenceEnds.begin(), kSentenceEnds.end(), chars.back()),
              kSentenceEnds.end());
    const auto clauses = ChineseClauses(doc);
    // The text after the final mark is empty; every clause before it holds words.
    ASSERT_TRUE(clauses.back().empty());
    for (size_t c = 0; c + 1 < clauses.size(); ++c) {
      ASSERT_FALSE(clauses[c].empty());
      for (const std::string& ch : clauses[c]) ASSERT_TRUE(IsCjkIdeograph(ch)) << ch;
      ASSERT_TRUE(IsWordSequence(clauses[c], dict, 16)) << "clause " << c;
    }
  }
}

TEST(CorpusGeneratorTest, CustomDictionaryWordsComeInProportionToFrequency) {
  testing::ScopedTempDir dir;
  const std::string dict = dir.File("dict.txt");
  // ASCII words and zero frequencies are skipped.
  testing::WriteFile(dict, "苹果 10 n\n香蕉 5 n\n橙 1\nabc 100 eng\n零 0 m\r\n");
  GenOptions options = Options(GenLanguage::kChinese, 5);
  options.dict_path = dict;
  const CorpusGenerator generator(options);
  EXPECT_EQ(generator.chinese_word_count(), 3u);
  std::map<std::string, uint64_t> counts;
  std::string scratch;
  for (uint64_t i = 0; i < 400; ++i) {
    for (const auto& clause : ChineseClauses(generator.Generate(i, &scratch))) {
      // The three words share no prefix, so a greedy parse is the only one.
      for (size_t c = 0; c < clause.size();) {
        if (clause[c] == "橙") {
          ++counts["橙"];
          c += 1;
        } else {
          ASSERT_LT(c + 1, clause.size());
          const std::string word = clause[c] + clause[c + 1];
          ASSERT_TRUE(word == "苹果" || word == "香蕉") << word;
          ++counts[word];
          c += 2;
        }
      }
    }
  }
  const double total = static_cast<double>(counts["苹果"] + counts["香蕉"] + counts["橙"]);
  ASSERT_GT(total, 10000);
  // Pearson chi-square against 10:5:1 with 2 degrees of freedom: fail only at p < 1e-6.
  double chi2 = 0;
  for (const auto& [word, weight] : {std::pair{"苹果", 10.0}, {"香蕉", 5.0}, {"橙", 1.0}}) {
    const double expected = total * weight / 16.0;
    chi2 += std::pow(static_cast<double>(counts[word]) - expected, 2) / expected;
  }
  EXPECT_LT(chi2, 27.63);
}

TEST(CorpusGeneratorTest, MalformedDictionaryNamesFileAndLine) {
  testing::ScopedTempDir dir;
  const std::string dict = dir.File("dict.txt");
  testing::WriteFile(dict, "苹果 10 n\n香蕉 five n\n");
  GenOptions options = Options(GenLanguage::kMixed);
  options.dict_path = dict;
  EXPECT_EQ(testing::ErrorMessage<DataError>([&] { CorpusGenerator generator(options); }),
            dict + ":2: malformed dictionary line (expected 'word frequency [tag]')");
  options.dict_path = dir.File("missing.txt");
  EXPECT_THROW(CorpusGenerator{options}, IoError);
}

TEST(CorpusGeneratorTest, EnglishDocumentsAreCommonWordsInCapitalizedSentences) {
  const auto list = CommonEnglishWords();
  const std::unordered_set<std::string_view> words(list.begin(), list.end());
  EXPECT_EQ(words.size(), list.size()) << "duplicate words in the list";
  EXPECT_GE(list.size(), 300u);
  for (const std::string& doc : Documents(Options(GenLanguage::kEnglish, 4), 300)) {
    SCOPED_TRACE(doc);
    ASSERT_FALSE(doc.empty());
    ASSERT_TRUE(doc.back() == '.' || doc.back() == '!' || doc.back() == '?');
    bool sentence_start = true;
    size_t pos = 0;
    while (pos < doc.size()) {
      size_t end = doc.find(' ', pos);
      if (end == std::string::npos) end = doc.size();
      std::string token = doc.substr(pos, end - pos);
      ASSERT_FALSE(token.empty()) << "double space at " << pos;
      const char last = token.back();
      const bool ends_sentence = last == '.' || last == '!' || last == '?';
      if (ends_sentence || last == ',') token.pop_back();
      ASSERT_FALSE(token.empty());
      if (sentence_start) {
        ASSERT_TRUE(token[0] >= 'A' && token[0] <= 'Z') << token;
        token[0] = static_cast<char>(token[0] - 'A' + 'a');
      }
      ASSERT_TRUE(words.count(token) > 0) << token;
      sentence_start = ends_sentence;
      pos = end + 1;
    }
  }
}

TEST(CorpusGeneratorTest, MixedDocumentsMixChineseEnglishDigitsAndAsciiTerms) {
  size_t with_both = 0, with_digits = 0, with_ascii_term = 0;
  for (const std::string& doc : Documents(Options(GenLanguage::kMixed, 9), 500)) {
    bool cjk = false, english_sentence = false, digit = false;
    const std::vector<std::string> chars = Utf8Chars(doc);
    for (size_t i = 0; i < chars.size(); ++i) {
      const std::string& c = chars[i];
      const bool ascii_printable = c.size() == 1 && c[0] >= 0x20 && c[0] <= 0x7E;
      ASSERT_TRUE(IsCjkIdeograph(c) || IsChinesePunctuation(c) || ascii_printable)
          << "unexpected character '" << c << "' in " << doc;
      cjk = cjk || IsCjkIdeograph(c);
      digit = digit || (c.size() == 1 && c[0] >= '0' && c[0] <= '9');
      // An English sentence start: a capital letter opening the document or after ". ".
      if (c.size() == 1 && c[0] >= 'A' && c[0] <= 'Z' && i + 2 < chars.size() &&
          chars[i + 1].size() == 1 && chars[i + 1][0] >= 'a' && chars[i + 1][0] <= 'z' &&
          (i == 0 || chars[i - 1] == " " || IsChinesePunctuation(chars[i - 1]))) {
        english_sentence = true;
      }
    }
    with_both += cjk && english_sentence;
    with_digits += digit;
    for (std::string_view term : {"GPU", "Python", "API", "Linux", "iPhone", "JSON"}) {
      if (doc.find(term) != std::string::npos) {
        ++with_ascii_term;
        break;
      }
    }
  }
  EXPECT_GT(with_both, 100u);
  EXPECT_GT(with_digits, 100u);
  EXPECT_GT(with_ascii_term, 20u);
}

TEST(CorpusGeneratorTest, ParagraphsAreSeparatedByNewlinesOnlyWhenAsked) {
  GenOptions options = Options(GenLanguage::kMixed, 2);
  for (const std::string& doc : Documents(options, 300)) {
    ASSERT_EQ(doc.find('\n'), std::string::npos);
  }
  options.paragraphs = true;
  size_t with_paragraphs = 0;
  for (const std::string& doc : Documents(options, 300)) {
    ASSERT_NE(doc.front(), '\n');
    ASSERT_NE(doc.back(), '\n');
    ASSERT_EQ(doc.find("\n\n"), std::string::npos);
    ASSERT_EQ(doc.find(" \n"), std::string::npos);
    with_paragraphs += doc.find('\n') != std::string::npos;
  }
  EXPECT_GT(with_paragraphs, 50u);
}

TEST(CorpusGeneratorTest, DocumentLengthsRangeFromAFewWordsToSeveralKilobytes) {
  std::vector<size_t> lengths;
  for (const std::string& doc : Documents(Options(GenLanguage::kMixed, 1), 5000)) {
    lengths.push_back(doc.size());
  }
  std::sort(lengths.begin(), lengths.end());
  EXPECT_LT(lengths.front(), 64u);
  EXPECT_GT(lengths.back(), 8192u);
  EXPECT_LE(lengths.back(), 20000u);
  const size_t median = lengths[lengths.size() / 2];
  EXPECT_GT(median, 200u);
  EXPECT_LT(median, 1200u);
}

TEST(GenOperatorTest, OutputIsIdenticalForEveryThreadCountAndBudget) {
  const std::vector<std::string> args = {"--bytes", "600K", "--seed", "42"};
  const std::vector<std::string> reference = RunGen(args, TestRunOptions(1, 64 << 20));
  EXPECT_EQ(reference, Documents(Options(GenLanguage::kMixed, 42), reference.size()));
  for (int threads : {1, 2, 8}) {
    for (uint64_t batch_bytes : {uint64_t{4096}, uint64_t{0}}) {
      SCOPED_TRACE(threads);
      EXPECT_EQ(RunGen(args, TestRunOptions(threads, 1 << 20, batch_bytes)), reference);
    }
  }
}

TEST(GenOperatorTest, StopsAfterTheDocumentThatReachesTheByteTarget) {
  for (uint64_t target : {uint64_t{1}, uint64_t{1000}, uint64_t{300000}}) {
    SCOPED_TRACE(target);
    const auto docs =
        RunGen({"--bytes", std::to_string(target), "--lang", "zh"}, TestRunOptions(2, 1 << 20));
    ASSERT_FALSE(docs.empty());
    const uint64_t total = TextBytes(docs);
    EXPECT_GE(total, target);
    EXPECT_LT(total - (docs.back().size() + 1), target);
  }
}

TEST(GenOperatorTest, DocsLimitAndWhicheverLimitComesFirst) {
  for (int threads : {1, 8}) {
    SCOPED_TRACE(threads);
    const auto docs = RunGen({"--docs", "197", "--lang", "en"}, TestRunOptions(threads, 1 << 20));
    EXPECT_EQ(docs, Documents(Options(GenLanguage::kEnglish), 197));
    EXPECT_EQ(RunGen({"--docs", "5", "--bytes", "1M"}, TestRunOptions(threads, 1 << 20)).size(),
              5u);
    const auto small =
        RunGen({"--docs", "100000", "--bytes", "2K"}, TestRunOptions(threads, 1 << 20));
    EXPECT_LT(small.size(), 100u);
    EXPECT_GE(TextBytes(small), 2048u);
  }
}

TEST(GenOperatorTest, OptionsAndPlanTimeChecks) {
  const OperatorRegistry& registry = OperatorRegistry::Global();
  auto op =
      registry.Create("gen", {"--bytes", "2G", "--lang", "zh", "--seed", "9", "--field", "body"});
  const auto& gen = static_cast<const GenOperator&>(*op);
  EXPECT_EQ(gen.options().bytes, uint64_t{2} << 30);
  EXPECT_EQ(gen.TotalBytes(), std::optional<uint64_t>(uint64_t{2} << 30));
  EXPECT_EQ(gen.OutputSchema(Schema()).ToString(), "body:string");
  EXPECT_EQ(gen.Describe(), "generate " + FormatBytes(static_cast<double>(uint64_t{2} << 30)) +
                                " of synthetic zh text (seed 9) -> body");
  EXPECT_EQ(static_cast<const GenOperator&>(*registry.Create("gen", {"--docs", "3"})).TotalBytes(),
            std::nullopt);

  EXPECT_THROW(registry.Create("gen", {}), InvalidArgument);
  EXPECT_THROW(registry.Create("gen", {"--bytes", "0"}), InvalidArgument);
  EXPECT_THROW(registry.Create("gen", {"--bytes", "lots"}), InvalidArgument);
  EXPECT_THROW(registry.Create("gen", {"--docs", "-1"}), InvalidArgument);
  EXPECT_THROW(registry.Create("gen", {"--bytes", "1M", "--lang", "fr"}), InvalidArgument);
  EXPECT_THROW(registry.Create("gen", {"--bytes", "1M", "--field", ""}), InvalidArgument);

  // A missing dictionary is found at plan time, unless the language needs none.
  const PlanContext ctx = testing::TestPlanContext(TestRunOptions(1, 1 << 20));
  EXPECT_THROW(
      registry.Create("gen", {"--bytes", "1M", "--dict", "/nonexistent/dict.txt"})->Validate(ctx),
      IoError);
  registry.Create("gen", {"--bytes", "1M", "--lang", "en", "--dict", "/nonexistent/dict.txt"})
      ->Validate(ctx);
}

TEST(GenCliTest, SameSeedWritesByteIdenticalFilesForAnyThreadCount) {
  testing::ScopedTempDir dir;
  std::string reference;
  for (const char* threads : {"1", "2", "8"}) {
    const std::string path = dir.File(std::string("out-") + threads + ".txt");
    const auto result = testing::RunCorpusflow(
        {"run", "gen --bytes 1M --seed 5 | write " + path, "--threads", threads, "--memory", "8M"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string data = testing::ReadFile(path);
    EXPECT_GE(data.size(), 1u << 20);
    EXPECT_LT(data.size(), (1u << 20) + 40000);
    if (reference.empty()) {
      reference = data;
    } else {
      EXPECT_TRUE(data == reference) << "threads " << threads;
    }
  }
  const std::string other = dir.File("other.txt");
  ASSERT_EQ(testing::RunCorpusflow({"run", "gen --bytes 1M --seed 6 | write " + other}).exit_code,
            0);
  EXPECT_NE(testing::ReadFile(other), reference);
}

// The seed is an integer figure of --stats-json, written exactly: a run is reproducible from
// it (printf's %.6g wrote 1.23457e+13, which names another seed).
TEST(GenCliTest, StatsJsonKeepsTheSeedExact) {
  testing::ScopedTempDir dir;
  const auto result = testing::RunCorpusflow(
      {"run", "gen --bytes 1K --seed 12345678901234 | write " + dir.File("out.txt"), "--stats-json",
       dir.File("stats.json"), "--progress", "never"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string stats = testing::ReadFile(dir.File("stats.json"));
  EXPECT_NE(stats.find("\"counters\": {\"seed\": 12345678901234, \"lang\": \"mixed\"}"),
            std::string::npos)
      << stats;
}

}  // namespace
}  // namespace corpusflow
