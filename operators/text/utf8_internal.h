// Lossless UTF-8 decoding for the PEGASUS operators (sentences, gsg, pseudo-summary), on top of
// the decoder of operators/unicode_text.h. Bytes that are not UTF-8 follow Python's
// `bytes.decode("utf-8", errors="surrogateescape")`: each such byte decodes to the lone surrogate
// U+DC00 + byte (U+DC80..U+DCFF), one code point per byte. So a byte range computed on decoded
// text reproduces the input byte for byte, and lengths count one per bad byte; the writer of the
// output decides how to show such bytes (the JSONL writer replaces them with U+FFFD).
// Pure inline functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "operators/text/unicode_text.h"

namespace corpusflow {

/// Decode the character at byte `pos` of `text` into `*cp`; return its length in bytes (1 for a
/// byte that is not part of well-formed UTF-8, decoded as U+DC00 + byte). REQUIRES: pos < size.
inline size_t DecodeUtf8Escaped(std::string_view text, size_t pos, char32_t* cp) {
  const int length = DecodeUtf8(text.data() + pos, text.data() + text.size(), cp);
  if (length > 0) return static_cast<size_t>(length);
  *cp = 0xDC00 + static_cast<unsigned char>(text[pos]);
  return 1;
}

/// Whether `cp` stands for a byte that was not UTF-8.
constexpr bool IsEscapedByte(char32_t cp) { return cp >= 0xDC80 && cp <= 0xDCFF; }

/// Python's str.isspace(), with an inline path for ASCII.
inline bool IsPythonWhitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  if (IsEscapedByte(cp)) return false;
  return IsPythonSpace(cp);
}

/// Replace `*code_points` with the decoded text and `*byte_offsets` with the byte offset of every
/// code point plus a final text.size().
inline void DecodeUtf8Escaped(std::string_view text, std::vector<char32_t>* code_points,
                              std::vector<uint32_t>* byte_offsets) {
  code_points->clear();
  byte_offsets->clear();
  code_points->reserve(text.size());
  byte_offsets->reserve(text.size() + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const size_t length = DecodeUtf8Escaped(text, pos, &cp);
    code_points->push_back(cp);
    byte_offsets->push_back(static_cast<uint32_t>(pos));
    pos += length;
  }
  byte_offsets->push_back(static_cast<uint32_t>(text.size()));
}

}  // namespace corpusflow
