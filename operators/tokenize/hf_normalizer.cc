#include "operators/tokenize/hf_normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "engine/error.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/bpe_pattern.h"

namespace corpusflow {
namespace {

using Type = HfNormalizerSpec::Type;

void Utf8procForm(std::string_view text, int options, std::string* out) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | options));
  if (n < 0) {
    throw DataError(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
  }
  out->assign(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
}

/// Call `on_char(cp)` for each character of `text`; an invalid subpart (not reached on valid
/// UTF-8) is appended to `*out` as it is.
template <typename OnChar>
void ForEachCharacter(std::string_view text, std::string* out, OnChar&& on_char) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    char32_t cp;
    const int n = DecodeUtf8(p, end, &cp);
    if (n < 0) {
      out->append(p, static_cast<size_t>(-n));
      p += -n;
      continue;
    }
    p += n;
    on_char(cp);
  }
}

void Lowercase(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  ForEachCharacter(text, out, [&](char32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    } else if (cp == 0x130) {
      AppendUtf8(U'i', out);
      AppendUtf8(0x307, out);
    } else {
      AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), out);
    }
  });
}

void Strip(std::string_view text, bool left, bool right, std::string* out) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (left) {
    while (begin < end) {
      char32_t cp;
      const int n = DecodeUtf8(begin, end, &cp);
      if (n < 0 || !IsUnicodeWhiteSpace(cp)) break;
      begin += n;
    }
  }
  if (right) {
    while (end > begin) {
      const char* last = end - 1;
      while (last > begin && (static_cast<unsigned char>(*last) & 0xC0) == 0x80) --last;
      char32_t cp;
      const int n = DecodeUtf8(last, end, &cp);
      if (n < 0 || !IsUnicodeWhiteSpace(cp)) break;
      end = last;
    }
  }
  out->assign(begin, end);
}

/// HF's is_chinese_char (bert.rs; note 0x2B920, where BERT's Python has 0x2B820).
bool IsHfChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/// HF's BertNormalizer: clean_text drops NUL, U+FFFD and control characters (categories Cc, Cf,
/// Cn, Co but \t, \n, \r) and makes whitespace (\t, \n, \r, White_Space) a space;
/// handle_chinese_chars puts spaces around CJK characters; strip_accents is NFD without Mn.
void BertNormalize(std::string_view text, const HfNormalizerSpec& spec, std::string* out) {
  thread_local std::string tmp;
  out->clear();
  ForEachCharacter(text, out, [&](char32_t cp) {
    if (spec.clean_text) {
      // Controls go first (U+0085, a Cc, is dropped although it is whitespace), then
      // whitespace becomes a space.
      if (cp == 0 || cp == 0xFFFD) return;
      const bool tab_or_newline = cp == '\t' || cp == '\n' || cp == '\r';
      if (!tab_or_newline) {
        const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
        if (c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CN ||
            c == UTF8PROC_CATEGORY_CO) {
          return;
        }
      }
      if (tab_or_newline || IsUnicodeWhiteSpace(cp)) cp = ' ';
    }
    if (spec.handle_chinese_chars && IsHfChineseChar(cp)) {
      out->push_back(' ');
      AppendUtf8(cp, out);
      out->push_back(' ');
    } else {
      AppendUtf8(cp, out);
    }
  });
  if (spec.strip_accents) {
    Utf8procForm(*out, UTF8PROC_DECOMPOSE, &tmp);
    out->clear();
    ForEachCharacter(tmp, out, [&](char32_t cp) {
      if (utf8proc_category(static_cast<utf8proc_int32_t>(cp)) != UTF8PROC_CATEGORY_MN) {
        AppendUtf8(cp, out);
      }
    });
  }
  if (spec.lowercase) {
    Lowercase(*out, &tmp);
    out->swap(tmp);
  }
}

}  // namespace

bool IsUnicodeWhiteSpace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

HfNormalizer::HfNormalizer(const std::vector<HfNormalizerSpec>& steps) {
  for (const HfNormalizerSpec& spec : steps) {
    Step step{spec, nullptr};
    if (spec.type == Type::kReplace) {
      step.regex = std::make_unique<BpePattern>(
          spec.pattern.regex ? spec.pattern.text : BpePattern::Literal(spec.pattern.text),
          /*names=*/false);
    }
    steps_.push_back(std::move(step));
  }
}

HfNormalizer::~HfNormalizer() = default;

void HfNormalizer::Normalize(std::string_view text, std::string* out) const {
  thread_local std::string next;
  out->assign(text);
  for (const Step& step : steps_) {
    const HfNormalizerSpec& spec = step.spec;
    switch (spec.type) {
      case Type::kNfc:
        Utf8procForm(*out, UTF8PROC_COMPOSE, &next);
        break;
      case Type::kNfkc:
        Utf8procForm(*out, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, &next);
        break;
      case Type::kNfd:
        Utf8procForm(*out, UTF8PROC_DECOMPOSE, &next);
        break;
      case Type::kNfkd:
        Utf8procForm(*out, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &next);
        break;
      case Type::kLowercase:
        Lowercase(*out, &next);
        break;
      case Type::kPrepend:
        if (out->empty()) continue;
        next = spec.text;
        next += *out;
        break;
      case Type::kReplace: {
        next.clear();
        size_t at = 0, begin, end;
        while (step.regex->Find(*out, at, &begin, &end)) {
          next.append(*out, at, begin - at);
          next += spec.text;
          at = end;
        }
        next.append(*out, at, std::string::npos);
        break;
      }
      case Type::kStrip:
        Strip(*out, spec.strip_left, spec.strip_right, &next);
        break;
      case Type::kBert:
        BertNormalize(*out, spec, &next);
        break;
    }
    out->swap(next);
  }
}

}  // namespace corpusflow
