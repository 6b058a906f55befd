// Unicode text helpers of the tokenizers: UTF-8 decoding and validation (with the Unicode
// "maximal subpart" replacement that Python's bytes.decode(errors="replace") uses), character
// classes of jieba and BERT, and the uncased normalisation of BERT (lowercase, NFD, drop
// nonspacing marks). Categories, case mappings and decompositions come from utf8proc (Unicode
// 15); only the small fixed sets that the reference tokenizers define themselves (BERT's CJK
// ranges, ASCII punctuation) are written here.
// Known difference with Python's str.lower(): a word-final capital sigma lowers to σ, not ς
// (HF tokenizers behave the same way).
// Thread safety: stateless functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

/// Decode the code point at `p` (REQUIRES: p < end). Returns its length in bytes (1 to 4) and
/// sets `*cp`; for bytes that are not valid UTF-8 (stray continuation bytes, overlong forms,
/// surrogates, values above U+10FFFF, truncated sequences) returns -n, where n >= 1 is the length
/// of the maximal invalid subpart that one U+FFFD replaces.
inline int DecodeUtf8(const char* p, const char* end, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(*p);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  int need;
  char32_t value;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (p + i >= end) return -i;
    const auto b = static_cast<unsigned char>(p[i]);
    if (b < lo || b > hi) return -i;
    lo = 0x80;
    hi = 0xBF;
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  return need + 1;
}

/// Append the UTF-8 encoding of `cp` (REQUIRES: a valid scalar value).
inline void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Whether `text` is entirely valid UTF-8.
bool IsValidUtf8(std::string_view text);
/// Append `text` to `*out` with every maximal invalid subpart replaced by U+FFFD (the Unicode
/// "maximal subpart" practice, as Python's errors="replace"); returns the number of replacements.
size_t AppendUtf8Repaired(std::string_view text, std::string* out);
/// The same, replacing `*out`.
size_t ReplaceInvalidUtf8(std::string_view text, std::string* out);
/// Code points in valid UTF-8 text (an invalid subpart counts as one).
size_t CountCodePoints(std::string_view text);

/// What to do with a record whose text is not valid UTF-8.
enum class BadUtf8Policy { kReplace, kDrop, kError };
/// Parse "replace", "drop" or "error"; throws InvalidArgument.
BadUtf8Policy ParseBadUtf8Policy(const std::string& text);

/// What ApplyBadUtf8Policy did to a record's text.
enum class Utf8Outcome { kValid, kRepaired, kDropped };
/// Apply `policy` to the text of one record: valid text is left as is; kReplace repairs it into
/// `*scratch` and points `*text` there; kDrop reports the record as dropped; kError throws
/// DataError "WHO: record N: field 'F' is not valid UTF-8" (N: RecordNumberText of `record`, the
/// record's identity, engine/slices.h).
Utf8Outcome ApplyBadUtf8Policy(BadUtf8Policy policy, std::string_view* text, std::string* scratch,
                               std::string_view who, uint64_t record, std::string_view field);

/// Python's str.isspace(): the characters jieba's `\s` matches.
bool IsPythonSpace(char32_t cp);
/// Whether `cp` is in jieba's block class [\u4E00-\u9FD5a-zA-Z0-9+#&._%-].
inline bool IsJiebaBlockChar(char32_t cp) {
  if (cp >= 0x4E00 && cp <= 0x9FD5) return true;
  if (cp >= 0x80) return false;
  const char c = static_cast<char>(cp);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '#' || c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}
/// [a-zA-Z0-9].
inline bool IsAsciiAlnum(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}
/// ASCII whitespace as Python's bytes.isspace(): space, \t, \n, \r, \v, \f.
inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
/// Python's bytes.strip(): `s` without leading and trailing ASCII whitespace.
inline std::string_view StripAsciiSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

/// BERT's _is_whitespace: space, \t, \n, \r or category Zs.
bool IsBertWhitespace(char32_t cp);
/// BERT's _is_control: category Cc or Cf, except \t, \n, \r.
bool IsBertControl(char32_t cp);
/// BERT's _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126, or a category P*.
bool IsBertPunctuation(char32_t cp);
/// BERT's _is_chinese_char (the CJK Unified Ideographs blocks and compatibility ideographs).
inline bool IsBertCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
/// Category Mn (nonspacing mark).
bool IsNonspacingMark(char32_t cp);

/// Lowercase, NFD-decompose and drop nonspacing marks (BERT's uncased normalisation), appending
/// code points to `*out`. Works on a run of code points so that canonical ordering of combining
/// marks is exact. `scratch` is reused between calls.
void AppendUncased(const char32_t* cps, size_t n, std::vector<char32_t>* out,
                   std::vector<char32_t>* scratch);
/// Reusable buffers of UncasedText; one per thread.
struct UncasedScratch {
  std::vector<char32_t> pending;
  std::vector<char32_t> normalized;
  std::vector<char32_t> decomposed;
};
/// The same on UTF-8 text (REQUIRES: valid UTF-8): `*out` is replaced.
void UncasedText(std::string_view text, std::string* out, UncasedScratch* scratch);

}  // namespace corpusflow
