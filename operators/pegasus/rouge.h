// ROUGE-1 for PEGASUS gap-sentence selection: the tokenizers that turn sentences into unigrams
// and the incremental F1 of "remaining text vs selected sentences" that the selection strategies
// evaluate thousands of times per document.
//
// Tokens (RougeTokens):
//   kReference  the PEGASUS reference: ASCII-lowercase, then every maximal run of [a-z0-9] is a
//               token (anything else, all non-ASCII text included, separates), so Chinese text
//               has no tokens at all;
//   kChars      CJK-aware: the reference's [a-z0-9] runs, extended to the letters, digits and
//               marks of other alphabetic scripts (lowercased with utf8proc), while every
//               letter or digit of a script written without spaces (Han, kana, Hangul, Bopomofo,
//               Yi, Thai, Lao, Khmer, Myanmar, Tibetan) is a token of its own;
//   kJieba      the words of jieba.cut(HMM=False) (operators/jieba_segmenter.h) that contain a
//               letter or digit, lowercased.
// Stopwords (optional) are dropped after lowercasing.
//
// Scores follow the reference bit for bit: overlap = sum over unigrams of min(ref count, candidate
// count) (kOrig) or the number of unigrams present in both (kUniq); recall and precision are
// float(overlap / max(1, size)) with sizes in tokens (kOrig) or distinct tokens (kUniq); F1 =
// 2PR / (P + R) in float, 0 when P or R is 0. Ties between sentences therefore break exactly as
// in the reference.
//
// Thread safety: a RougeTokenizer is immutable after construction and shared by workers (the
// segmenter it points to is thread-safe); RougeState and DocumentTokens are per-worker scratch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace corpusflow {

class JiebaSegmenter;

enum class RougeTokens { kReference, kChars, kJieba };
enum class RougeCounting { kOrig, kUniq };

/// Parse "reference", "chars" or "jieba"; throws InvalidArgument.
RougeTokens ParseRougeTokens(std::string_view name);
std::string_view RougeTokensName(RougeTokens tokens);
/// Parse "orig" or "uniq"; throws InvalidArgument.
RougeCounting ParseRougeCounting(std::string_view name);
std::string_view RougeCountingName(RougeCounting counting);

/// A common English stopword list (lowercase ASCII, including the pieces of contractions such as
/// "don" and "t" that the reference tokenizer produces).
const std::vector<std::string>& EnglishStopwords();

/// Turns sentences into unigrams.
class RougeTokenizer {
 public:
  /// `segmenter` is required for kJieba and must outlive the tokenizer.
  RougeTokenizer(RougeTokens kind, std::vector<std::string> stopwords,
                 const JiebaSegmenter* segmenter = nullptr);

  RougeTokens kind() const { return kind_; }
  /// Append the tokens of `text` to `*arena` and their (begin, end) byte spans in `*arena` to
  /// `*spans`.
  void Tokenize(std::string_view text, std::string* arena,
                std::vector<std::pair<uint32_t, uint32_t>>* spans) const;

 private:
  void AppendToken(std::string_view token, std::string* arena,
                   std::vector<std::pair<uint32_t, uint32_t>>* spans) const;
  void TokenizeReference(std::string_view text, std::string* arena,
                         std::vector<std::pair<uint32_t, uint32_t>>* spans) const;
  void TokenizeChars(std::string_view text, std::string* arena,
                     std::vector<std::pair<uint32_t, uint32_t>>* spans) const;
  void TokenizeJieba(std::string_view text, std::string* arena,
                     std::vector<std::pair<uint32_t, uint32_t>>* spans) const;

  RougeTokens kind_;
  /// Hashes std::string and std::string_view alike, so a token is looked up without a copy.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, StringHash, std::equal_to<>> stopword_set_;
  const JiebaSegmenter* segmenter_;
};

/// Unigram counts of one sentence: (token id, count) sorted by id, and the number of tokens.
struct TokenCounts {
  std::vector<std::pair<uint32_t, uint32_t>> counts;
  uint32_t total = 0;
};

/// The unigrams of a document's sentences with per-document token ids. Reused between documents.
class DocumentTokens {
 public:
  /// Tokenize every sentence and number the distinct tokens 0, 1, ...
  void Build(const std::vector<std::string_view>& sentences, const RougeTokenizer& tokenizer);
  const std::vector<TokenCounts>& sentences() const { return sentences_; }
  /// Distinct tokens in the document.
  uint32_t vocabulary_size() const { return vocabulary_size_; }

 private:
  std::string arena_;
  std::vector<std::pair<uint32_t, uint32_t>> spans_;
  std::vector<size_t> sentence_ends_;
  std::unordered_map<std::string_view, uint32_t> ids_;
  std::vector<uint32_t> scratch_ids_;
  std::vector<TokenCounts> sentences_;
  uint32_t vocabulary_size_ = 0;
};

/// ROUGE-1 F1 from an overlap and the reference and candidate sizes, as the reference computes it.
float RougeF1(double overlap, double reference_size, double candidate_size);

/// Unigram counts of the remaining text (the ROUGE reference) and of the selected sentences (the
/// candidate), with their overlap, updated incrementally as sentences move between them.
class RougeState {
 public:
  /// Put every sentence in the remaining text and select none.
  void Reset(const DocumentTokens& document, RougeCounting counting);
  /// F1(reference = remaining, candidate = selected).
  float Score() const;
  /// F1 if `sentence` (now in the remaining text) moved to the selection, without moving it.
  float ScoreIfSelected(const TokenCounts& sentence) const;
  /// Move a sentence from the remaining text to the selection, or back.
  void Select(const TokenCounts& sentence);
  void Unselect(const TokenCounts& sentence);

 private:
  /// Move `sentence` from the remaining side to the selected one (sign 1) or back (sign -1).
  void Move(const TokenCounts& sentence, int32_t sign);
  float ScoreOf(int64_t overlap, int64_t remaining_size, int64_t selected_size) const;

  RougeCounting counting_ = RougeCounting::kOrig;
  std::vector<int32_t> remaining_;
  std::vector<int32_t> selected_;
  int64_t overlap_ = 0;
  // Tokens (kOrig) or distinct tokens (kUniq) of each side.
  int64_t remaining_size_ = 0;
  int64_t selected_size_ = 0;
};

}  // namespace corpusflow
