#include "operators/tokenize/hf_added_tokens.h"

#include <utf8proc.h>

#include <algorithm>
#include <numeric>

#include "operators/text/unicode_text.h"
#include "operators/tokenize/hf_normalizer.h"

namespace corpusflow {
namespace {

/// The last character of `text` (non-empty, valid UTF-8).
char32_t LastCharacter(std::string_view text) {
  size_t at = text.size() - 1;
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  char32_t cp = 0xFFFD;
  DecodeUtf8(text.data() + at, text.data() + text.size(), &cp);
  return cp;
}

char32_t FirstCharacter(std::string_view text) {
  char32_t cp = 0xFFFD;
  DecodeUtf8(text.data(), text.data() + text.size(), &cp);
  return cp;
}

/// Where the whitespace at the end of `text` begins (`\s*$`).
size_t TrailingSpaceStart(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t at = end - 1;
    while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
    char32_t cp;
    if (DecodeUtf8(text.data() + at, text.data() + end, &cp) <= 0 || !IsUnicodeWhiteSpace(cp)) {
      break;
    }
    end = at;
  }
  return end;
}

/// The length of the whitespace at the start of `text` (`^\s*`).
size_t LeadingSpaceLength(std::string_view text) {
  size_t at = 0;
  while (at < text.size()) {
    char32_t cp;
    const int n = DecodeUtf8(text.data() + at, text.data() + text.size(), &cp);
    if (n <= 0 || !IsUnicodeWhiteSpace(cp)) break;
    at += static_cast<size_t>(n);
  }
  return at;
}

}  // namespace

bool IsRustWordCharacter(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
      (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189)) {
    return true;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

HfAddedTokenSplitter::HfAddedTokenSplitter(std::vector<Token> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].pattern.empty()) continue;
    by_length_.push_back(i);
    first_byte_[static_cast<unsigned char>(tokens_[i].pattern[0])] = true;
  }
  std::stable_sort(by_length_.begin(), by_length_.end(), [&](size_t a, size_t b) {
    return tokens_[a].pattern.size() > tokens_[b].pattern.size();
  });
}

void HfAddedTokenSplitter::Split(std::string_view text, std::vector<Segment>* segments) const {
  segments->clear();
  size_t start_offset = 0;
  for (size_t i = 0; i < text.size();) {
    const Token* match = nullptr;
    if (first_byte_[static_cast<unsigned char>(text[i])]) {
      const std::string_view rest = text.substr(i);
      for (const size_t k : by_length_) {
        if (rest.starts_with(tokens_[k].pattern)) {
          match = &tokens_[k];
          break;
        }
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    size_t start = i;
    size_t stop = i + match->pattern.size();
    i = stop;  // the automaton goes on after the match, whatever becomes of it
    if (match->single_word) {
      const bool space_before =
          start == 0 || !IsRustWordCharacter(LastCharacter(text.substr(0, start)));
      const bool space_after =
          stop == text.size() || !IsRustWordCharacter(FirstCharacter(text.substr(stop)));
      if (!space_before || !space_after) continue;
    }
    if (match->lstrip) start = std::max(TrailingSpaceStart(text.substr(0, start)), start_offset);
    if (match->rstrip) stop += LeadingSpaceLength(text.substr(stop));
    if (start_offset < start) segments->push_back({start_offset, start, -1});
    segments->push_back({start, stop, match->id});
    start_offset = stop;
  }
  if (start_offset < text.size()) segments->push_back({start_offset, text.size(), -1});
}

}  // namespace corpusflow
