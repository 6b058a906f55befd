// A WordPiece vocabulary (BERT's vocab.txt: one token per line, the id of a token is its line
// number from 0) and the trie of its tokens over Unicode code points that WordPiece walks for
// greedy longest-match-first: a CodePointTrie whose node values are the token ids; "##"
// continuation pieces hang under the node of "##" (continuation_root()).
//
// vocab.txt rules: lines as vocab_file.h reads them (kToken: the whole line, without its '\n'
// and a '\r' before it); a token must be valid UTF-8, not empty, free of whitespace and unique.
// Anything else is a DataError naming file and line, so a vocabulary never silently maps two
// lines to one id.
// Thread safety: immutable after loading; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/tokenize/code_point_trie.h"

namespace corpusflow {

class Vocabulary {
 public:
  using Node = CodePointTrie::Node;
  static constexpr Node kRoot = CodePointTrie::kRoot;
  static constexpr Node kNoNode = CodePointTrie::kNoNode;

  /// Read a vocab.txt. Throws IoError or DataError "PATH:LINE: ...".
  static std::unique_ptr<Vocabulary> Load(const std::string& path);
  /// Parse vocab.txt text; `name` is used in error messages.
  static std::unique_ptr<Vocabulary> Parse(std::string_view text, const std::string& name);
  /// A vocabulary of `tokens` (id = index). Throws DataError like Parse.
  static std::unique_ptr<Vocabulary> FromTokens(const std::vector<std::string>& tokens,
                                                const std::string& name);

  Vocabulary(const Vocabulary&) = delete;
  Vocabulary& operator=(const Vocabulary&) = delete;
  ~Vocabulary();

  /// Number of tokens (ids are 0 .. size()-1).
  size_t size() const { return size_; }
  /// The id of `token`, or nullopt.
  std::optional<int32_t> Find(std::string_view token) const;

  /// The child of `node` for code point `cp`, or kNoNode.
  Node Child(Node node, char32_t cp) const { return trie_.Child(node, cp); }
  /// The token id ending at `node`, or -1 when the node is only a prefix. REQUIRES: a node, not
  /// kRoot.
  int32_t Id(Node node) const { return static_cast<int32_t>(trie_.Value(node)); }
  /// The node of "##" (where continuation pieces start), or kNoNode when no token starts with it.
  Node continuation_root() const { return continuation_root_; }

 private:
  /// About `expected_nodes` trie nodes will be added.
  explicit Vocabulary(size_t expected_nodes);
  /// Add the next token (id = size()); throws DataError "NAME:LINE: ...".
  void Add(std::string_view token, const std::string& name, uint64_t line_number);
  /// Set what depends on all tokens (continuation_root_), once they are added.
  void FinishLoading();

  size_t size_ = 0;
  /// Node values: token ids (CodePointTrie::kNoValue, read as -1, for prefixes).
  CodePointTrie trie_;
  Node continuation_root_ = kNoNode;
};

}  // namespace corpusflow
