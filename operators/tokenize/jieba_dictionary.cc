#include "operators/tokenize/jieba_dictionary.h"

#include <cmath>
#include <limits>

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

constexpr int kInitialSlotBits = 12;

std::string Shorten(std::string_view line) {
  if (line.size() <= 80) return std::string(line);
  return std::string(line.substr(0, 80)) + "...";
}

[[noreturn]] void ThrowEntryError(const std::string& name, uint64_t line_number,
                                  const std::string& what, std::string_view line) {
  std::string text;
  ReplaceInvalidUtf8(Shorten(line), &text);
  throw DataError(name + ":" + std::to_string(line_number) + ": invalid dictionary entry (" + what +
                  "): '" + text + "'");
}

/// A non-negative decimal integer with an optional '+' (Python's int() on ASCII digits).
bool ParseFrequency(std::string_view s, int64_t* value, bool* negative) {
  *negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    *negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

}  // namespace

JiebaDictionary::JiebaDictionary()
    : root_children_(kRootTableSize, kNoNode),
      slots_(size_t{1} << kInitialSlotBits, kFreeSlot),
      slot_mask_((uint64_t{1} << kInitialSlotBits) - 1),
      slot_shift_(64 - kInitialSlotBits),
      class_frequency_{0},
      class_log_frequency_{kNotAWord} {}

JiebaDictionary::~JiebaDictionary() = default;

std::unique_ptr<JiebaDictionary> JiebaDictionary::Load(const std::string& path) {
  return Parse(ReadWholeFile(path), path);
}

std::unique_ptr<JiebaDictionary> JiebaDictionary::Parse(std::string_view text,
                                                        const std::string& name) {
  std::unique_ptr<JiebaDictionary> dict(new JiebaDictionary());
  // About one trie node per 10 bytes of dict.txt: size the table once (load factor <= 1/2).
  while ((dict->slot_mask_ + 1) < text.size() / 5) dict->Grow();

  uint64_t total = 0;
  TextLines lines(text);
  std::string_view raw;
  while (lines.Next(&raw)) {
    const uint64_t line_number = lines.line_number();
    // jieba: line.strip().decode('utf-8'); word, freq = line.split(' ')[:2]; freq = int(freq).
    const std::string_view line = StripAsciiSpace(raw);
    if (!IsValidUtf8(line)) ThrowEntryError(name, line_number, "not UTF-8", raw);
    const size_t space = line.find(' ');
    if (line.empty()) ThrowEntryError(name, line_number, "blank line", raw);
    if (space == std::string_view::npos) {
      ThrowEntryError(name, line_number, "expected 'word frequency [tag]'", raw);
    }
    const std::string_view word = line.substr(0, space);
    std::string_view freq_text = line.substr(space + 1);
    freq_text = freq_text.substr(0, freq_text.find(' '));
    int64_t frequency = 0;
    bool negative = false;
    if (!ParseFrequency(freq_text, &frequency, &negative)) {
      ThrowEntryError(name, line_number, "frequency is not an integer", raw);
    }
    if (negative && frequency != 0) {
      ThrowEntryError(name, line_number, "negative frequency", raw);
    }
    if (word.empty()) ThrowEntryError(name, line_number, "empty word", raw);

    dict->SetFrequency(dict->AddPath(word), frequency);
    total += static_cast<uint64_t>(frequency);
  }
  dict->total_ = total;
  dict->log_total_ = std::log(static_cast<double>(total));
  return dict;
}

JiebaDictionary::Node JiebaDictionary::AddPath(std::string_view word) {
  Node node = kRoot;
  const char* p = word.data();
  const char* end = p + word.size();
  while (p < end) {
    char32_t cp = 0;
    int len = DecodeUtf8(p, end, &cp);
    if (len < 0) {
      cp = 0xFFFD;
      len = -len;
    }
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
        int n = DecodeUtf8(q, end, &c);
        if (n < 0) {
          c = 0xFFFD;
          n = -n;
        }
        q += n;
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

void JiebaDictionary::Grow() {
  if (slot_mask_ + 1 >= kMaxSlots) {
    throw DataError("jieba dictionary: more than " + std::to_string(kMaxSlots / 2) + " trie nodes");
  }
  const std::vector<uint64_t> old = std::move(slots_);
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
      slots_[i] = key | (slot & (kHasChildren | (kClassBits << kClassShift)));
      renamed[old_id] = static_cast<Node>(i);
      if (parent == kRoot && cp < kRootTableSize) root_children_[cp] = static_cast<Node>(i);
    }
  }
}

void JiebaDictionary::SetFrequency(Node node, int64_t frequency) {
  if (class_frequency_[ClassOf(slots_[node])] > 0) --word_count_;
  uint32_t cls = 0;
  if (frequency > 0) {
    ++word_count_;
    auto [it, added] =
        class_of_frequency_.emplace(frequency, static_cast<uint32_t>(class_frequency_.size()));
    if (added) {
      if (class_frequency_.size() > kClassBits) {
        throw DataError("jieba dictionary: more than " + std::to_string(kClassBits) +
                        " distinct frequencies");
      }
      class_frequency_.push_back(frequency);
      class_log_frequency_.push_back(std::log(static_cast<double>(frequency)));
    }
    cls = it->second;
  }
  slots_[node] =
      (slots_[node] & ~(kClassBits << kClassShift)) | (static_cast<uint64_t>(cls) << kClassShift);
}

std::optional<int64_t> JiebaDictionary::Frequency(std::string_view word) const {
  if (word.empty()) return std::nullopt;
  Node node = kRoot;
  const char* p = word.data();
  const char* end = p + word.size();
  while (p < end) {
    char32_t cp = 0;
    const int len = DecodeUtf8(p, end, &cp);
    if (len < 0) return std::nullopt;
    p += len;
    node = Child(node, cp);
    if (node == kNoNode) return std::nullopt;
  }
  return class_frequency_[ClassOf(slots_[node])];
}

void JiebaDictionary::AddWord(std::string_view word, int64_t frequency) {
  if (word.empty()) return;
  SetFrequency(AddPath(word), frequency);
  total_ += static_cast<uint64_t>(frequency);
  log_total_ = std::log(static_cast<double>(total_));
}

}  // namespace corpusflow
