// Tests of the code-point trie under the jieba dictionary and the WordPiece vocabulary: every
// word of a random set (BMP, astral and ASCII code points) is found with its tag and value after
// the table grew many times from its smallest size, prefixes are nodes without values, children
// flags are exact, and invalid UTF-8 reads as U+FFFD on insert but finds nothing.
#include "operators/tokenize/code_point_trie.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

std::string RandomWord(std::mt19937_64& rng) {
  static const char32_t kAlphabet[] = {U'a', U'b', U'#', U'中', U'文', U'語', U'é', U'😀', U'𠀀'};
  std::string word;
  const size_t n = 1 + rng() % 6;
  for (size_t i = 0; i < n; ++i) AppendUtf8(kAlphabet[rng() % std::size(kAlphabet)], &word);
  return word;
}

TEST(CodePointTrieTest, FindsEveryWordAfterGrowingWithTagsAndValues) {
  std::mt19937_64 rng(17);
  std::map<std::string, uint32_t> words;
  while (words.size() < 20000) words.emplace(RandomWord(rng), static_cast<uint32_t>(words.size()));
  CodePointTrie trie(0, /*node_values=*/true);
  for (const auto& [word, id] : words) {
    const CodePointTrie::Node node = trie.Insert(word);
    trie.SetValue(node, id);
    trie.SetTag(node, id % (CodePointTrie::kMaxTag + 1));
  }
  for (const auto& [word, id] : words) {
    const CodePointTrie::Node node = trie.Find(word);
    ASSERT_NE(node, CodePointTrie::kNoNode) << word;
    EXPECT_EQ(trie.Value(node), id);
    EXPECT_EQ(trie.Tag(node), id % (CodePointTrie::kMaxTag + 1));
  }
  // Every proper prefix is a node; one that is not a word has no value and tag 0.
  std::set<std::string> prefixes;
  for (const auto& [word, id] : words) {
    const char* p = word.data();
    const char* end = p + word.size();
    char32_t cp = 0;
    while ((p += DecodeUtf8(p, end, &cp)) < end) prefixes.emplace(word.data(), p - word.data());
  }
  for (const std::string& prefix : prefixes) {
    const CodePointTrie::Node node = trie.Find(prefix);
    ASSERT_NE(node, CodePointTrie::kNoNode);
    EXPECT_TRUE(trie.HasChildren(node));
    if (words.count(prefix) == 0) {
      EXPECT_EQ(trie.Value(node), CodePointTrie::kNoValue);
      EXPECT_EQ(trie.Tag(node), 0u);
    }
  }
  // Nodes: the distinct words and prefixes.
  std::set<std::string> all = prefixes;
  for (const auto& [word, id] : words) all.insert(word);
  EXPECT_EQ(trie.node_count(), all.size());
}

TEST(CodePointTrieTest, WalksChildByChild) {
  CodePointTrie trie;
  const CodePointTrie::Node word = trie.Insert("中文字");
  trie.SetTag(word, 7);
  const CodePointTrie::Node a = trie.Child(CodePointTrie::kRoot, U'中');
  const CodePointTrie::Node b = trie.Child(a, U'文');
  EXPECT_EQ(trie.Child(b, U'字'), word);
  EXPECT_TRUE(trie.HasChildren(a));
  EXPECT_TRUE(trie.HasChildren(b));
  EXPECT_FALSE(trie.HasChildren(word));
  EXPECT_EQ(trie.Tag(word), 7u);
  EXPECT_EQ(trie.Tag(b), 0u);
  EXPECT_EQ(trie.Child(CodePointTrie::kRoot, U'文'), CodePointTrie::kNoNode);
  EXPECT_EQ(trie.Child(CodePointTrie::kNoNode, U'中'), CodePointTrie::kNoNode);
  // Astral code points are children of the root outside the direct table.
  const CodePointTrie::Node emoji = trie.Insert("😀");
  EXPECT_EQ(trie.Child(CodePointTrie::kRoot, U'😀'), emoji);
  // Inserting again finds the same node; setting a tag keeps the children flag.
  EXPECT_EQ(trie.Insert("中文字"), word);
  trie.SetTag(a, CodePointTrie::kMaxTag);
  EXPECT_TRUE(trie.HasChildren(a));
  EXPECT_EQ(trie.Tag(a), CodePointTrie::kMaxTag);
}

TEST(CodePointTrieTest, InvalidUtf8InsertsReplacementCharactersButFindsNothing) {
  CodePointTrie trie;
  const CodePointTrie::Node node = trie.Insert("a\xff");
  EXPECT_EQ(trie.Find("a\xEF\xBF\xBD"), node);  // "a" U+FFFD
  EXPECT_EQ(trie.Find("a\xff"), CodePointTrie::kNoNode);
  EXPECT_EQ(trie.Find(""), CodePointTrie::kNoNode);
  EXPECT_EQ(trie.Find("b"), CodePointTrie::kNoNode);
}

}  // namespace
}  // namespace corpusflow
