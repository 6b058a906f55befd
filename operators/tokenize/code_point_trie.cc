#include "operators/tokenize/code_point_trie.h"

#include <algorithm>
#include <string>

#include "engine/error.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

constexpr int kInitialSlotBits = 12;

/// Decode one code point at `p`; an invalid sequence reads as U+FFFD. Returns its length.
int NextCodePoint(const char* p, const char* end, char32_t* cp) {
  const int len = DecodeUtf8(p, end, cp);
  if (len >= 0) return len;
  *cp = 0xFFFD;
  return -len;
}

}  // namespace

CodePointTrie::CodePointTrie(size_t expected_nodes, bool node_values)
    : root_children_(kRootTableSize, kNoNode),
      slots_(size_t{1} << kInitialSlotBits, kFreeSlot),
      has_values_(node_values),
      slot_mask_((uint64_t{1} << kInitialSlotBits) - 1),
      slot_shift_(64 - kInitialSlotBits) {
  if (has_values_) values_.assign(slots_.size(), kNoValue);
  // Load factor at most 1/2 for the expected nodes: size the table once.
  while ((slot_mask_ + 1) < 2 * expected_nodes && slot_mask_ + 1 < kMaxSlots) Grow();
}

CodePointTrie::Node CodePointTrie::Insert(std::string_view word) {
  Node node = kRoot;
  const char* p = word.data();
  const char* end = p + word.size();
  while (p < end) {
    char32_t cp = 0;
    const int len = NextCodePoint(p, end, &cp);
    p += len;
    const Node existing = Child(node, cp);
    if (existing != kNoNode) {
      node = existing;
      continue;
    }
    if ((slots_used_ + 1) * 2 > slot_mask_ + 1) {
      // Growing renumbers the nodes: find this prefix again afterwards.
      const char* done = p - len;
      Grow();
      node = kRoot;
      for (const char* q = word.data(); q < done;) {
        char32_t c = 0;
        q += NextCodePoint(q, end, &c);
        node = Child(node, c);
      }
    }
    const uint64_t key = Key(node, cp);
    size_t i = SlotHash(key);
    while (slots_[i] != kFreeSlot) i = (i + 1) & slot_mask_;
    slots_[i] = key;
    ++slots_used_;
    if (node != kRoot) slots_[node] |= kHasChildren;
    if (node == kRoot && cp < kRootTableSize) root_children_[cp] = static_cast<Node>(i);
    node = static_cast<Node>(i);
  }
  return node;
}

CodePointTrie::Node CodePointTrie::Find(std::string_view word) const {
  if (word.empty()) return kNoNode;
  Node node = kRoot;
  const char* p = word.data();
  const char* end = p + word.size();
  while (p < end) {
    char32_t cp = 0;
    const int len = DecodeUtf8(p, end, &cp);
    if (len < 0) return kNoNode;
    p += len;
    node = Child(node, cp);
    if (node == kNoNode) return kNoNode;
  }
  return node;
}

void CodePointTrie::Grow() {
  if (slot_mask_ + 1 >= kMaxSlots) {
    throw DataError("a code-point trie of more than " + std::to_string(kMaxSlots / 2) +
                    " nodes (dictionary or vocabulary too large)");
  }
  const std::vector<uint64_t> old = std::move(slots_);
  const std::vector<uint32_t> old_values = std::move(values_);
  // Depth of every node, so that parents are placed before their children.
  std::vector<uint32_t> depth(old.size(), 0);
  uint32_t max_depth = 0;
  std::vector<Node> path;
  for (size_t i = 0; i < old.size(); ++i) {
    if (old[i] == kFreeSlot || depth[i] != 0) continue;
    path.clear();
    Node n = static_cast<Node>(i);
    while (n != kRoot && depth[n] == 0) {
      path.push_back(n);
      n = ParentOf(old[n]);
    }
    uint32_t d = n == kRoot ? 0 : depth[n];
    for (size_t k = path.size(); k-- > 0;) depth[path[k]] = ++d;
    max_depth = std::max(max_depth, d);
  }
  std::vector<std::vector<Node>> by_depth(max_depth + 1);
  for (size_t i = 0; i < old.size(); ++i) {
    if (old[i] != kFreeSlot) by_depth[depth[i]].push_back(static_cast<Node>(i));
  }
  slot_mask_ = slot_mask_ * 2 + 1;
  --slot_shift_;
  slots_.assign(slot_mask_ + 1, kFreeSlot);
  if (has_values_) values_.assign(slot_mask_ + 1, kNoValue);
  std::fill(root_children_.begin(), root_children_.end(), kNoNode);
  std::vector<Node> renamed(old.size(), kNoNode);
  for (const std::vector<Node>& level : by_depth) {
    for (Node old_id : level) {
      const uint64_t slot = old[old_id];
      const Node old_parent = ParentOf(slot);
      const Node parent = old_parent == kRoot ? kRoot : renamed[old_parent];
      const char32_t cp = static_cast<char32_t>(slot & kCodeBits);
      const uint64_t key = Key(parent, cp);
      size_t i = SlotHash(key);
      while (slots_[i] != kFreeSlot) i = (i + 1) & slot_mask_;
      slots_[i] = key | (slot & ~kKeyMask);
      if (has_values_) values_[i] = old_values[old_id];
      renamed[old_id] = static_cast<Node>(i);
      if (parent == kRoot && cp < kRootTableSize) root_children_[cp] = static_cast<Node>(i);
    }
  }
}

}  // namespace corpusflow
