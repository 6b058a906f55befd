#include "operators/tokenize/hf_pre_tokenizer.h"

#include <algorithm>

#include "operators/tokenize/bpe_pattern.h"

namespace corpusflow {
namespace {

using Span = std::pair<size_t, size_t>;

struct Part {
  size_t begin;
  size_t end;
  bool match;
};

/// Cut [span) of `text` by `regex` and append the pieces HF's NormalizedString::split makes with
/// `behavior` to `out` (empty ones left out).
void SplitSpan(const std::string& text, Span span, const BpePattern& regex,
               HfSplitBehavior behavior, bool invert, std::vector<Span>* out) {
  thread_local std::vector<Part> parts;
  thread_local std::vector<Part> arranged;
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
    if (p.end > p.begin) out->push_back({span.first + p.begin, span.first + p.end});
  }
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
