// The prefix dictionary of jieba (python3-jieba 0.42.1): every word with its frequency, and every
// proper prefix of a word present with frequency 0. It is a CodePointTrie whose node tags are
// the class of the node's frequency (an index into a small table of distinct frequencies and
// their logarithms), so a segmenter walks the trie with one cache line per code point and no
// logarithm. Loading the 349,046-line dictionary of Debian's python3-jieba takes about 0.1 s and
// 8 MB. Limits: 8 million nodes and 131,071 distinct frequencies (DataError beyond).
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

#include "operators/tokenize/code_point_trie.h"

namespace corpusflow {

class JiebaDictionary {
 public:
  /// A node of the trie (the end of a word or of a prefix).
  using Node = CodePointTrie::Node;
  static constexpr Node kRoot = CodePointTrie::kRoot;
  static constexpr Node kNoNode = CodePointTrie::kNoNode;
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
  Node Child(Node node, char32_t cp) const { return trie_.Child(node, cp); }
  /// Whether any word continues past `node` (REQUIRES: a node, not kRoot).
  bool HasChildren(Node node) const { return trie_.HasChildren(node); }
  /// ln(frequency) of the word ending at `node`, or kNotAWord for a prefix of frequency 0.
  double WordLogFrequency(Node node) const { return class_log_frequency_[trie_.Tag(node)]; }
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
  /// About `expected_nodes` nodes will be added.
  explicit JiebaDictionary(size_t expected_nodes);
  void SetFrequency(Node node, int64_t frequency);

  CodePointTrie trie_;
  /// Frequency classes: class 0 is frequency 0; the others are the distinct frequencies seen.
  std::vector<int64_t> class_frequency_;
  std::vector<double> class_log_frequency_;
  std::unordered_map<int64_t, uint32_t> class_of_frequency_;
  uint64_t total_ = 0;
  double log_total_ = 0;
  size_t word_count_ = 0;
};

}  // namespace corpusflow
