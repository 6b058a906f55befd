#include "operators/vocabulary.h"

#include "engine/error.h"
#include "engine/file_io.h"
#include "operators/unicode_text.h"

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
  std::unique_ptr<InputStream> input = OpenInput(path);
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = input->Read(buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  return Parse(text, path);
}

std::unique_ptr<Vocabulary> Vocabulary::Parse(std::string_view text, const std::string& name) {
  std::unique_ptr<Vocabulary> vocab(new Vocabulary());
  uint64_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    vocab->Add(line, name, line_number);
  }
  if (vocab->size() == 0) throw DataError(name + ": empty vocabulary");
  return vocab;
}

std::unique_ptr<Vocabulary> Vocabulary::FromTokens(const std::vector<std::string>& tokens,
                                                   const std::string& name) {
  std::unique_ptr<Vocabulary> vocab(new Vocabulary());
  uint64_t line_number = 0;
  for (const std::string& token : tokens) vocab->Add(token, name, ++line_number);
  return vocab;
}

void Vocabulary::Add(std::string_view token, const std::string& name, uint64_t line_number) {
  const std::string where = name + ":" + std::to_string(line_number) + ": ";
  if (token.empty()) throw DataError(where + "empty token");
  if (!IsValidUtf8(token)) throw DataError(where + "token is not valid UTF-8");
  for (char c : token) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
      throw DataError(where + "token contains whitespace: '" + Printable(token) + "'");
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
    throw DataError(where + "duplicate token '" + Printable(token) + "' (first on line " +
                    std::to_string(ids_[node] + 1) + ")");
  }
  if (tokens_.size() >= 0x7FFFFFFF) throw DataError(where + "too many tokens");
  ids_[node] = static_cast<int32_t>(tokens_.size());
  tokens_.emplace_back(token);
  continuation_root_ = Child(Child(kRoot, '#'), '#');
}

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
