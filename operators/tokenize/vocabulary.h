// A WordPiece vocabulary (BERT's vocab.txt: one token per line, the id of a token is its line
// number from 0) and the trie of its tokens over Unicode code points that WordPiece walks for
// greedy longest-match-first. The trie is one open-addressing hash table keyed by (parent node,
// code point) plus a direct table for the children of the root in the Basic Multilingual Plane;
// "##" continuation pieces hang under the node of "##" (continuation_root()).
//
// vocab.txt rules: a line is a token without its '\n' (and a '\r' before it); a token must be
// valid UTF-8, not empty, free of whitespace and unique. Anything else is a DataError naming
// file and line, so a vocabulary never silently maps two lines to one id.
// Thread safety: immutable after loading; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

class Vocabulary {
 public:
  using Node = uint32_t;
  static constexpr Node kRoot = 0;
  static constexpr Node kNoNode = 0xFFFFFFFFu;

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
  Node Child(Node node, char32_t cp) const {
    if (node == kRoot && cp < kRootTableSize) return root_children_[cp];
    return ChildSlow(node, cp);
  }
  /// The token id ending at `node`, or -1 when the node is only a prefix.
  int32_t Id(Node node) const { return ids_[node]; }
  /// The node of "##" (where continuation pieces start), or kNoNode when no token starts with it.
  Node continuation_root() const { return continuation_root_; }

 private:
  static constexpr char32_t kRootTableSize = 0x10000;
  struct Slot {
    uint64_t key;
    Node child;
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};

  Vocabulary();
  /// Add the next token (id = size()); throws DataError "NAME:LINE: ...".
  void Add(std::string_view token, const std::string& name, uint64_t line_number);
  /// Set what depends on all tokens (continuation_root_), once they are added.
  void FinishLoading();
  Node ChildSlow(Node node, char32_t cp) const;
  Node AddChild(Node node, char32_t cp);
  void Grow();

  size_t size_ = 0;
  std::vector<Node> root_children_;
  std::vector<Slot> slots_;
  uint64_t slot_mask_ = 0;
  /// 64 - log2(number of slots).
  int slot_shift_ = 64;
  size_t slots_used_ = 0;
  std::vector<int32_t> ids_;
  Node continuation_root_ = kNoNode;
};

}  // namespace corpusflow
