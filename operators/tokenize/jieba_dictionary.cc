#include "operators/tokenize/jieba_dictionary.h"

#include <cmath>
#include <limits>

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

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

JiebaDictionary::JiebaDictionary(size_t expected_nodes)
    : trie_(expected_nodes), class_frequency_{0}, class_log_frequency_{kNotAWord} {}

JiebaDictionary::~JiebaDictionary() = default;

std::unique_ptr<JiebaDictionary> JiebaDictionary::Load(const std::string& path) {
  return Parse(ReadWholeFile(path), path);
}

std::unique_ptr<JiebaDictionary> JiebaDictionary::Parse(std::string_view text,
                                                        const std::string& name) {
  // About one trie node per 10 bytes of dict.txt: size the table once.
  std::unique_ptr<JiebaDictionary> dict(new JiebaDictionary(text.size() / 10));

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

    dict->SetFrequency(dict->trie_.Insert(word), frequency);
    total += static_cast<uint64_t>(frequency);
  }
  dict->total_ = total;
  dict->log_total_ = std::log(static_cast<double>(total));
  return dict;
}

void JiebaDictionary::SetFrequency(Node node, int64_t frequency) {
  if (class_frequency_[trie_.Tag(node)] > 0) --word_count_;
  uint32_t cls = 0;
  if (frequency > 0) {
    ++word_count_;
    auto [it, added] =
        class_of_frequency_.emplace(frequency, static_cast<uint32_t>(class_frequency_.size()));
    if (added) {
      if (class_frequency_.size() > CodePointTrie::kMaxTag) {
        throw DataError("jieba dictionary: more than " + std::to_string(CodePointTrie::kMaxTag) +
                        " distinct frequencies");
      }
      class_frequency_.push_back(frequency);
      class_log_frequency_.push_back(std::log(static_cast<double>(frequency)));
    }
    cls = it->second;
  }
  trie_.SetTag(node, cls);
}

std::optional<int64_t> JiebaDictionary::Frequency(std::string_view word) const {
  const Node node = trie_.Find(word);
  if (node == kNoNode) return std::nullopt;
  return class_frequency_[trie_.Tag(node)];
}

void JiebaDictionary::AddWord(std::string_view word, int64_t frequency) {
  if (word.empty()) return;
  SetFrequency(trie_.Insert(word), frequency);
  total_ += static_cast<uint64_t>(frequency);
  log_total_ = std::log(static_cast<double>(total_));
}

}  // namespace corpusflow
