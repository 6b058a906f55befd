#include "operators/pegasus/rouge.h"

#include <utf8proc.h>

#include <algorithm>

#include "engine/check.h"
#include "engine/error.h"
#include "operators/text/unicode_text.h"
#include "operators/text/utf8_internal.h"
#include "operators/tokenize/jieba_segmenter.h"

namespace corpusflow {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// Letters, digits and marks (the characters that make up words).
bool IsWordCategory(char32_t cp) {
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
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

/// Scripts written without spaces between words: each of their characters is a token.
bool IsSpacelessScript(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK Unified Ideographs
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // extension A
         (cp >= 0x20000 && cp <= 0x3FFFF) ||  // extensions B.. and compatibility supplement
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // compatibility ideographs
         (cp >= 0x3040 && cp <= 0x30FF) ||    // Hiragana, Katakana
         (cp >= 0x31F0 && cp <= 0x31FF) ||    // Katakana phonetic extensions
         (cp >= 0xFF66 && cp <= 0xFF9F) ||    // halfwidth Katakana
         (cp >= 0xAC00 && cp <= 0xD7FF) ||    // Hangul syllables and Jamo extended B
         (cp >= 0x1100 && cp <= 0x11FF) ||    // Hangul Jamo
         (cp >= 0x3130 && cp <= 0x318F) ||    // Hangul compatibility Jamo
         (cp >= 0xA960 && cp <= 0xA97F) ||    // Hangul Jamo extended A
         (cp >= 0x3100 && cp <= 0x312F) ||    // Bopomofo
         (cp >= 0x31A0 && cp <= 0x31BF) ||    // Bopomofo extended
         (cp >= 0x3005 && cp <= 0x3007) ||    // 々 〆 〇
         (cp >= 0xA000 && cp <= 0xA4CF) ||    // Yi
         (cp >= 0x0E00 && cp <= 0x0EFF) ||    // Thai, Lao
         (cp >= 0x0F00 && cp <= 0x0FFF) ||    // Tibetan
         (cp >= 0x1000 && cp <= 0x109F) ||    // Myanmar
         (cp >= 0x1780 && cp <= 0x17FF);      // Khmer
}

char32_t UnicodeLower(char32_t cp) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

}  // namespace

RougeTokens ParseRougeTokens(std::string_view name) {
  if (name == "reference") return RougeTokens::kReference;
  if (name == "chars") return RougeTokens::kChars;
  if (name == "jieba") return RougeTokens::kJieba;
  throw InvalidArgument("--tokens must be 'reference', 'chars' or 'jieba', not '" +
                        std::string(name) + "'");
}

std::string_view RougeTokensName(RougeTokens tokens) {
  switch (tokens) {
    case RougeTokens::kReference:
      return "reference";
    case RougeTokens::kChars:
      return "chars";
    case RougeTokens::kJieba:
      return "jieba";
  }
  return "?";
}

RougeCounting ParseRougeCounting(std::string_view name) {
  if (name == "orig") return RougeCounting::kOrig;
  if (name == "uniq") return RougeCounting::kUniq;
  throw InvalidArgument("--rouge must be 'orig' or 'uniq', not '" + std::string(name) + "'");
}

std::string_view RougeCountingName(RougeCounting counting) {
  return counting == RougeCounting::kOrig ? "orig" : "uniq";
}

const std::vector<std::string>& EnglishStopwords() {
  static const std::vector<std::string> kWords = {
      "a",          "about",   "above",   "after",      "again", "against", "ain",       "all",
      "am",         "an",      "and",     "any",        "are",   "aren",    "as",        "at",
      "be",         "because", "been",    "before",     "being", "below",   "between",   "both",
      "but",        "by",      "can",     "couldn",     "d",     "did",     "didn",      "do",
      "does",       "doesn",   "doing",   "don",        "down",  "during",  "each",      "few",
      "for",        "from",    "further", "had",        "hadn",  "has",     "hasn",      "have",
      "haven",      "having",  "he",      "her",        "here",  "hers",    "herself",   "him",
      "himself",    "his",     "how",     "i",          "if",    "in",      "into",      "is",
      "isn",        "it",      "its",     "itself",     "just",  "ll",      "m",         "ma",
      "me",         "mightn",  "more",    "most",       "mustn", "my",      "myself",    "needn",
      "no",         "nor",     "not",     "now",        "o",     "of",      "off",       "on",
      "once",       "only",    "or",      "other",      "our",   "ours",    "ourselves", "out",
      "over",       "own",     "re",      "s",          "same",  "shan",    "she",       "should",
      "shouldn",    "so",      "some",    "such",       "t",     "than",    "that",      "the",
      "their",      "theirs",  "them",    "themselves", "then",  "there",   "these",     "they",
      "this",       "those",   "through", "to",         "too",   "under",   "until",     "up",
      "ve",         "very",    "was",     "wasn",       "we",    "were",    "weren",     "what",
      "when",       "where",   "which",   "while",      "who",   "whom",    "why",       "will",
      "with",       "won",     "wouldn",  "y",          "you",   "your",    "yours",     "yourself",
      "yourselves",
  };
  return kWords;
}

RougeTokenizer::RougeTokenizer(RougeTokens kind, std::vector<std::string> stopwords,
                               const JiebaSegmenter* segmenter)
    : kind_(kind), stopword_set_(stopwords.begin(), stopwords.end()), segmenter_(segmenter) {
  CF_CHECK(kind_ != RougeTokens::kJieba || segmenter_ != nullptr,
           "RougeTokenizer: jieba tokens need a segmenter");
}

void RougeTokenizer::Tokenize(std::string_view text, std::string* arena,
                              std::vector<std::pair<uint32_t, uint32_t>>* spans) const {
  switch (kind_) {
    case RougeTokens::kReference:
      TokenizeReference(text, arena, spans);
      break;
    case RougeTokens::kChars:
      TokenizeChars(text, arena, spans);
      break;
    case RougeTokens::kJieba:
      TokenizeJieba(text, arena, spans);
      break;
  }
}

void RougeTokenizer::AppendToken(std::string_view token, std::string* arena,
                                 std::vector<std::pair<uint32_t, uint32_t>>* spans) const {
  if (!stopword_set_.empty() && stopword_set_.contains(token)) return;
  const auto begin = static_cast<uint32_t>(arena->size());
  arena->append(token);
  spans->emplace_back(begin, static_cast<uint32_t>(arena->size()));
}

void RougeTokenizer::TokenizeReference(std::string_view text, std::string* arena,
                                       std::vector<std::pair<uint32_t, uint32_t>>* spans) const {
  std::string word;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!IsAsciiAlnum(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    word.clear();
    while (pos < text.size() && IsAsciiAlnum(static_cast<unsigned char>(text[pos]))) {
      word.push_back(AsciiLower(text[pos]));
      ++pos;
    }
    AppendToken(word, arena, spans);
  }
}

void RougeTokenizer::TokenizeChars(std::string_view text, std::string* arena,
                                   std::vector<std::pair<uint32_t, uint32_t>>* spans) const {
  std::string word;
  std::string single;
  auto flush = [&] {
    if (!word.empty()) AppendToken(word, arena, spans);
    word.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const size_t length = DecodeUtf8Escaped(text, pos, &cp);
    if (cp < 0x80) {
      if (IsAsciiAlnum(static_cast<unsigned char>(cp))) {
        word.push_back(AsciiLower(static_cast<char>(cp)));
      } else {
        flush();
      }
    } else if (IsEscapedByte(cp) || !IsWordCategory(cp)) {
      flush();
    } else if (IsSpacelessScript(cp)) {
      flush();
      AppendToken(text.substr(pos, length), arena, spans);
    } else {
      AppendUtf8(UnicodeLower(cp), &word);
    }
    pos += length;
  }
  flush();
}

void RougeTokenizer::TokenizeJieba(std::string_view text, std::string* arena,
                                   std::vector<std::pair<uint32_t, uint32_t>>* spans) const {
  thread_local std::vector<std::string_view> words;
  std::string token;
  segmenter_->Cut(text, &words);
  for (std::string_view w : words) {
    token.clear();
    bool has_word_char = false;
    size_t pos = 0;
    while (pos < w.size()) {
      char32_t cp;
      const size_t length = DecodeUtf8Escaped(w, pos, &cp);
      if (cp < 0x80) {
        has_word_char |= IsAsciiAlnum(static_cast<unsigned char>(cp));
        token.push_back(AsciiLower(static_cast<char>(cp)));
      } else if (IsEscapedByte(cp)) {
        token.append(w.substr(pos, length));
      } else {
        has_word_char |= IsWordCategory(cp);
        AppendUtf8(UnicodeLower(cp), &token);
      }
      pos += length;
    }
    if (has_word_char) AppendToken(token, arena, spans);
  }
}

void DocumentTokens::Build(const std::vector<std::string_view>& sentences,
                           const RougeTokenizer& tokenizer) {
  arena_.clear();
  spans_.clear();
  sentence_ends_.clear();
  for (std::string_view s : sentences) {
    tokenizer.Tokenize(s, &arena_, &spans_);
    sentence_ends_.push_back(spans_.size());
  }
  // The arena is complete: views into it stay valid while ids are assigned.
  ids_.clear();
  sentences_.resize(sentences.size());
  size_t begin = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const size_t end = sentence_ends_[i];
    scratch_ids_.clear();
    for (size_t t = begin; t < end; ++t) {
      const std::string_view token(arena_.data() + spans_[t].first,
                                   spans_[t].second - spans_[t].first);
      const auto next = static_cast<uint32_t>(ids_.size());
      scratch_ids_.push_back(ids_.try_emplace(token, next).first->second);
    }
    std::sort(scratch_ids_.begin(), scratch_ids_.end());
    TokenCounts& counts = sentences_[i];
    counts.counts.clear();
    counts.total = static_cast<uint32_t>(scratch_ids_.size());
    for (const uint32_t id : scratch_ids_) {
      if (!counts.counts.empty() && counts.counts.back().first == id) {
        ++counts.counts.back().second;
      } else {
        counts.counts.emplace_back(id, 1);
      }
    }
    begin = end;
  }
  vocabulary_size_ = static_cast<uint32_t>(ids_.size());
}

float RougeF1(double overlap, double reference_size, double candidate_size) {
  const float recall = static_cast<float>(overlap / std::max(1.0, reference_size));
  const float precision = static_cast<float>(overlap / std::max(1.0, candidate_size));
  if (precision > 0 && recall > 0) return (2 * precision * recall) / (precision + recall);
  return 0.0f;
}

void RougeState::Reset(const DocumentTokens& document, RougeCounting counting) {
  counting_ = counting;
  remaining_.assign(document.vocabulary_size(), 0);
  selected_.assign(document.vocabulary_size(), 0);
  overlap_ = 0;
  remaining_size_ = 0;
  selected_size_ = 0;
  for (const TokenCounts& s : document.sentences()) {
    for (const auto& [id, count] : s.counts) remaining_[id] += static_cast<int32_t>(count);
    if (counting_ == RougeCounting::kOrig) remaining_size_ += s.total;
  }
  if (counting_ == RougeCounting::kUniq) {
    for (const int32_t c : remaining_) remaining_size_ += c > 0 ? 1 : 0;
  }
}

float RougeState::ScoreOf(int64_t overlap, int64_t remaining_size, int64_t selected_size) const {
  return RougeF1(static_cast<double>(overlap), static_cast<double>(remaining_size),
                 static_cast<double>(selected_size));
}

float RougeState::Score() const { return ScoreOf(overlap_, remaining_size_, selected_size_); }

float RougeState::ScoreIfSelected(const TokenCounts& sentence) const {
  int64_t overlap = overlap_;
  int64_t remaining_size = remaining_size_;
  int64_t selected_size = selected_size_;
  if (counting_ == RougeCounting::kOrig) {
    for (const auto& [id, count] : sentence.counts) {
      const int32_t r = remaining_[id], q = selected_[id];
      const int32_t c = static_cast<int32_t>(count);
      overlap += std::min(r - c, q + c) - std::min(r, q);
    }
    remaining_size -= sentence.total;
    selected_size += sentence.total;
  } else {
    for (const auto& [id, count] : sentence.counts) {
      const int32_t r = remaining_[id], q = selected_[id];
      const int32_t c = static_cast<int32_t>(count);
      const int32_t r2 = r - c, q2 = q + c;
      overlap += static_cast<int>(r2 > 0 && q2 > 0) - static_cast<int>(r > 0 && q > 0);
      remaining_size += static_cast<int>(r2 > 0) - static_cast<int>(r > 0);
      selected_size += static_cast<int>(q2 > 0) - static_cast<int>(q > 0);
    }
  }
  return ScoreOf(overlap, remaining_size, selected_size);
}

void RougeState::Select(const TokenCounts& sentence) { Move(sentence, 1); }

void RougeState::Unselect(const TokenCounts& sentence) { Move(sentence, -1); }

void RougeState::Move(const TokenCounts& sentence, int32_t sign) {
  for (const auto& [id, count] : sentence.counts) {
    const int32_t r = remaining_[id], q = selected_[id];
    const int32_t c = sign * static_cast<int32_t>(count);
    const int32_t r2 = r - c, q2 = q + c;
    if (counting_ == RougeCounting::kOrig) {
      overlap_ += std::min(r2, q2) - std::min(r, q);
    } else {
      overlap_ += static_cast<int>(r2 > 0 && q2 > 0) - static_cast<int>(r > 0 && q > 0);
      remaining_size_ += static_cast<int>(r2 > 0) - static_cast<int>(r > 0);
      selected_size_ += static_cast<int>(q2 > 0) - static_cast<int>(q > 0);
    }
    remaining_[id] = r2;
    selected_[id] = q2;
  }
  if (counting_ == RougeCounting::kOrig) {
    const int64_t total = sign * static_cast<int64_t>(sentence.total);
    remaining_size_ -= total;
    selected_size_ += total;
  }
}

}  // namespace corpusflow
