#include "operators/tokenize/hf_pre_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>

#include "operators/text/unicode_text.h"
#include "operators/tokenize/bpe_pattern.h"
#include "operators/tokenize/hf_added_tokens.h"
#include "operators/tokenize/hf_normalizer.h"

namespace corpusflow {
namespace {

using Span = std::pair<size_t, size_t>;

struct Part {
  size_t begin;
  size_t end;
  bool match;
};

/// Append the pieces HF's NormalizedString::split makes of `parts` (matches and the text between
/// them, offsets from `offset`) with `behavior` to `out` (empty ones left out).
void Arrange(std::vector<Part>& parts, size_t offset, HfSplitBehavior behavior, bool invert,
             std::vector<Span>* out) {
  thread_local std::vector<Part> arranged;
  if (invert) {
    for (Part& p : parts) p.match = !p.match;
  }
  arranged.clear();
  bool previous_match = false;
  switch (behavior) {
    case HfSplitBehavior::kIsolated:
      arranged = parts;
      break;
    case HfSplitBehavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.match) arranged.push_back(p);
      }
      break;
    case HfSplitBehavior::kMergedWithPrevious:
      for (const Part& p : parts) {
        if (p.match && !previous_match && !arranged.empty()) {
          arranged.back().end = p.end;
        } else {
          arranged.push_back(p);
        }
        previous_match = p.match;
      }
      break;
    case HfSplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous_match && !arranged.empty()) {
          arranged.back().begin = it->begin;
        } else {
          arranged.push_back(*it);
        }
        previous_match = it->match;
      }
      std::reverse(arranged.begin(), arranged.end());
      break;
    case HfSplitBehavior::kContiguous:
      for (const Part& p : parts) {
        if (p.match == previous_match && !arranged.empty()) {
          arranged.back().end = p.end;
        } else {
          arranged.push_back(p);
        }
        previous_match = p.match;
      }
      break;
  }
  for (const Part& p : arranged) {
    if (p.end > p.begin) out->push_back({offset + p.begin, offset + p.end});
  }
}

/// Cut [span) of `text` by `regex` (the matches and the text between them) and arrange the parts.
void SplitSpan(const std::string& text, Span span, const BpePattern& regex,
               HfSplitBehavior behavior, bool invert, std::vector<Span>* out) {
  thread_local std::vector<Part> parts;
  parts.clear();
  const std::string_view subject =
      std::string_view(text).substr(span.first, span.second - span.first);
  size_t at = 0, begin, end;
  while (regex.Find(subject, at, &begin, &end)) {
    if (begin > at) parts.push_back({at, begin, false});
    parts.push_back({begin, end, true});
    at = end;
  }
  if (at < subject.size()) parts.push_back({at, subject.size(), false});
  Arrange(parts, span.first, behavior, invert, out);
}

/// Cut [span) of `text` at each character `is_match(cp)` accepts (one match per character, as
/// HF's split by a char predicate) and arrange the parts.
template <typename IsMatch>
void SplitSpanByCharacter(const std::string& text, Span span, IsMatch&& is_match,
                          HfSplitBehavior behavior, std::vector<Span>* out) {
  thread_local std::vector<Part> parts;
  parts.clear();
  size_t last = span.first;
  for (size_t at = span.first; at < span.second;) {
    char32_t cp = 0xFFFD;
    const int n = DecodeUtf8(text.data() + at, text.data() + span.second, &cp);
    const size_t length = static_cast<size_t>(n < 0 ? -n : n);
    if (n > 0 && is_match(cp)) {
      if (at > last) parts.push_back({last - span.first, at - span.first, false});
      parts.push_back({at - span.first, at + length - span.first, true});
      last = at + length;
    }
    at += length;
  }
  if (span.second > last) parts.push_back({last - span.first, span.second - span.first, false});
  Arrange(parts, span.first, behavior, false, out);
}

/// HF's Whitespace pre-tokenizer: the matches of `\w+|[^\w\s]+` (Rust's Unicode classes).
void WhitespaceSplit(const std::string& text, Span span, std::vector<Span>* out) {
  enum class Kind { kWord, kSpace, kOther };
  size_t run = span.first;
  Kind run_kind = Kind::kSpace;
  for (size_t at = span.first; at <= span.second;) {
    Kind kind = Kind::kSpace;
    size_t length = 1;
    if (at < span.second) {
      char32_t cp = 0xFFFD;
      const int n = DecodeUtf8(text.data() + at, text.data() + span.second, &cp);
      length = static_cast<size_t>(n < 0 ? -n : n);
      kind = IsRustWordCharacter(cp)   ? Kind::kWord
             : IsUnicodeWhiteSpace(cp) ? Kind::kSpace
                                       : Kind::kOther;
    }
    if (at == span.second || kind != run_kind) {
      if (run_kind != Kind::kSpace && at > run) out->push_back({run, at});
      run = at;
      run_kind = kind;
    }
    at += length;
  }
}

/// Rust's char::is_numeric: categories Nd, Nl, No.
bool IsNumeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

/// Rust's is_ascii_punctuation or a category P* (HF's is_bert_punc).
bool IsHfPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

/// BertPreTokenizer on [span): whitespace removed, each punctuation character a piece.
void BertSplit(const std::string& text, Span span, std::vector<Span>* out) {
  size_t word = span.first;
  for (size_t at = span.first; at < span.second;) {
    char32_t cp = 0xFFFD;
    const int n = DecodeUtf8(text.data() + at, text.data() + span.second, &cp);
    const size_t length = static_cast<size_t>(n < 0 ? -n : n);
    const bool space = n > 0 && IsUnicodeWhiteSpace(cp);
    const bool punctuation = n > 0 && IsHfPunctuation(cp);
    if (space || punctuation) {
      if (at > word) out->push_back({word, at});
      if (punctuation) out->push_back({at, at + length});
      word = at + length;
    }
    at += length;
  }
  if (span.second > word) out->push_back({word, span.second});
}

}  // namespace

HfPreTokenizer::HfPreTokenizer(const std::vector<HfPreTokenizerSpec>& steps) {
  for (const HfPreTokenizerSpec& spec : steps) {
    Step step{spec, nullptr};
    if (spec.type == HfPreTokenizerSpec::Type::kSplit) {
      step.regex = std::make_unique<BpePattern>(
          spec.pattern.regex ? spec.pattern.text : BpePattern::Literal(spec.pattern.text),
          /*names=*/false);
    } else if (spec.type == HfPreTokenizerSpec::Type::kMetaspace) {
      if (spec.split) {
        step.regex =
            std::make_unique<BpePattern>(BpePattern::Literal(spec.replacement), /*names=*/false);
      }
    } else if (spec.use_regex) {
      step.regex = std::make_unique<BpePattern>("gpt2");
    }
    steps_.push_back(std::move(step));
  }
}

HfPreTokenizer::~HfPreTokenizer() = default;

void HfPreTokenizer::Split(std::string_view text, bool at_start, HfPieces* pieces) const {
  thread_local std::vector<Span> next;
  thread_local std::string piece;
  pieces->text.assign(text);
  pieces->spans.clear();
  if (!text.empty()) pieces->spans.push_back({0, text.size()});
  pieces->first_at_start = at_start;
  for (const Step& step : steps_) {
    const HfPreTokenizerSpec& spec = step.spec;
    next.clear();
    for (size_t i = 0; i < pieces->spans.size(); ++i) {
      Span span = pieces->spans[i];
      if (spec.type == HfPreTokenizerSpec::Type::kBert ||
          spec.type == HfPreTokenizerSpec::Type::kWhitespace ||
          spec.type == HfPreTokenizerSpec::Type::kWhitespaceSplit ||
          spec.type == HfPreTokenizerSpec::Type::kPunctuation ||
          spec.type == HfPreTokenizerSpec::Type::kDigits) {
        switch (spec.type) {
          case HfPreTokenizerSpec::Type::kBert:
            BertSplit(pieces->text, span, &next);
            break;
          case HfPreTokenizerSpec::Type::kWhitespace:
            WhitespaceSplit(pieces->text, span, &next);
            break;
          case HfPreTokenizerSpec::Type::kWhitespaceSplit:
            SplitSpanByCharacter(pieces->text, span, IsUnicodeWhiteSpace, HfSplitBehavior::kRemoved,
                                 &next);
            break;
          case HfPreTokenizerSpec::Type::kPunctuation:
            SplitSpanByCharacter(pieces->text, span, IsHfPunctuation, spec.behavior, &next);
            break;
          default:  // kDigits
            SplitSpanByCharacter(
                pieces->text, span, IsNumeric,
                spec.individual_digits ? HfSplitBehavior::kIsolated : HfSplitBehavior::kContiguous,
                &next);
            break;
        }
        if (i == 0 && (next.empty() || next[0].first != span.first)) {
          pieces->first_at_start = false;
        }
        continue;
      }
      if (spec.type == HfPreTokenizerSpec::Type::kSplit) {
        SplitSpan(pieces->text, span, *step.regex, spec.behavior, spec.invert, &next);
        if (i == 0 && (next.empty() || next[0].first != span.first)) {
          pieces->first_at_start = false;  // its start was removed
        }
        continue;
      }
      if (spec.type == HfPreTokenizerSpec::Type::kMetaspace) {
        const std::string& rep = spec.replacement;
        piece.clear();
        const bool first = i == 0 && pieces->first_at_start;
        const std::string_view from =
            std::string_view(pieces->text).substr(span.first, span.second - span.first);
        if (!from.starts_with(' ') &&
            (spec.prepend == HfPreTokenizerSpec::Prepend::kAlways ||
             (spec.prepend == HfPreTokenizerSpec::Prepend::kFirst && first))) {
          if (!from.starts_with(rep)) piece = rep;
        }
        for (const char c : from) {
          if (c == ' ') {
            piece += rep;
          } else {
            piece += c;
          }
        }
        span.first = pieces->text.size();
        pieces->text += piece;
        span.second = pieces->text.size();
        if (step.regex) {
          SplitSpan(pieces->text, span, *step.regex, HfSplitBehavior::kMergedWithNext, false,
                    &next);
        } else {
          next.push_back(span);
        }
        continue;
      }
      if (spec.add_prefix_space && pieces->text[span.first] != ' ') {
        piece.assign(pieces->text, span.first, span.second - span.first);
        span.first = pieces->text.size();
        pieces->text += ' ';
        pieces->text += piece;
        span.second = pieces->text.size();
      }
      if (step.regex) {
        SplitSpan(pieces->text, span, *step.regex, HfSplitBehavior::kIsolated, false, &next);
      } else {
        next.push_back(span);
      }
    }
    pieces->spans.swap(next);
  }
}

}  // namespace corpusflow
