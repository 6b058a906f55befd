#include "operators/tokenize/vocab_file.h"

#include <algorithm>

#include "operators/text/text_file.h"

namespace corpusflow {

std::vector<std::string_view> SplitVocabTokens(std::string_view text, VocabColumns columns) {
  std::vector<std::string_view> tokens;
  TextLines lines(text);
  std::string_view line;
  while (lines.Next(&line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (columns == VocabColumns::kTokenThenScore) line = line.substr(0, line.find('\t'));
    tokens.push_back(line);
  }
  return tokens;
}

std::vector<std::string> ReadVocabTokens(const std::string& path, VocabColumns columns) {
  const std::string text = ReadWholeFile(path);
  const std::vector<std::string_view> views = SplitVocabTokens(text, columns);
  return std::vector<std::string>(views.begin(), views.end());
}

std::vector<std::string> ShiftVocabTokens(std::vector<std::string> tokens, int32_t id_offset) {
  if (id_offset <= 0) return tokens;
  const size_t kept = std::min<size_t>(tokens.size(), 2);
  const auto offset = static_cast<size_t>(id_offset);
  std::vector<std::string> shifted(tokens.size() + offset);
  for (size_t line = 0; line < tokens.size(); ++line) {
    shifted[line < kept ? line : line + offset] = std::move(tokens[line]);
  }
  return shifted;
}

}  // namespace corpusflow
