// PEGASUS gap-sentence generation: the m-table, the REFERENCE worked example (ROUGE-1 scores, Ind
// and Seq picks, stopwords), the tie rules, the incremental ROUGE against a direct computation on
// random documents, the tokenizers, and the `gsg` operator (masking options, dropped documents,
// determinism for any thread count, the sentences field).
#include "operators/pegasus/gsg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "operators/pegasus/gap_sentence_selector.h"
#include "operators/pegasus/rouge.h"
#include "operators/pegasus/sentence_splitter.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using Indices = std::vector<uint32_t>;

const char kCatDoc[] =
    "The cat sat on the mat. The dog sat on the log. A bird flew. The cat and the dog sat.";

DocumentTokens Tokens(std::string_view text, SentenceMode mode, const RougeTokenizer& tokenizer) {
  std::vector<std::string_view> sentences;
  SplitSentences(text, mode, &sentences);
  DocumentTokens doc;
  doc.Build(sentences, tokenizer);
  return doc;
}

Indices Select(GsgStrategy strategy, RougeCounting counting, float ratio,
               const DocumentTokens& doc) {
  GapSentenceSelector selector(strategy, counting, ratio);
  Indices indices;
  RecordRandom random(1, 0, 0);
  selector.Select(doc, &random, &indices);
  return indices;
}

TEST(GapSentenceCountTest, ReferenceTable) {
  // REFERENCE.md section 2: m for r = 0.15 / 0.30 / 0.45.
  const std::map<size_t, std::vector<size_t>> table = {
      {4, {1, 1, 1}}, {5, {1, 1, 2}}, {7, {1, 2, 3}}, {9, {1, 2, 4}}, {10, {1, 3, 4}}};
  for (const auto& [n, ms] : table) {
    EXPECT_EQ(GapSentenceCount(n, 0.15f), ms[0]) << n;
    EXPECT_EQ(GapSentenceCount(n, 0.30f), ms[1]) << n;
    EXPECT_EQ(GapSentenceCount(n, 0.45f), ms[2]) << n;
  }
  EXPECT_EQ(GapSentenceCount(0, 0.3f), 0u);
  EXPECT_EQ(GapSentenceCount(1, 0.3f), 1u);
  EXPECT_EQ(GapSentenceCount(3, 1.0f), 3u);
}

TEST(RougeTest, WorkedExampleScores) {
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  const DocumentTokens doc = Tokens(kCatDoc, SentenceMode::kPegasus, tokenizer);
  ASSERT_EQ(doc.sentences().size(), 4u);
  uint32_t total = 0;
  for (const TokenCounts& s : doc.sentences()) total += s.total;
  EXPECT_EQ(total, 21u);
  GapSentenceSelector selector(GsgStrategy::kInd, RougeCounting::kOrig, 0.3f);
  std::vector<float> scores;
  selector.IndependentScores(doc, &scores);
  ASSERT_EQ(scores.size(), 4u);
  // s0: reference 15 tokens, candidate 6, overlap 5 -> P 5/6, R 1/3, F 10/21.
  EXPECT_EQ(scores[0], RougeF1(5, 15, 6));
  EXPECT_NEAR(scores[0], 10.0 / 21.0, 1e-6);
  EXPECT_EQ(scores[1], scores[0]);
  EXPECT_EQ(scores[3], scores[0]);
  EXPECT_EQ(scores[2], 0.0f);
}

TEST(GapSentenceSelectorTest, WorkedExamplePicks) {
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  const DocumentTokens doc = Tokens(kCatDoc, SentenceMode::kPegasus, tokenizer);
  // n = 4: ratio 0.25 gives m = 1, ratio 0.5 gives m = 2.
  EXPECT_EQ(Select(GsgStrategy::kInd, RougeCounting::kOrig, 0.25f, doc), (Indices{3}));
  EXPECT_EQ(Select(GsgStrategy::kInd, RougeCounting::kOrig, 0.5f, doc), (Indices{1, 3}));
  // Seq: round 1 picks 3; in round 2, s0, s1 and s2 tie at 10/21 and >= picks 2.
  EXPECT_EQ(Select(GsgStrategy::kSeq, RougeCounting::kOrig, 0.25f, doc), (Indices{3}));
  EXPECT_EQ(Select(GsgStrategy::kSeq, RougeCounting::kOrig, 0.5f, doc), (Indices{2, 3}));
  EXPECT_EQ(Select(GsgStrategy::kLead, RougeCounting::kOrig, 0.5f, doc), (Indices{0, 1}));
}

TEST(GapSentenceSelectorTest, WorkedExampleWithStopwords) {
  const RougeTokenizer tokenizer(RougeTokens::kReference, EnglishStopwords());
  const DocumentTokens doc = Tokens(kCatDoc, SentenceMode::kPegasus, tokenizer);
  uint32_t total = 0;
  for (const TokenCounts& s : doc.sentences()) total += s.total;
  EXPECT_EQ(total, 11u);
  GapSentenceSelector selector(GsgStrategy::kInd, RougeCounting::kOrig, 0.25f);
  std::vector<float> scores;
  selector.IndependentScores(doc, &scores);
  EXPECT_NEAR(scores[3], 6.0 / 11.0, 1e-6);
  EXPECT_NEAR(scores[0], 4.0 / 11.0, 1e-6);
  EXPECT_NEAR(scores[1], 4.0 / 11.0, 1e-6);
  EXPECT_EQ(Select(GsgStrategy::kInd, RougeCounting::kOrig, 0.25f, doc), (Indices{3}));
}

TEST(GapSentenceSelectorTest, TieRules) {
  // Identical sentences all score the same.
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  const DocumentTokens doc = Tokens("a b. a b. a b. a b. a b.", SentenceMode::kPegasus, tokenizer);
  ASSERT_EQ(doc.sentences().size(), 5u);
  for (const RougeCounting counting : {RougeCounting::kOrig, RougeCounting::kUniq}) {
    // Ind: (score, index) descending, so the highest indices win.
    EXPECT_EQ(Select(GsgStrategy::kInd, counting, 0.4f, doc), (Indices{3, 4}));
    // Seq: >= keeps the last index of each round.
    EXPECT_EQ(Select(GsgStrategy::kSeq, counting, 0.4f, doc), (Indices{3, 4}));
    // Continuous: the later window.
    EXPECT_EQ(Select(GsgStrategy::kContinuous, counting, 0.4f, doc), (Indices{3, 4}));
  }
  // All scores 0 (no tokens at all, e.g. Chinese with the reference tokenizer): the same rules.
  const DocumentTokens zh = Tokens("第一句. 第二句. 第三句.", SentenceMode::kPegasus, tokenizer);
  ASSERT_EQ(zh.sentences().size(), 3u);
  EXPECT_EQ(Select(GsgStrategy::kInd, RougeCounting::kOrig, 0.3f, zh), (Indices{2}));
  EXPECT_EQ(Select(GsgStrategy::kSeq, RougeCounting::kOrig, 0.7f, zh), (Indices{1, 2}));
}

TEST(GapSentenceSelectorTest, UniqClipsCounts) {
  // s0 repeats "x": Orig rewards the repetition, Uniq does not.
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  const DocumentTokens doc =
      Tokens("x x x x y. x y z. x x x q. w v u.", SentenceMode::kPegasus, tokenizer);
  GapSentenceSelector orig(GsgStrategy::kInd, RougeCounting::kOrig, 0.25f);
  GapSentenceSelector uniq(GsgStrategy::kInd, RougeCounting::kUniq, 0.25f);
  std::vector<float> o, u;
  orig.IndependentScores(doc, &o);
  uniq.IndependentScores(doc, &u);
  // s0 = x x x x y (5 tokens); rest = x y z x x x q w v u (10): overlap min(4,4) + min(1,1) = 5.
  EXPECT_EQ(o[0], RougeF1(5, 10, 5));
  // Uniq: s0 has {x, y}; rest has {x, y, z, q, w, v, u}: overlap 2, P 2/2, R 2/7.
  EXPECT_EQ(u[0], RougeF1(2, 7, 2));
  // s1 = x y z (3); rest = x x x x y x x x q w v u (12): overlap x1 y1 = 2.
  EXPECT_EQ(o[1], RougeF1(2, 12, 3));
  // Uniq: s1 {x,y,z}; rest {x,y,q,w,v,u}: overlap 2, P 2/3, R 2/6.
  EXPECT_EQ(u[1], RougeF1(2, 6, 3));
  EXPECT_EQ(Select(GsgStrategy::kInd, RougeCounting::kOrig, 0.25f, doc), (Indices{0}));
}

// A direct computation of the reference's ROUGE-1 F1 from token multisets.
float DirectF1(const std::map<std::string, int>& ref, const std::map<std::string, int>& cand,
               RougeCounting counting) {
  double overlap = 0, ref_size = 0, cand_size = 0;
  for (const auto& [token, count] : ref) {
    if (count <= 0) continue;
    ref_size += counting == RougeCounting::kOrig ? count : 1;
    const auto it = cand.find(token);
    if (it != cand.end() && it->second > 0) {
      overlap += counting == RougeCounting::kOrig ? std::min(count, it->second) : 1;
    }
  }
  for (const auto& [token, count] : cand) {
    if (count > 0) cand_size += counting == RougeCounting::kOrig ? count : 1;
  }
  return RougeF1(overlap, ref_size, cand_size);
}

std::map<std::string, int> Count(const std::vector<std::vector<std::string>>& sentences,
                                 const std::vector<bool>& take) {
  std::map<std::string, int> counts;
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (!take[i]) continue;
    for (const std::string& t : sentences[i]) ++counts[t];
  }
  return counts;
}

Indices DirectSelect(GsgStrategy strategy, RougeCounting counting, size_t m,
                     const std::vector<std::vector<std::string>>& s) {
  const size_t n = s.size();
  Indices out;
  if (strategy == GsgStrategy::kInd) {
    std::vector<std::pair<float, uint32_t>> ranked;
    for (size_t i = 0; i < n; ++i) {
      std::vector<bool> rest(n, true), self(n, false);
      rest[i] = false;
      self[i] = true;
      ranked.emplace_back(DirectF1(Count(s, rest), Count(s, self), counting), i);
    }
    std::sort(ranked.begin(), ranked.end(), std::greater<>());
    for (size_t k = 0; k < m; ++k) out.push_back(ranked[k].second);
  } else if (strategy == GsgStrategy::kSeq) {
    std::vector<bool> selected(n, false);
    for (size_t round = 0; round < m; ++round) {
      float best = -1;
      size_t best_i = 0;
      for (size_t i = 0; i < n; ++i) {
        if (selected[i]) continue;
        std::vector<bool> cand = selected, rest(n);
        cand[i] = true;
        for (size_t j = 0; j < n; ++j) rest[j] = !cand[j];
        const float f = DirectF1(Count(s, rest), Count(s, cand), counting);
        if (f >= best) {
          best = f;
          best_i = i;
        }
      }
      selected[best_i] = true;
      out.push_back(static_cast<uint32_t>(best_i));
    }
  } else {
    float best = -1;
    size_t best_start = 0;
    for (size_t start = 0; start + m <= n; ++start) {
      std::vector<bool> cand(n, false), rest(n, true);
      for (size_t k = start; k < start + m; ++k) cand[k] = true, rest[k] = false;
      const float f = DirectF1(Count(s, rest), Count(s, cand), counting);
      if (f >= best) {
        best = f;
        best_start = start;
      }
    }
    for (size_t k = 0; k < m; ++k) out.push_back(static_cast<uint32_t>(best_start + k));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GapSentenceSelectorTest, IncrementalRougeMatchesDirectComputation) {
  std::mt19937_64 rng(424242);
  const std::vector<std::string> words = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  for (int round = 0; round < 400; ++round) {
    const size_t n = 1 + rng() % 12;
    std::vector<std::vector<std::string>> sentences(n);
    std::string text;
    const size_t vocabulary = 2 + rng() % words.size() - 1;
    for (auto& sentence : sentences) {
      const size_t length = rng() % 7;  // empty sentences too
      for (size_t k = 0; k < length; ++k) {
        sentence.push_back(words[rng() % vocabulary]);
        text += sentence.back() + " ";
      }
      text += "Z. ";  // "z" is a token of every sentence
      sentence.push_back("z");
    }
    const DocumentTokens doc = Tokens(text, SentenceMode::kPegasus, tokenizer);
    ASSERT_EQ(doc.sentences().size(), n);
    for (const float ratio : {0.15f, 0.3f, 0.45f, 0.8f}) {
      const size_t m = GapSentenceCount(n, ratio);
      for (const RougeCounting counting : {RougeCounting::kOrig, RougeCounting::kUniq}) {
        for (const GsgStrategy strategy :
             {GsgStrategy::kInd, GsgStrategy::kSeq, GsgStrategy::kContinuous}) {
          ASSERT_EQ(Select(strategy, counting, ratio, doc),
                    DirectSelect(strategy, counting, m, sentences))
              << GsgStrategyName(strategy) << " " << RougeCountingName(counting) << " " << text;
        }
      }
    }
  }
}

TEST(GapSentenceSelectorTest, RandomPicksAreUniformAndDeterministic) {
  const RougeTokenizer tokenizer(RougeTokens::kReference, {});
  const DocumentTokens doc = Tokens("a. b. c. d. e.", SentenceMode::kPegasus, tokenizer);
  GapSentenceSelector selector(GsgStrategy::kRandom, RougeCounting::kOrig, 0.45f);  // m = 2
  std::map<Indices, int> pairs;
  const int trials = 20000;
  for (int record = 0; record < trials; ++record) {
    RecordRandom random(5, record, 1);
    Indices picked;
    selector.Select(doc, &random, &picked);
    ASSERT_EQ(picked.size(), 2u);
    ASSERT_LT(picked[0], picked[1]);
    ++pairs[picked];
    RecordRandom again(5, record, 1);
    Indices repeat;
    selector.Select(doc, &again, &repeat);
    ASSERT_EQ(picked, repeat);
  }
  // 10 equally likely pairs: chi-square with 9 degrees of freedom, whose p = 1e-6 quantile is
  // about 44.9.
  ASSERT_EQ(pairs.size(), 10u);
  double chi2 = 0;
  const double expected = trials / 10.0;
  for (const auto& [p, count] : pairs) chi2 += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi2, 44.9);
}

std::vector<std::string> TokenStrings(const RougeTokenizer& tokenizer, std::string_view text) {
  std::string arena;
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  tokenizer.Tokenize(text, &arena, &spans);
  std::vector<std::string> out;
  for (const auto& [b, e] : spans) out.push_back(arena.substr(b, e - b));
  return out;
}

using Strings = std::vector<std::string>;

TEST(RougeTokenizerTest, ReferenceAndChars) {
  const RougeTokenizer reference(RougeTokens::kReference, {});
  EXPECT_EQ(TokenStrings(reference, "Hello, World! It's 3.14 -- ok_2"),
            (Strings{"hello", "world", "it", "s", "3", "14", "ok", "2"}));
  EXPECT_EQ(TokenStrings(reference, "我爱北京Beijing"), (Strings{"beijing"}));
  const RougeTokenizer chars(RougeTokens::kChars, {});
  EXPECT_EQ(TokenStrings(chars, "我爱Café 123，東京タワー。Привет мир"),
            (Strings{"我", "爱", "café", "123", "東", "京", "タ", "ワ", "ー", "привет", "мир"}));
  EXPECT_EQ(TokenStrings(chars,
                         "bad\xff"
                         "byte"),
            (Strings{"bad", "byte"}));
  const RougeTokenizer stop(RougeTokens::kChars, EnglishStopwords());
  EXPECT_EQ(TokenStrings(stop, "The cat and 猫"), (Strings{"cat", "猫"}));
}

TEST(RougeTokenizerTest, JiebaWords) {
  const auto segmenter = JiebaSegmenter::Load(JiebaSegmenter::DefaultDictionaryPath());
  const RougeTokenizer jieba(RougeTokens::kJieba, {}, segmenter.get());
  // REFERENCE.md section 4 vector, punctuation and spaces left out.
  EXPECT_EQ(TokenStrings(jieba, "他来到了网易杭研大厦。"),
            (Strings{"他", "来到", "了", "网易", "杭", "研", "大厦"}));
  EXPECT_EQ(TokenStrings(jieba, "iPhone12发布于2020年10月，售价5499元。"),
            (Strings{"iphone12", "发布", "于", "2020", "年", "10", "月", "售价", "5499", "元"}));
}

// ---- The operator ----

struct GsgRun {
  std::vector<testing::CollectedRecord> records;
  RunStats stats;
};

std::unique_ptr<GsgRun> RunGsg(const std::vector<std::string>& docs,
                               const std::vector<std::string>& args, int threads = 2,
                               const std::vector<std::string>& sentences_args = {}) {
  auto run = std::make_unique<GsgRun>();
  testing::CollectedOutput output;
  testing::CollectingSinkOptions sink;
  sink.all_fields = true;
  sink.field = "";
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<testing::VectorSource>(docs, 7));
  if (!sentences_args.empty()) {
    chain.push_back(OperatorRegistry::Global().Create("sentences", sentences_args));
  }
  chain.push_back(OperatorRegistry::Global().Create("gsg", args));
  chain.push_back(std::make_unique<testing::CollectingSink>(&output, sink));
  testing::RunChain(std::move(chain), testing::TestRunOptions(threads, 64 << 20), &run->stats);
  run->records = std::move(output.records);
  return run;
}

std::string Field(const testing::CollectedRecord& r, const char* name) {
  return std::get<std::string>(r.Get(name));
}

const OperatorStats& GsgStats(const GsgRun& run) {
  for (const auto& op : run.stats.operators()) {
    if (op->label() == "gsg") return *op;
  }
  throw std::logic_error("no gsg stats");
}

TEST(GsgOperatorTest, WorkedExampleThroughThePipeline) {
  const auto run = RunGsg({kCatDoc}, {"--split", "pegasus", "--tokens", "reference", "--ratio",
                                      "0.5", "--strategy", "seq"});
  ASSERT_EQ(run->records.size(), 1u);
  EXPECT_EQ(Field(run->records[0], "src"),
            "The cat sat on the mat. The dog sat on the log. <mask_1> <mask_1>");
  EXPECT_EQ(Field(run->records[0], "tgt"), "A bird flew. The cat and the dog sat.");
  EXPECT_THROW(run->records[0].Get("text"), std::out_of_range);
  const auto ind = RunGsg({kCatDoc}, {"--split", "pegasus", "--tokens", "reference", "--ratio",
                                      "0.5", "--mask-token", "[MASK1]"});
  EXPECT_EQ(Field(ind->records[0], "src"), "The cat sat on the mat. [MASK1] A bird flew. [MASK1]");
  EXPECT_EQ(Field(ind->records[0], "tgt"), "The dog sat on the log. The cat and the dog sat.");
}

TEST(GsgOperatorTest, ChineseWithCharacterTokens) {
  // Sentence 1 shares most characters with the rest of the document.
  const std::string doc = "今天天气很好。我们去公园散步。今天我们在公园看到很多花。晚上回家。";
  const auto run = RunGsg({doc}, {"--ratio", "0.25"});
  ASSERT_EQ(run->records.size(), 1u);
  EXPECT_EQ(Field(run->records[0], "tgt"), "今天我们在公园看到很多花。");
  EXPECT_EQ(Field(run->records[0], "src"), "今天天气很好。我们去公园散步。<mask_1>晚上回家。");
  // With the reference tokens every score is 0 and Ind takes the last sentence.
  const auto ref = RunGsg({doc}, {"--ratio", "0.25", "--tokens", "reference"});
  EXPECT_EQ(Field(ref->records[0], "tgt"), "晚上回家。");
}

TEST(GsgOperatorTest, MaskingOptions) {
  const std::string doc = "First one here. Second one here. Third one here. Fourth is other.";
  const std::vector<std::string> base = {"--split", "pegasus", "--ratio", "0.5"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunGsg({doc}, args);
  };
  const auto masked = with({});
  const std::string tgt = Field(masked->records[0], "tgt");
  const auto keep = with({"--keep-prob", "1"});
  EXPECT_EQ(Field(keep->records[0], "src"), doc);
  EXPECT_EQ(Field(keep->records[0], "tgt"), tgt);
  EXPECT_EQ(GsgStats(*keep).counter("kept"), 2u);
  const auto removed = with({"--remove-prob", "1"});
  std::string src = Field(removed->records[0], "src");
  EXPECT_LT(src.size(), doc.size());
  EXPECT_EQ(src.find("<mask_1>"), std::string::npos);
  EXPECT_EQ(GsgStats(*removed).counter("removed"), 2u);
  const auto replaced = with({"--random-sentence-prob", "1", "--seed", "3"});
  src = Field(replaced->records[0], "src");
  EXPECT_EQ(src.find("<mask_1>"), std::string::npos);
  EXPECT_EQ(GsgStats(*replaced).counter("replaced"), 2u);
  // Every sentence of the result is a sentence of the document.
  std::vector<std::string_view> original, result;
  SplitSentences(doc, SentenceMode::kPegasus, &original);
  SplitSentences(src, SentenceMode::kPegasus, &result);
  ASSERT_EQ(result.size(), original.size());
  for (std::string_view s : result) {
    EXPECT_NE(std::find_if(original.begin(), original.end(),
                           [&](std::string_view o) {
                             return SplitSentenceParts(o).content == SplitSentenceParts(s).content;
                           }),
              original.end())
        << s;
  }
  EXPECT_THROW(
      OperatorRegistry::Global().Create("gsg", {"--keep-prob", "0.6", "--remove-prob", "0.6"}),
      InvalidArgument);
  EXPECT_THROW(OperatorRegistry::Global().Create("gsg", {"--ratio", "0"}), InvalidArgument);
  EXPECT_THROW(OperatorRegistry::Global().Create("gsg", {"--strategy", "best"}), InvalidArgument);
}

TEST(GsgOperatorTest, DropsEmptyAndShortDocumentsWithACount) {
  const auto run = RunGsg({"", "   \n ", "只有一句话。", "一。二。", "One. Two."}, {});
  ASSERT_EQ(run->records.size(), 2u);
  const OperatorStats& stats = GsgStats(*run);
  const auto drops = stats.drops();
  EXPECT_EQ(drops.at("empty document"), 2u);
  EXPECT_EQ(drops.at("fewer than 2 sentences"), 1u);
  EXPECT_EQ(stats.counter("documents"), 5u);
  EXPECT_EQ(stats.counter("pairs"), 2u);
  // The reference behaviour: a one-sentence document is masked whole.
  const auto one = RunGsg({"只有一句话。"}, {"--min-sentences", "1"});
  ASSERT_EQ(one->records.size(), 1u);
  EXPECT_EQ(Field(one->records[0], "src"), "<mask_1>");
  EXPECT_EQ(Field(one->records[0], "tgt"), "只有一句话。");
}

TEST(GsgOperatorTest, AWhitespaceOnlyDocumentIsMaskedAsTheReferenceDoes) {
  // The reference split makes one sentence of a whitespace-only document, and the reference
  // masks it: input <mask_1> + EOS, target EOS alone. An empty document has no sentence.
  const std::vector<std::string> args = {"--split",   "pegasus",         "--tokens",
                                         "reference", "--min-sentences", "1"};
  const auto run = RunGsg({"   \n ", "", "\t"}, args);
  ASSERT_EQ(run->records.size(), 2u);
  EXPECT_EQ(Field(run->records[0], "src"), "   \n <mask_1>");
  EXPECT_EQ(Field(run->records[0], "tgt"), "");
  EXPECT_EQ(Field(run->records[1], "src"), "\t<mask_1>");
  EXPECT_EQ(Field(run->records[1], "tgt"), "");
  const OperatorStats& stats = GsgStats(*run);
  EXPECT_EQ(stats.drops().at("empty document"), 1u);
  EXPECT_EQ(stats.counter("masked"), 2u);
  // With the default --min-sentences 2 it is a one-sentence document.
  const auto two = RunGsg({"   \n "}, {"--split", "pegasus"});
  EXPECT_TRUE(two->records.empty());
  EXPECT_EQ(GsgStats(*two).drops().at("fewer than 2 sentences"), 1u);
}

TEST(GsgOperatorTest, InvalidUtf8AndNoSeparators) {
  const std::string bad = "坏\xff字节。第二\xe4句。第三句没有";
  const auto run = RunGsg({bad, std::string(5000, 'x')}, {"--min-sentences", "1"});
  ASSERT_EQ(run->records.size(), 2u);
  // Masked sentences plus target give back the document's bytes.
  const std::string src = Field(run->records[0], "src"), tgt = Field(run->records[0], "tgt");
  const size_t mask = src.find("<mask_1>");
  ASSERT_NE(mask, std::string::npos);
  EXPECT_EQ(src.substr(0, mask) + tgt + src.substr(mask + 8), bad);
  EXPECT_EQ(Field(run->records[1], "tgt"), std::string(5000, 'x'));
}

TEST(GsgOperatorTest, OneMegabyteDocument) {
  std::mt19937_64 rng(3);
  const std::vector<std::string> words = {"天气", "公园", "我们", "今天", "花", "回家", "学习"};
  std::string doc;
  size_t sentences = 0;
  while (doc.size() < (1u << 20)) {
    const size_t n = 2 + rng() % 10;
    for (size_t k = 0; k < n; ++k) doc += words[rng() % words.size()];
    doc += "。";
    ++sentences;
  }
  for (const std::string strategy : {"ind", "continuous"}) {
    const auto run = RunGsg({doc}, {"--strategy", strategy});
    ASSERT_EQ(run->records.size(), 1u);
    EXPECT_EQ(GsgStats(*run).counter("sentences"), sentences);
    EXPECT_EQ(GsgStats(*run).counter("gap_sentences"), GapSentenceCount(sentences, 0.3f));
    // Every selected sentence became one mask; src and tgt together hold the whole text.
    const std::string src = Field(run->records[0], "src"), tgt = Field(run->records[0], "tgt");
    size_t masks = 0;
    for (size_t at = src.find("<mask_1>"); at != std::string::npos;
         at = src.find("<mask_1>", at + 1)) {
      ++masks;
    }
    EXPECT_EQ(masks, GapSentenceCount(sentences, 0.3f));
    EXPECT_EQ(src.size() - masks * 8 + tgt.size(), doc.size());
  }
}

TEST(GsgOperatorTest, DeterministicForAnyThreadCount) {
  std::vector<std::string> docs;
  std::mt19937_64 rng(11);
  const std::vector<std::string> sentences = {"今天天气很好。", "我们去公园。", "Hello there. ",
                                              "看到很多花！",   "晚上回家\n",   "明天再来？"};
  for (int i = 0; i < 300; ++i) {
    std::string d;
    const size_t n = 1 + rng() % 9;
    for (size_t k = 0; k < n; ++k) d += sentences[rng() % sentences.size()];
    docs.push_back(d);
  }
  const std::vector<std::string> args = {"--strategy",    "random",      "--ratio",
                                         "0.45",          "--keep-prob", "0.2",
                                         "--remove-prob", "0.1",         "--random-sentence-prob",
                                         "0.1",           "--seed",      "9"};
  const auto one = RunGsg(docs, args, 1);
  for (const int threads : {2, 8}) {
    const auto many = RunGsg(docs, args, threads);
    ASSERT_EQ(many->records.size(), one->records.size());
    for (size_t i = 0; i < one->records.size(); ++i) {
      ASSERT_EQ(Field(many->records[i], "src"), Field(one->records[i], "src"));
      ASSERT_EQ(Field(many->records[i], "tgt"), Field(one->records[i], "tgt"));
    }
  }
  // Another seed gives another output.
  std::vector<std::string> other = args;
  other.back() = "10";
  const auto reseeded = RunGsg(docs, other, 2);
  size_t differences = 0;
  for (size_t i = 0; i < one->records.size(); ++i) {
    differences += Field(reseeded->records[i], "src") != Field(one->records[i], "src");
  }
  EXPECT_GT(differences, 50u);
}

TEST(GsgOperatorTest, UsesTheSentencesFieldWhenPresent) {
  // The sentences stage splits with the pegasus rule, so 。 is no boundary.
  const std::string doc = "一句。两句. Three here. Four here.";
  const auto run = RunGsg({doc}, {"--ratio", "0.3"}, 2, {"--mode", "pegasus"});
  ASSERT_EQ(run->records.size(), 1u);
  EXPECT_THROW(run->records[0].Get("sentences"), std::out_of_range);
  EXPECT_EQ(GsgStats(*run).counter("sentences"), 3u);
  const auto kept = RunGsg({doc}, {"--ratio", "0.3", "--keep-input"}, 2, {"--mode", "pegasus"});
  EXPECT_EQ(std::get<std::vector<std::string>>(kept->records[0].Get("sentences")).size(), 3u);
  EXPECT_EQ(Field(kept->records[0], "text"), doc);
}

TEST(GsgOperatorTest, JiebaTokensEndToEnd) {
  testing::ScopedTempDir dir;
  testing::WriteFile(dir.path() / "in.txt",
                     "北京大学的学生很多。大学生在北京学习。京城的大门很大。\n");
  auto run = [&](const std::string& tokens) {
    const auto result =
        testing::RunCorpusflow({"run", "read " + dir.File("in.txt") + " | gsg --tokens " + tokens +
                                           " --ratio 0.3 | write " + dir.File("out.jsonl")});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return testing::ReadFile(dir.path() / "out.jsonl");
  };
  // jieba words: s0 {北京大学 的 学生 很多}, s1 {大学生 在 北京 学习}, s2 {京城 的 大门 很大}:
  // s0 and s2 tie at F1 = 1/6 (only 的 in common with the rest) and Ind takes the higher index.
  EXPECT_EQ(run("jieba"),
            "{\"src\":\"北京大学的学生很多。大学生在北京学习。<mask_1>\",\"tgt\":"
            "\"京城的大门很大。\"}\n");
  // Characters: s0 shares 北 京 大 学 生 的 很 with the rest and wins.
  EXPECT_EQ(run("chars"),
            "{\"src\":\"<mask_1>大学生在北京学习。京城的大门很大。\",\"tgt\":"
            "\"北京大学的学生很多。\"}\n");
}

}  // namespace
}  // namespace corpusflow
