#include "operators/pegasus/sentence_splitter.h"

#include <string>

#include "engine/error.h"
#include "operators/text/utf8_internal.h"

namespace corpusflow {
namespace {

bool IsAsciiTerminator(char c) { return c == '.' || c == '!' || c == '?'; }

void SplitPegasus(std::string_view text, std::vector<std::string_view>* sentences) {
  const size_t n = text.size();
  size_t start = 0;
  size_t pos = 0;
  while (pos < n) {
    if (!IsAsciiTerminator(text[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < n && IsAsciiTerminator(text[end])) ++end;
    if (end < n && IsAsciiSpace(text[end])) {
      while (end < n && IsAsciiSpace(text[end])) ++end;
      sentences->push_back(text.substr(start, end - start));
      start = end;
    }
    pos = end;
  }
  if (start < n) sentences->push_back(text.substr(start));
}

bool IsCjkTerminator(char32_t cp) {
  switch (cp) {
    case U'.':
    case U'!':
    case U'?':
    case U'\u3002':  // 。
    case U'\uFF01':  // ！
    case U'\uFF1F':  // ？
    case U'\uFF1B':  // ；
    case U'\u2026':  // …
    case U'\u22EF':  // ⋯
    case U'\uFF61':  // ｡
      return true;
    default:
      return false;
  }
}

bool IsCloser(char32_t cp) {
  switch (cp) {
    case U'"':
    case U'\'':
    case U')':
    case U']':
    case U'}':
    case U'\u201D':  // ”
    case U'\u2019':  // ’
    case U'\u300D':  // 」
    case U'\u300F':  // 』
    case U'\uFF09':  // ）
    case U'\u3011':  // 】
    case U'\u300B':  // 》
    case U'\u3009':  // 〉
    case U'\u3015':  // 〕
    case U'\u3017':  // 〗
    case U'\uFF5D':  // ｝
    case U'\uFF02':  // ＂
    case U'\uFF07':  // ＇
    case U'\u00BB':  // »
    case U'\u203A':  // ›
      return true;
    default:
      return false;
  }
}

bool IsLineBreak(char32_t cp) {
  return cp == U'\n' || cp == U'\r' || cp == U'\v' || cp == U'\f' || cp == 0x85 || cp == 0x2028 ||
         cp == 0x2029;
}

void SplitCjk(std::string_view text, std::vector<std::string_view>* sentences) {
  const size_t n = text.size();
  size_t start = 0;
  size_t pos = 0;
  bool has_content = false;
  char32_t cp;
  // Advance over whitespace from `p`; returns the end of the run.
  auto skip_space = [&](size_t p) {
    while (p < n) {
      const size_t length = DecodeUtf8Escaped(text, p, &cp);
      if (!IsPythonWhitespace(cp)) break;
      p += length;
    }
    return p;
  };
  auto emit = [&](size_t end) {
    sentences->push_back(text.substr(start, end - start));
    start = end;
    has_content = false;
  };
  while (pos < n) {
    const size_t length = DecodeUtf8Escaped(text, pos, &cp);
    if (IsCjkTerminator(cp)) {
      size_t run_end = pos;
      bool only_dots = true;
      while (run_end < n) {
        const size_t l = DecodeUtf8Escaped(text, run_end, &cp);
        if (!IsCjkTerminator(cp)) break;
        if (cp != U'.') only_dots = false;
        run_end += l;
      }
      size_t close_end = run_end;
      while (close_end < n) {
        const size_t l = DecodeUtf8Escaped(text, close_end, &cp);
        if (!IsCloser(cp)) break;
        close_end += l;
      }
      bool boundary = !only_dots || close_end == n;
      if (!boundary) {
        DecodeUtf8Escaped(text, close_end, &cp);
        boundary = IsPythonWhitespace(cp);
      }
      has_content = true;
      if (boundary) {
        pos = skip_space(close_end);
        emit(pos);
      } else {
        pos = run_end;
      }
    } else if (IsPythonWhitespace(cp)) {
      if (has_content && IsLineBreak(cp)) {
        pos = skip_space(pos);
        emit(pos);
      } else {
        pos += length;
      }
    } else {
      has_content = true;
      pos += length;
    }
  }
  if (start < n && has_content) emit(n);
}

}  // namespace

SentenceMode ParseSentenceMode(std::string_view name, std::string_view option) {
  if (name == "pegasus") return SentenceMode::kPegasus;
  if (name == "cjk") return SentenceMode::kCjk;
  throw InvalidArgument(std::string(option) + " must be 'pegasus' or 'cjk', not '" +
                        std::string(name) + "'");
}

std::string_view SentenceModeName(SentenceMode mode) {
  return mode == SentenceMode::kPegasus ? "pegasus" : "cjk";
}

void SplitSentences(std::string_view text, SentenceMode mode,
                    std::vector<std::string_view>* sentences) {
  sentences->clear();
  if (mode == SentenceMode::kPegasus) {
    SplitPegasus(text, sentences);
  } else {
    SplitCjk(text, sentences);
  }
}

SentenceParts SplitSentenceParts(std::string_view sentence) {
  const size_t n = sentence.size();
  char32_t cp;
  size_t begin = 0;
  while (begin < n) {
    const size_t length = DecodeUtf8Escaped(sentence, begin, &cp);
    if (!IsPythonWhitespace(cp)) break;
    begin += length;
  }
  // Find the end of the content: the position after its last non-space character.
  size_t end = begin;
  size_t pos = begin;
  while (pos < n) {
    const size_t length = DecodeUtf8Escaped(sentence, pos, &cp);
    pos += length;
    if (!IsPythonWhitespace(cp)) end = pos;
  }
  return SentenceParts{sentence.substr(0, begin), sentence.substr(begin, end - begin),
                       sentence.substr(end)};
}

}  // namespace corpusflow
