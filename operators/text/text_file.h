// Small text files the tokenizers load whole (vocab.txt, jieba dictionaries): read a file into
// memory (decompressed by extension, as engine/io/input_stream.h opens it) and walk its lines.
// Thread safety: ReadWholeFile is safe from any thread; a TextLines belongs to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corpusflow {

/// The whole (decompressed) content of `path`. Throws IoError or CorruptionError.
std::string ReadWholeFile(const std::string& path);

/// The lines of a text, numbered from 1: pieces ended by '\n' (not included), the last one
/// possibly without it; a final '\n' starts no further line.
class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {}

  /// Set `*line` to the next line; false after the last one.
  bool Next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    size_t eol = text_.find('\n', pos_);
    if (eol == std::string_view::npos) eol = text_.size();
    *line = text_.substr(pos_, eol - pos_);
    pos_ = eol + 1;
    ++line_number_;
    return true;
  }
  /// The number of the line Next returned last.
  uint64_t line_number() const { return line_number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  uint64_t line_number_ = 0;
};

}  // namespace corpusflow
