// The prefix dictionary of jieba (python3-jieba 0.42.1): every word with its frequency, and every
// proper prefix of a word present with frequency 0. It is a trie over Unicode code points stored
// as one open-addressing hash table of 8-byte slots keyed by (parent node, code point); a node is
// its slot, which also holds the class of its frequency (an index into a small table of distinct
// frequencies and their logarithms), so a segmenter walks the trie with one cache line per code
// point and no logarithm. The children of the root in the Basic Multilingual Plane are also in a
// direct table. Loading the 349,046-line dictionary of Debian's python3-jieba takes about 0.1 s
// and 8 MB. Limits: 8 million nodes and 131,071 distinct frequencies (DataError beyond).
//
// File format (jieba's dict.txt): one entry per line, `word freq [tag]`, separated by single
// spaces; blank lines and lines without an integer frequency are errors naming file and line. A
// word listed twice keeps its last frequency and counts twice in the total, as in jieba.
//
// Thread safety: AddWord (used while loading user dictionaries) must not run concurrently with
// anything else; once loading is done the dictionary is read-only and safe to share by any
// number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace corpusflow {

class JiebaDictionary {
 public:
  /// A node of the trie (the end of a word or of a prefix): its slot in the table.
  using Node = uint32_t;
  /// The root is not a slot.
  static constexpr Node kRoot = 0xFFFFFFFEu;
  static constexpr Node kNoNode = 0xFFFFFFFFu;
  /// WordLogFrequency of a node that is only a prefix (frequency 0); see IsWord.
  static constexpr double kNotAWord = -1.0;

  /// Parse a dictionary in jieba's dict.txt format. Throws IoError when the file cannot be read
  /// and DataError "PATH:LINE: ..." on a malformed line (no frequency, a negative or non-numeric
  /// frequency, invalid UTF-8, a blank line).
  static std::unique_ptr<JiebaDictionary> Load(const std::string& path);
  /// Build a dictionary from in-memory dict.txt text; `name` is used in error messages.
  static std::unique_ptr<JiebaDictionary> Parse(std::string_view text, const std::string& name);

  JiebaDictionary(const JiebaDictionary&) = delete;
  JiebaDictionary& operator=(const JiebaDictionary&) = delete;
  ~JiebaDictionary();

  /// The child of `node` for code point `cp`, or kNoNode.
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
  /// Whether any word continues past `node` (REQUIRES: a node, not kRoot).
  bool HasChildren(Node node) const { return (slots_[node] & kHasChildren) != 0; }
  /// ln(frequency) of the word ending at `node`, or kNotAWord for a prefix of frequency 0.
  double WordLogFrequency(Node node) const { return class_log_frequency_[ClassOf(slots_[node])]; }
  static bool IsWord(double log_frequency) { return log_frequency >= 0.0; }

  /// ln(total frequency), as jieba's `log(self.total)`.
  double log_total() const { return log_total_; }
  /// Sum of the frequencies of all entries read (a duplicated entry counts twice).
  uint64_t total_frequency() const { return total_; }
  /// Entries with a frequency > 0.
  size_t word_count() const { return word_count_; }

  /// jieba's FREQ.get(word): the frequency of a word or prefix (0 for a prefix), or nullopt.
  std::optional<int64_t> Frequency(std::string_view word) const;
  /// Add or replace a word as jieba's add_word(word, freq): set its frequency, add `frequency`
  /// to the total and add its prefixes with frequency 0. Node ids may change. REQUIRES: not
  /// empty, frequency >= 0, no concurrent use of the dictionary.
  void AddWord(std::string_view word, int64_t frequency);

 private:
  // Slot layout (64 bits): code point (bits 0-20), has-children flag (21), frequency class
  // (22-38; class 0 = frequency 0), parent node (39-63; kRootKey for the root).
  static constexpr char32_t kRootTableSize = 0x10000;
  static constexpr uint64_t kFreeSlot = ~uint64_t{0};
  static constexpr uint64_t kCodeBits = 0x1FFFFF;
  static constexpr uint64_t kHasChildren = uint64_t{1} << 21;
  static constexpr int kClassShift = 22;
  static constexpr uint64_t kClassBits = 0x1FFFF;
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
  static uint32_t ClassOf(uint64_t slot) {
    return static_cast<uint32_t>((slot >> kClassShift) & kClassBits);
  }
  static Node ParentOf(uint64_t slot) {
    const uint64_t p = slot >> kParentShift;
    return p == kRootKey ? kRoot : static_cast<Node>(p);
  }

  JiebaDictionary();
  /// The node of `word` (valid UTF-8, not empty), created with its prefixes when missing. The
  /// table may grow, which changes node ids.
  Node AddPath(std::string_view word);
  /// Double the table, re-inserting nodes parents first.
  void Grow();
  void SetFrequency(Node node, int64_t frequency);

  std::vector<Node> root_children_;
  std::vector<uint64_t> slots_;
  uint64_t slot_mask_ = 0;
  /// 64 - log2(number of slots).
  int slot_shift_ = 64;
  size_t slots_used_ = 0;
  /// Frequency classes: class 0 is frequency 0; the others are the distinct frequencies seen.
  std::vector<int64_t> class_frequency_;
  std::vector<double> class_log_frequency_;
  std::unordered_map<int64_t, uint32_t> class_of_frequency_;
  uint64_t total_ = 0;
  double log_total_ = 0;
  size_t word_count_ = 0;
};

}  // namespace corpusflow
