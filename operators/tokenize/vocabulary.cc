#include "operators/tokenize/vocabulary.h"

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/vocab_file.h"

namespace corpusflow {
namespace {

std::string Printable(std::string_view token) {
  std::string out;
  ReplaceInvalidUtf8(token.substr(0, 80), &out);
  return out;
}

}  // namespace

Vocabulary::Vocabulary(size_t expected_nodes) : trie_(expected_nodes, /*node_values=*/true) {}

Vocabulary::~Vocabulary() = default;

std::unique_ptr<Vocabulary> Vocabulary::Load(const std::string& path) {
  return Parse(ReadWholeFile(path), path);
}

std::unique_ptr<Vocabulary> Vocabulary::Parse(std::string_view text, const std::string& name) {
  const std::vector<std::string_view> tokens = SplitVocabTokens(text, VocabColumns::kToken);
  // At most one trie node per code point; about one per 3 bytes of CJK-heavy vocabularies.
  std::unique_ptr<Vocabulary> vocab(new Vocabulary(text.size() / 3));
  for (size_t i = 0; i < tokens.size(); ++i) vocab->Add(tokens[i], name, i + 1);
  if (vocab->size() == 0) throw DataError(name + ": empty vocabulary");
  vocab->FinishLoading();
  return vocab;
}

std::unique_ptr<Vocabulary> Vocabulary::FromTokens(const std::vector<std::string>& tokens,
                                                   const std::string& name) {
  std::unique_ptr<Vocabulary> vocab(new Vocabulary(tokens.size()));
  uint64_t line_number = 0;
  for (const std::string& token : tokens) vocab->Add(token, name, ++line_number);
  vocab->FinishLoading();
  return vocab;
}

void Vocabulary::Add(std::string_view token, const std::string& name, uint64_t line_number) {
  auto error = [&](const std::string& what) {
    return DataError(name + ":" + std::to_string(line_number) + ": " + what);
  };
  if (token.empty()) throw error("empty token");
  if (!IsValidUtf8(token)) throw error("token is not valid UTF-8");
  for (char c : token) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
      throw error("token contains whitespace: '" + Printable(token) + "'");
    }
  }
  const Node node = trie_.Insert(token);
  const int32_t existing = Id(node);
  if (existing >= 0) {
    throw error("duplicate token '" + Printable(token) + "' (first on line " +
                std::to_string(existing + 1) + ")");
  }
  if (size_ >= 0x7FFFFFFF) throw error("too many tokens");
  trie_.SetValue(node, static_cast<uint32_t>(size_));
  ++size_;
}

void Vocabulary::FinishLoading() { continuation_root_ = trie_.Child(trie_.Child(kRoot, '#'), '#'); }

std::optional<int32_t> Vocabulary::Find(std::string_view token) const {
  const Node node = trie_.Find(token);
  if (node == kNoNode) return std::nullopt;
  const int32_t id = Id(node);
  if (id < 0) return std::nullopt;
  return id;
}

}  // namespace corpusflow
