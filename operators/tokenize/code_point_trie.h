// A trie over Unicode code points, the one behind the jieba dictionary and the WordPiece
// vocabulary. It is a single open-addressing hash table of 8-byte slots keyed by (parent node,
// code point), with Fibonacci hashing and linear probing at a load of at most 1/2; a node is its
// slot, so walking one code point reads one slot. Each slot also holds a has-children flag and a
// 17-bit tag the owner gives the node (the jieba dictionary keeps a frequency class there, so a
// segmenter reads a word's frequency in the same cache line). Owners that need more than 17 bits
// per node ask for node values: a parallel array of 32-bit values, indexed by node (WordPiece
// keeps token ids there). The children of the root in the Basic Multilingual Plane are also in a
// direct table. Limit: 8,388,608 nodes (DataError beyond).
//
// Node ids are slot numbers: adding a node may grow the table, which renumbers every node
// (values and tags move with their nodes). Look nodes up again after adding.
//
// Thread safety: Insert, SetTag and SetValue must not run concurrently with anything else; once
// built, the trie is read-only and safe to share by any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace corpusflow {

class CodePointTrie {
 public:
  using Node = uint32_t;
  /// The root is not a slot: it has no tag, value or flag of its own.
  static constexpr Node kRoot = 0xFFFFFFFEu;
  static constexpr Node kNoNode = 0xFFFFFFFFu;
  static constexpr uint32_t kMaxTag = 0x1FFFF;
  /// The value of a node before SetValue.
  static constexpr uint32_t kNoValue = 0xFFFFFFFFu;

  /// An empty trie with room for about `expected_nodes` nodes before it grows; with
  /// `node_values`, every node also carries a 32-bit value (kNoValue until set).
  explicit CodePointTrie(size_t expected_nodes = 0, bool node_values = false);

  /// The child of `node` for code point `cp`, or kNoNode (also for node == kNoNode).
  Node Child(Node node, char32_t cp) const {
    if (node == kRoot && cp < kRootTableSize) return root_children_[cp];
    if (node == kNoNode) return kNoNode;
    const uint64_t key = Key(node, cp);
    size_t i = SlotHash(key);
    while (true) {
      const uint64_t slot = slots_[i];
      if ((slot & kKeyMask) == key) return static_cast<Node>(i);
      if (slot == kFreeSlot) return kNoNode;
      i = (i + 1) & slot_mask_;
    }
  }
  /// Whether any node hangs under `node`. REQUIRES: a node, not kRoot.
  bool HasChildren(Node node) const { return (slots_[node] & kHasChildren) != 0; }
  /// The tag of `node` (0 until set). REQUIRES: a node, not kRoot.
  uint32_t Tag(Node node) const {
    return static_cast<uint32_t>((slots_[node] >> kTagShift) & kMaxTag);
  }
  /// The value of `node`. REQUIRES: node values, and a node, not kRoot.
  uint32_t Value(Node node) const { return values_[node]; }

  /// The node of the code points of `word` (UTF-8; an invalid sequence reads as U+FFFD), added
  /// with its prefixes when missing. May renumber every node. REQUIRES: `word` is not empty.
  Node Insert(std::string_view word);
  /// The node of `word`, or kNoNode when it is missing, empty or not valid UTF-8.
  Node Find(std::string_view word) const;
  /// REQUIRES: tag <= kMaxTag.
  void SetTag(Node node, uint32_t tag) {
    slots_[node] = (slots_[node] & ~(uint64_t{kMaxTag} << kTagShift)) |
                   (static_cast<uint64_t>(tag) << kTagShift);
  }
  /// REQUIRES: node values.
  void SetValue(Node node, uint32_t value) { values_[node] = value; }

  /// Nodes in the trie (the root not counted).
  size_t node_count() const { return slots_used_; }

 private:
  // Slot layout (64 bits): code point (bits 0-20), has-children flag (21), tag (22-38), parent
  // node (39-63; kRootKey for the root). A free slot is all ones.
  static constexpr char32_t kRootTableSize = 0x10000;
  static constexpr uint64_t kFreeSlot = ~uint64_t{0};
  static constexpr uint64_t kCodeBits = 0x1FFFFF;
  static constexpr uint64_t kHasChildren = uint64_t{1} << 21;
  static constexpr int kTagShift = 22;
  static constexpr int kParentShift = 39;
  static constexpr uint64_t kRootKey = 0x1FFFFFF;
  static constexpr uint64_t kKeyMask = (kRootKey << kParentShift) | kCodeBits;
  static constexpr size_t kMaxSlots = size_t{1} << 24;

  static uint64_t Key(Node parent, char32_t cp) {
    const uint64_t p = parent == kRoot ? kRootKey : parent;
    return (p << kParentShift) | cp;
  }
  /// Fibonacci hashing: the top bits of the product depend on every bit of the key.
  size_t SlotHash(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> slot_shift_);
  }
  static Node ParentOf(uint64_t slot) {
    const uint64_t p = slot >> kParentShift;
    return p == kRootKey ? kRoot : static_cast<Node>(p);
  }

  /// Double the table, re-inserting nodes parents first.
  void Grow();

  std::vector<Node> root_children_;
  std::vector<uint64_t> slots_;
  /// Per slot, when the owner asked for node values; else empty.
  std::vector<uint32_t> values_;
  bool has_values_;
  uint64_t slot_mask_ = 0;
  /// 64 - log2(number of slots).
  int slot_shift_ = 64;
  size_t slots_used_ = 0;
};

}  // namespace corpusflow
