#include "operators/tokenize/vocabulary.h"

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

constexpr int kInitialSlotBits = 10;

uint64_t SlotKey(Vocabulary::Node parent, char32_t cp) {
  return (static_cast<uint64_t>(parent) << 32) | cp;
}

/// Fibonacci hashing: the top bits of the product depend on every bit of the key.
size_t SlotHash(uint64_t key, int shift) {
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift);
}

std::string Printable(std::string_view token) {
  std::string out;
  ReplaceInvalidUtf8(token.substr(0, 80), &out);
  return out;
}

}  // namespace

Vocabulary::Vocabulary()
    : root_children_(kRootTableSize, kNoNode),
      slots_(size_t{1} << kInitialSlotBits, Slot{kEmptyKey, kNoNode}),
      slot_mask_((uint64_t{1} << kInitialSlotBits) - 1),
      slot_shift_(64 - kInitialSlotBits),
      ids_(1, -1) {}

Vocabulary::~Vocabulary() = default;

std::unique_ptr<Vocabulary> Vocabulary::Load(const std::string& path) {
  return Parse(ReadWholeFile(path), path);
}

std::unique_ptr<Vocabulary> Vocabulary::Parse(std::string_view text, const std::string& name) {
  std::unique_ptr<Vocabulary> vocab(new Vocabulary());
  TextLines lines(text);
  std::string_view line;
  while (lines.Next(&line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    vocab->Add(line, name, lines.line_number());
  }
  if (vocab->size() == 0) throw DataError(name + ": empty vocabulary");
  vocab->FinishLoading();
  return vocab;
}

std::unique_ptr<Vocabulary> Vocabulary::FromTokens(const std::vector<std::string>& tokens,
                                                   const std::string& name) {
  std::unique_ptr<Vocabulary> vocab(new Vocabulary());
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
  Node node = kRoot;
  const char* p = token.data();
  const char* end = p + token.size();
  while (p < end) {
    char32_t cp = 0;
    p += DecodeUtf8(p, end, &cp);
    node = AddChild(node, cp);
  }
  if (ids_[node] >= 0) {
    throw error("duplicate token '" + Printable(token) + "' (first on line " +
                std::to_string(ids_[node] + 1) + ")");
  }
  if (size_ >= 0x7FFFFFFF) throw error("too many tokens");
  ids_[node] = static_cast<int32_t>(size_);
  ++size_;
}

void Vocabulary::FinishLoading() { continuation_root_ = Child(Child(kRoot, '#'), '#'); }

std::optional<int32_t> Vocabulary::Find(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  Node node = kRoot;
  const char* p = token.data();
  const char* end = p + token.size();
  while (p < end) {
    char32_t cp = 0;
    const int len = DecodeUtf8(p, end, &cp);
    if (len < 0) return std::nullopt;
    p += len;
    node = Child(node, cp);
    if (node == kNoNode) return std::nullopt;
  }
  const int32_t id = ids_[node];
  if (id < 0) return std::nullopt;
  return id;
}

Vocabulary::Node Vocabulary::ChildSlow(Node node, char32_t cp) const {
  if (node == kNoNode) return kNoNode;
  const uint64_t key = SlotKey(node, cp);
  size_t i = SlotHash(key, slot_shift_);
  while (true) {
    const Slot& slot = slots_[i];
    if (slot.key == key) return slot.child;
    if (slot.key == kEmptyKey) return kNoNode;
    i = (i + 1) & slot_mask_;
  }
}

Vocabulary::Node Vocabulary::AddChild(Node node, char32_t cp) {
  const Node existing = Child(node, cp);
  if (existing != kNoNode) return existing;
  const uint64_t key = SlotKey(node, cp);
  size_t i = SlotHash(key, slot_shift_);
  while (slots_[i].key != kEmptyKey) i = (i + 1) & slot_mask_;
  const Node child = static_cast<Node>(ids_.size());
  ids_.push_back(-1);
  slots_[i] = Slot{key, child};
  ++slots_used_;
  if (node == kRoot && cp < kRootTableSize) root_children_[cp] = child;
  if (slots_used_ * 2 > slot_mask_ + 1) Grow();
  return child;
}

void Vocabulary::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slot_mask_ = slot_mask_ * 2 + 1;
  --slot_shift_;
  slots_.assign(slot_mask_ + 1, Slot{kEmptyKey, kNoNode});
  for (const Slot& slot : old) {
    if (slot.key == kEmptyKey) continue;
    size_t i = SlotHash(slot.key, slot_shift_);
    while (slots_[i].key != kEmptyKey) i = (i + 1) & slot_mask_;
    slots_[i] = slot;
  }
}

}  // namespace corpusflow
