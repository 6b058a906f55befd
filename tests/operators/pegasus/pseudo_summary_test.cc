// The T5 PEGASUS pseudo-summary: text_segmentate chunking (REFERENCE example and the buffer
// rules, expectations computed with bert4keras' function), grouping, greedy LCS selection (the
// worked example's round-1 LCS values), the bit-parallel and quadratic LCS paths giving the same
// pairs, chunks always partitioned between source and target, and the operator on bad input
// (empty, one sentence, no separator, 1 MB documents, invalid UTF-8), carried fields and thread
// counts.
#include "operators/pegasus/pseudo_summary.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "operators/text/utf8_internal.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using Strings = std::vector<std::string>;

const char kExample[] =
    "甲乙丙丁戊己庚辛壬癸。甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥。子丑寅卯。\n"
    "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏。甲乙丙丁。";

Strings Chunks(std::string_view text, size_t maxlen = 32, std::u32string_view seps = U"\n。") {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  DecodeUtf8Escaped(text, &cps, &offsets);
  std::vector<CodePointRange> chunks;
  SegmentText(cps, CodePointRange{0, static_cast<uint32_t>(cps.size())}, maxlen, seps, &chunks);
  Strings out;
  for (const CodePointRange& c : chunks) {
    out.emplace_back(text.substr(offsets[c.begin], offsets[c.end] - offsets[c.begin]));
  }
  return out;
}

TEST(TextSegmentateTest, WorkedExample) {
  const Strings chunks = Chunks(kExample);
  ASSERT_EQ(chunks, (Strings{"甲乙丙丁戊己庚辛壬癸。",
                             "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥。子丑寅卯。",
                             "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏。甲乙丙丁。"}));
  EXPECT_EQ(CountCodePoints(chunks[0]), 11u);
  EXPECT_EQ(CountCodePoints(chunks[1]), 28u);
  EXPECT_EQ(CountCodePoints(chunks[2]), 30u);
}

TEST(TextSegmentateTest, BufferRules) {
  // Expectations from bert4keras' text_segmentate itself.
  EXPECT_EQ(Chunks("  短文本。\n  "), (Strings{"短文本。"}));
  EXPECT_EQ(Chunks("第一句话。第二句话。第三句话。"), (Strings{"第一句话。第二句话。第三句话。"}));
  std::string four;
  for (int i = 0; i < 4; ++i) four += "一二三四五六七八九十。";
  EXPECT_EQ(Chunks(four), (Strings{"一二三四五六七八九十。一二三四五六七八九十。",
                                   "一二三四五六七八九十。一二三四五六七八九十。"}));
  std::string a40, b40;
  for (int i = 0; i < 40; ++i) a40 += "甲", b40 += "乙";
  // A whitespace-only line between long ones becomes an empty chunk.
  EXPECT_EQ(Chunks(a40 + "\n \n" + b40 + "\n丙丙丙丙丙丙丙丙丙丙"),
            (Strings{a40, "", b40, "丙丙丙丙丙丙丙丙丙丙"}));
  EXPECT_EQ(Chunks("ab。cd\nef。gh。ij\n\nkl", 5), (Strings{"ab。cd", "ef。", "gh。", "ij", "kl"}));
  // A run longer than maxlen with no separator left stays whole.
  EXPECT_EQ(Chunks("abcdefgh。ij", 5), (Strings{"abcdefgh。", "ij"}));
  EXPECT_EQ(Chunks("abc\n\n\ndefghij。k", 4), (Strings{"abc", "defghij。", "k"}));
  EXPECT_EQ(Chunks(""), (Strings{""}));
  EXPECT_EQ(Chunks(" \u3000\n"), (Strings{""}));
}

TEST(GroupChunksTest, ReferenceGrouping) {
  auto groups_of = [](const std::vector<uint32_t>& lengths, size_t* tail) {
    std::vector<CodePointRange> chunks;
    uint32_t at = 0;
    for (const uint32_t n : lengths) {
      chunks.push_back(CodePointRange{at, at + n});
      at += n;
    }
    std::vector<std::pair<uint32_t, uint32_t>> groups;
    *tail = GroupChunks(chunks, 768, 3, &groups);
    return groups;
  };
  using Groups = std::vector<std::pair<uint32_t, uint32_t>>;
  size_t tail = 0;
  // The third chunk joins although the group is already over 768: a group needs 3 chunks.
  EXPECT_EQ(groups_of({300, 300, 300, 300}, &tail), (Groups{{0, 3}}));
  EXPECT_EQ(tail, 1u);
  // 24 chunks of 32 make exactly 768, which is not over the limit.
  EXPECT_EQ(groups_of(std::vector<uint32_t>(30, 32), &tail), (Groups{{0, 24}, {24, 30}}));
  EXPECT_EQ(tail, 0u);
  EXPECT_EQ(groups_of({10, 20}, &tail), Groups{});
  EXPECT_EQ(tail, 2u);
  EXPECT_EQ(groups_of({}, &tail), Groups{});
  EXPECT_EQ(tail, 0u);
  EXPECT_EQ(groups_of({5, 0, 0}, &tail), (Groups{{0, 3}}));
}

std::vector<std::u32string> U32Chunks(std::string_view text) {
  std::vector<std::u32string> out;
  for (const std::string& s : Chunks(text)) {
    std::vector<char32_t> cps;
    std::vector<uint32_t> offsets;
    DecodeUtf8Escaped(s, &cps, &offsets);
    out.emplace_back(cps.begin(), cps.end());
  }
  return out;
}

TEST(PseudoSummarizerTest, WorkedExample) {
  for (const LcsAlgorithm algorithm : {LcsAlgorithm::kBitParallel, LcsAlgorithm::kQuadratic}) {
    PseudoSummarizer summarizer(0.25, algorithm);
    PseudoSummaryPair pair;
    std::vector<std::vector<size_t>> rounds;
    summarizer.Select(U32Chunks(kExample), &pair, &rounds);
    ASSERT_EQ(rounds.size(), 1u);
    EXPECT_EQ(rounds[0], (std::vector<size_t>{11, 13, 6}));
    EXPECT_EQ(pair.source, (std::vector<uint32_t>{0, 2}));
    EXPECT_EQ(pair.target, (std::vector<uint32_t>{1}));
    EXPECT_FALSE(pair.swapped);
  }
}

TEST(PseudoSummarizerTest, SwapsWhenTheSourceIsShorter) {
  // After picking the long chunk the target is longer than what is left.
  const std::vector<std::u32string> chunks = {U"abcabcabcabcabcabcabcabcabcabc", U"abc", U"xyz"};
  PseudoSummarizer summarizer;
  PseudoSummaryPair pair;
  std::vector<std::vector<size_t>> rounds;
  summarizer.Select(chunks, &pair, &rounds);
  // Round 1: i=0 -> LCS("abcxyz", 30 x abc) = 3; i=1 -> LCS(30+xyz, "abc") = 3; i=2 -> 0.
  EXPECT_EQ(rounds[0], (std::vector<size_t>{3, 3, 0}));
  EXPECT_TRUE(pair.swapped);
  EXPECT_EQ(pair.source, (std::vector<uint32_t>{0}));
  EXPECT_EQ(pair.target, (std::vector<uint32_t>{1, 2}));
}

TEST(PseudoSummarizerTest, PartitionsEveryGroupAndBothLcsAgree) {
  std::mt19937_64 rng(31337);
  const std::u32string alphabets[] = {U"ab", U"abcdefg", U"天地玄黄宇宙洪荒日月。", U"x"};
  PseudoSummarizer fast(0.25, LcsAlgorithm::kBitParallel);
  PseudoSummarizer slow(0.25, LcsAlgorithm::kQuadratic);
  for (int round = 0; round < 600; ++round) {
    const std::u32string& alphabet = alphabets[round % 4];
    const size_t k = 3 + rng() % 12;
    std::vector<std::u32string> chunks(k);
    for (auto& c : chunks) {
      const size_t length = rng() % 3 == 0 ? rng() % 4 : rng() % 90;  // empty chunks too
      for (size_t i = 0; i < length; ++i) c.push_back(alphabet[rng() % alphabet.size()]);
    }
    PseudoSummaryPair a, b;
    std::vector<std::vector<size_t>> rounds_a, rounds_b;
    fast.Select(chunks, &a, &rounds_a);
    slow.Select(chunks, &b, &rounds_b);
    ASSERT_EQ(rounds_a, rounds_b);
    ASSERT_EQ(a.source, b.source);
    ASSERT_EQ(a.target, b.target);
    // Source and target are sorted, disjoint and together every chunk of the group.
    std::vector<uint32_t> all = a.source;
    all.insert(all.end(), a.target.begin(), a.target.end());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), k);
    for (uint32_t i = 0; i < k; ++i) ASSERT_EQ(all[i], i);
    ASSERT_TRUE(std::is_sorted(a.source.begin(), a.source.end()));
    ASSERT_TRUE(std::is_sorted(a.target.begin(), a.target.end()));
    ASSERT_FALSE(a.target.empty());
    // The stop rule: the last round left one chunk, or target / source > rate.
    size_t source_length = 0, target_length = 0;
    for (const uint32_t i : a.swapped ? a.target : a.source) source_length += chunks[i].size();
    for (const uint32_t i : a.swapped ? a.source : a.target) target_length += chunks[i].size();
    const size_t left = a.swapped ? a.target.size() : a.source.size();
    ASSERT_TRUE(left == 1 || source_length == 0 ||
                static_cast<double>(target_length) / static_cast<double>(source_length) > 0.25);
    ASSERT_EQ(a.swapped, source_length < target_length);
  }
}

// ---- The operator ----

struct Output {
  std::vector<testing::CollectedRecord> records;
  RunStats stats;
  const OperatorStats& Op() const { return *stats.operators()[1]; }
  std::string Get(size_t i, const char* field) const {
    return std::get<std::string>(records.at(i).Get(field));
  }
};

std::unique_ptr<Output> RunSource(std::unique_ptr<Source> source, const Strings& args,
                                  int threads = 2) {
  auto out = std::make_unique<Output>();
  testing::CollectedOutput collected;
  testing::CollectingSinkOptions sink;
  sink.all_fields = true;
  sink.field = "";
  testing::RunChain(
      testing::Chain(std::move(source), OperatorRegistry::Global().Create("pseudo-summary", args),
                     std::make_unique<testing::CollectingSink>(&collected, sink)),
      testing::TestRunOptions(threads, 64 << 20), &out->stats);
  out->records = std::move(collected.records);
  return out;
}

std::unique_ptr<Output> RunDocs(const Strings& docs, const Strings& args = {}, int threads = 2) {
  return RunSource(std::make_unique<testing::VectorSource>(docs, 5), args, threads);
}

TEST(PseudoSummaryOperatorTest, WorkedExampleAndTooShortDocument) {
  const auto out = RunDocs({kExample, "第一句话。第二句话。第三句话。"});
  ASSERT_EQ(out->records.size(), 1u);
  EXPECT_EQ(out->Get(0, "src"),
            "甲乙丙丁戊己庚辛壬癸。天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏。甲乙丙丁。");
  EXPECT_EQ(out->Get(0, "tgt"), "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥。子丑寅卯。");
  EXPECT_THROW(out->records[0].Get("text"), std::out_of_range);
  EXPECT_EQ(out->Op().drops().at("fewer than 3 chunks"), 1u);
  EXPECT_EQ(out->Op().counter("documents"), 2u);
  EXPECT_EQ(out->Op().counter("pairs"), 1u);
}

TEST(PseudoSummaryOperatorTest, BadInput) {
  std::string long_run;
  for (int i = 0; i < 100000; ++i) long_run += "无";  // 300 KB, no separator: one chunk
  const auto out =
      RunDocs({"", "   ", "只有一句话。",
               "没有分隔符的一段很长的文字没有分隔符的一段很长的文字没有分隔符", long_run});
  EXPECT_TRUE(out->records.empty());
  EXPECT_EQ(out->Op().drops().at("fewer than 3 chunks"), 5u);
  EXPECT_EQ(out->Op().dropped_total(), 5u);
}

TEST(PseudoSummaryOperatorTest, InvalidUtf8BytesArePassedThroughAndCounted) {
  // Each bad byte is one code point; the pair holds the document's bytes.
  const std::string doc =
      "第一段\xff\xfe文字，有坏字节。\n第二段文字\xe4。内容比较长一些，超过三十二个字。\n"
      "第三段文字也在这里，它也需要足够长才行。第四段。";
  const auto out = RunDocs({doc});
  ASSERT_EQ(out->records.size(), 1u);
  const std::string all = out->Get(0, "src") + out->Get(0, "tgt");
  EXPECT_NE(all.find("\xff\xfe"), std::string::npos);
  EXPECT_NE(all.find("\xe4\xe3\x80\x82"), std::string::npos);  // the bad byte before 。
  EXPECT_EQ(out->Op().counter("invalid_utf8_bytes"), 3u);
}

TEST(PseudoSummaryOperatorTest, OneMegabyteDocument) {
  std::mt19937_64 rng(5);
  const std::u32string hanzi = U"天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳";
  std::string doc;
  while (doc.size() < (1u << 20)) {
    const size_t sentence = 5 + rng() % 30;
    for (size_t i = 0; i < sentence; ++i) AppendUtf8(hanzi[rng() % hanzi.size()], &doc);
    doc += rng() % 5 == 0 ? "\n" : "。";
  }
  const auto out = RunDocs({doc});
  // About 1 MB / 3 bytes / 768 code points per group.
  EXPECT_GT(out->records.size(), 400u);
  // Every group's chunks are all in its pair: the code points add up to the grouped chunks.
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  DecodeUtf8Escaped(doc, &cps, &offsets);
  std::vector<CodePointRange> chunks;
  SegmentText(cps, CodePointRange{0, static_cast<uint32_t>(cps.size())}, 32, U"\n。", &chunks);
  std::vector<std::pair<uint32_t, uint32_t>> groups;
  const size_t tail = GroupChunks(chunks, 768, 3, &groups);
  EXPECT_EQ(groups.size(), out->records.size());
  size_t grouped = 0;
  for (const auto& [first, last] : groups) {
    for (uint32_t k = first; k < last; ++k) grouped += chunks[k].size();
  }
  size_t paired = 0;
  for (size_t i = 0; i < out->records.size(); ++i) {
    paired += CountCodePoints(out->Get(i, "src")) + CountCodePoints(out->Get(i, "tgt"));
  }
  EXPECT_EQ(paired, grouped);
  EXPECT_EQ(out->Op().counter("tail_chunks_unused"), tail);
  EXPECT_EQ(out->Op().counter("chunks"), chunks.size());
}

TEST(PseudoSummaryOperatorTest, CopiesOtherFieldsIntoEveryPair) {
  std::string doc;
  for (int i = 0; i < 60; ++i)
    doc += "这是第" + std::to_string(i) + "句话，内容写得长一点以便分组。";
  Batch batch;
  batch.AddString("text").Append(doc);
  batch.AddString("id").Append("doc-1");
  batch.AddInt32List("ids").Append(std::vector<int32_t>{7, 8, 9});
  const auto out = RunSource(std::make_unique<testing::BatchSource>(std::vector<Batch>{batch}), {});
  ASSERT_GT(out->records.size(), 1u);
  for (const auto& record : out->records) {
    EXPECT_EQ(std::get<std::string>(record.Get("id")), "doc-1");
    EXPECT_EQ(std::get<std::vector<int32_t>>(record.Get("ids")), (std::vector<int32_t>{7, 8, 9}));
    EXPECT_THROW(record.Get("text"), std::out_of_range);
  }
  const auto kept = RunSource(std::make_unique<testing::BatchSource>(std::vector<Batch>{batch}),
                              {"--keep-input"});
  EXPECT_EQ(std::get<std::string>(kept->records[0].Get("text")), doc);
}

TEST(PseudoSummaryOperatorTest, SameOutputForAnyThreadCountAndLcs) {
  std::mt19937_64 rng(77);
  const std::u32string hanzi = U"春眠不觉晓处处闻啼鸟夜来风雨声花落知多少床前明月光疑是地上霜";
  Strings docs;
  for (int d = 0; d < 120; ++d) {
    std::string doc;
    const size_t sentences = rng() % 60;
    for (size_t s = 0; s < sentences; ++s) {
      const size_t n = 3 + rng() % 25;
      for (size_t i = 0; i < n; ++i) AppendUtf8(hanzi[rng() % hanzi.size()], &doc);
      doc += rng() % 4 == 0 ? "\n" : "。";
    }
    docs.push_back(doc);
  }
  const auto one = RunDocs(docs, {}, 1);
  ASSERT_GT(one->records.size(), 50u);
  for (const auto& [threads, lcs] : std::vector<std::pair<int, std::string>>{
           {2, "bitparallel"}, {8, "bitparallel"}, {2, "quadratic"}}) {
    const auto other = RunDocs(docs, {"--lcs", lcs}, threads);
    ASSERT_EQ(other->records.size(), one->records.size());
    for (size_t i = 0; i < one->records.size(); ++i) {
      ASSERT_EQ(other->Get(i, "src"), one->Get(i, "src"));
      ASSERT_EQ(other->Get(i, "tgt"), one->Get(i, "tgt"));
    }
  }
}

TEST(PseudoSummaryOperatorTest, Options) {
  // A higher summary rate selects more.
  std::string doc;
  for (int i = 0; i < 20; ++i) doc += "第" + std::to_string(i) + "个句子在这里出现了。";
  const auto quarter = RunDocs({doc});
  const auto half = RunDocs({doc}, {"--summary-rate", "0.5"});
  EXPECT_GT(half->Get(0, "tgt").size(), quarter->Get(0, "tgt").size());
  const auto renamed = RunDocs({doc}, {"--src", "source", "--tgt", "summary"});
  EXPECT_EQ(std::get<std::string>(renamed->records[0].Get("summary")), quarter->Get(0, "tgt"));
  auto& registry = OperatorRegistry::Global();
  EXPECT_THROW(registry.Create("pseudo-summary", {"--lcs", "cubic"}), InvalidArgument);
  EXPECT_THROW(registry.Create("pseudo-summary", {"--chunk-chars", "0"}), InvalidArgument);
  EXPECT_THROW(registry.Create("pseudo-summary", {"--min-chunks", "1"}), InvalidArgument);
  EXPECT_THROW(registry.Create("pseudo-summary", {"--separators", ""}), InvalidArgument);
  EXPECT_EQ(ParseSeparators("\\n。"), U"\n。");
  EXPECT_EQ(ParseSeparators("\\t\\\\x"), U"\t\\x");
  auto op = registry.Create("pseudo-summary", {"--field", "body"});
  EXPECT_THROW(op->OutputSchema(Schema({Field{"text", FieldType::kString, 0}})), InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
