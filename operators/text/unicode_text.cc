#include "operators/text/unicode_text.h"

#include <simdjson.h>
#include <utf8proc.h>

#include <algorithm>

#include "engine/error.h"
#include "engine/slices.h"

namespace corpusflow {
namespace {

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

int CombiningClass(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

/// Sort every run of combining characters (class > 0) by class, stably: canonical ordering.
void CanonicalOrder(char32_t* cps, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (CombiningClass(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && CombiningClass(cps[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(cps + i, cps + j, [](char32_t a, char32_t b) {
        return CombiningClass(a) < CombiningClass(b);
      });
    }
    i = j;
  }
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

size_t AppendUtf8Repaired(std::string_view text, std::string* out) {
  size_t replaced = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  const char* copied = p;
  while (p < end) {
    char32_t cp = 0;
    const int n = DecodeUtf8(p, end, &cp);
    if (n > 0) {
      p += n;
      continue;
    }
    out->append(copied, p);
    out->append("\xEF\xBF\xBD");
    ++replaced;
    p += -n;
    copied = p;
  }
  out->append(copied, end);
  return replaced;
}

size_t ReplaceInvalidUtf8(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size() + 8);
  return AppendUtf8Repaired(text, out);
}

size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    char32_t cp = 0;
    const int n = DecodeUtf8(p, end, &cp);
    p += n > 0 ? n : -n;
    ++count;
  }
  return count;
}

BadUtf8Policy ParseBadUtf8Policy(const std::string& text) {
  if (text == "replace") return BadUtf8Policy::kReplace;
  if (text == "drop") return BadUtf8Policy::kDrop;
  if (text == "error") return BadUtf8Policy::kError;
  throw InvalidArgument("--invalid-utf8 must be replace, drop or error, not '" + text + "'");
}

Utf8Outcome ApplyBadUtf8Policy(BadUtf8Policy policy, std::string_view* text, std::string* scratch,
                               std::string_view who, uint64_t record, std::string_view field) {
  if (IsValidUtf8(*text)) return Utf8Outcome::kValid;
  switch (policy) {
    case BadUtf8Policy::kReplace:
      ReplaceInvalidUtf8(*text, scratch);
      *text = *scratch;
      return Utf8Outcome::kRepaired;
    case BadUtf8Policy::kDrop:
      return Utf8Outcome::kDropped;
    case BadUtf8Policy::kError:
      break;
  }
  throw DataError(std::string(who) + ": record " + RecordNumberText(record) + ": field '" +
                  std::string(field) + "' is not valid UTF-8");
}

bool IsPythonSpace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  // str.isspace(): bidirectional class WS, B or S, or category Zs.
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

bool IsBertWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x80) return false;
  return Category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool IsBertControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x80) return cp < 0x20 || cp == 0x7F;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF;
}

bool IsBertPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  const utf8proc_category_t c = Category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool IsNonspacingMark(char32_t cp) { return cp >= 0x300 && Category(cp) == UTF8PROC_CATEGORY_MN; }

void AppendUncased(const char32_t* cps, size_t n, std::vector<char32_t>* out,
                   std::vector<char32_t>* scratch) {
  scratch->clear();
  utf8proc_int32_t buffer[32];
  for (size_t i = 0; i < n; ++i) {
    const char32_t cp = cps[i];
    if (cp < 0x80) {
      scratch->push_back((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
      continue;
    }
    // Full lowercase mapping: U+0130 is the one unconditional special case (SpecialCasing.txt).
    char32_t lowered[2] = {static_cast<char32_t>(utf8proc_tolower(static_cast<int32_t>(cp))), 0};
    size_t lowered_n = 1;
    if (cp == 0x130) {
      lowered[0] = 'i';
      lowered[1] = 0x307;
      lowered_n = 2;
    }
    for (size_t k = 0; k < lowered_n; ++k) {
      int boundclass = UTF8PROC_BOUNDCLASS_START;
      const utf8proc_ssize_t m = utf8proc_decompose_char(
          static_cast<utf8proc_int32_t>(lowered[k]), buffer, 32, UTF8PROC_DECOMPOSE, &boundclass);
      if (m < 0 || m > 32) {
        scratch->push_back(lowered[k]);
        continue;
      }
      for (utf8proc_ssize_t j = 0; j < m; ++j) scratch->push_back(static_cast<char32_t>(buffer[j]));
    }
  }
  CanonicalOrder(scratch->data(), scratch->size());
  for (char32_t cp : *scratch) {
    if (!IsNonspacingMark(cp)) out->push_back(cp);
  }
}

void UncasedText(std::string_view text, std::string* out, UncasedScratch* scratch) {
  out->clear();
  out->reserve(text.size());
  std::vector<char32_t>& pending = scratch->pending;
  std::vector<char32_t>& normalized = scratch->normalized;
  pending.clear();
  auto flush = [&] {
    if (pending.empty()) return;
    normalized.clear();
    AppendUncased(pending.data(), pending.size(), &normalized, &scratch->decomposed);
    for (char32_t cp : normalized) AppendUtf8(cp, out);
    pending.clear();
  };
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const auto b = static_cast<unsigned char>(*p);
    if (b < 0x80) {
      flush();
      out->push_back((b >= 'A' && b <= 'Z') ? static_cast<char>(b + 32) : static_cast<char>(b));
      ++p;
      continue;
    }
    char32_t cp = 0;
    int n = DecodeUtf8(p, end, &cp);
    if (n < 0) {
      cp = 0xFFFD;
      n = -n;
    }
    if (cp >= 0x4E00 && cp <= 0x9FFF) {
      // CJK unified ideographs: no case, no decomposition, combining class 0.
      flush();
      out->append(p, static_cast<size_t>(n));
    } else {
      pending.push_back(cp);
    }
    p += n;
  }
  flush();
}

}  // namespace corpusflow
