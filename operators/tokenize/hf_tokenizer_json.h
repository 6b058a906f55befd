// HfTokenizerSpec: what an HF tokenizers `tokenizer.json` says, read and checked against the parts
// corpusflow implements (docs/tokenize.md, "tokenizer.json"):
//   normalizer     NFC, NFKC, NFD, NFKD, Lowercase, Prepend, Replace, Strip, BertNormalizer,
//                  Sequence (or null);
//   pre_tokenizer  ByteLevel (last), Split, Metaspace, BertPreTokenizer, Whitespace,
//                  WhitespaceSplit, Punctuation, Digits, Sequence (or null);
//   model          BPE (vocab, merges as "a b" strings or [a, b] arrays, ignore_merges,
//                  unk_token, fuse_unk, continuing_subword_prefix, end_of_word_suffix,
//                  byte_fallback; dropout null), WordPiece (vocab, unk_token,
//                  continuing_subword_prefix, max_input_chars_per_word; no ByteLevel), Unigram
//                  (vocab of [token, score], unk_id, byte_fallback; no ByteLevel);
//   post_processor TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence (or
//                  null): the ids --add-special puts before and after the text;
//   added_tokens   with HF's ids: a token the vocabulary has keeps its id, the others are
//                  numbered from the vocabulary's size as HF's AddedVocabulary numbers them.
// Anything else (another type, a dropout, a truncation or padding, a ByteLevel before another
// pre-tokenizer, a Split regex that matches the empty string) is refused with InvalidArgument
// naming the file and the part ("tokenizer.json: pre_tokenizer type 'UnicodeScripts' is not
// supported"), so a plan never runs a tokenizer that would give other ids than HF's.
// Sequences are flattened: a Sequence applies its parts in order, as the flat list does.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "operators/tokenize/bpe_model.h"

namespace corpusflow {

/// A Split or Replace pattern: a regex (Oniguruma's syntax in HF, run by PCRE2 here) or a string
/// matched literally.
struct HfPattern {
  std::string text;
  bool regex = false;
};

/// HF's SplitDelimiterBehavior.
enum class HfSplitBehavior {
  kRemoved,
  kIsolated,
  kMergedWithPrevious,
  kMergedWithNext,
  kContiguous
};

struct HfNormalizerSpec {
  enum class Type { kNfc, kNfkc, kNfd, kNfkd, kLowercase, kPrepend, kReplace, kStrip, kBert };
  Type type = Type::kNfc;
  /// Prepend's text; Replace's content.
  std::string text;
  /// Replace's pattern.
  HfPattern pattern;
  bool strip_left = false;
  bool strip_right = false;
  // BertNormalizer.
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

struct HfPreTokenizerSpec {
  enum class Type {
    kSplit,
    kByteLevel,
    kMetaspace,
    kBert,
    kWhitespace,
    kWhitespaceSplit,
    kPunctuation,
    kDigits
  };
  /// Metaspace's prepend_scheme.
  enum class Prepend { kAlways, kFirst, kNever };
  Type type = Type::kSplit;
  // Split (and Punctuation's behavior).
  HfPattern pattern;
  HfSplitBehavior behavior = HfSplitBehavior::kIsolated;
  bool invert = false;
  // ByteLevel.
  bool add_prefix_space = false;
  bool use_regex = true;
  // Metaspace.
  std::string replacement;
  Prepend prepend = Prepend::kAlways;
  bool split = true;
  // Digits.
  bool individual_digits = false;
};

/// An added token, with the id HF gives it.
struct HfAddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

/// A WordPiece model's options (its vocabulary is HfTokenizerSpec::model.vocab).
struct HfWordPieceConfig {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
};

/// A Unigram model's scores (of the tokens of HfTokenizerSpec::model.vocab, by id) and options.
struct HfUnigramConfig {
  std::vector<double> scores;
  std::optional<int32_t> unk_id;
  bool byte_fallback = false;
};

struct HfTokenizerSpec {
  std::string path;
  /// The normalizers and pre-tokenizers, Sequences flattened, in order.
  std::vector<HfNormalizerSpec> normalizers;
  std::vector<HfPreTokenizerSpec> pre_tokenizers;
  /// The BPE model (merges only when read with `with_merges`); byte_level when the last
  /// pre-tokenizer is ByteLevel. A WordPiece model has its vocabulary here too.
  HfBpeConfig model;
  /// The model is WordPiece, with these options.
  std::optional<HfWordPieceConfig> wordpiece;
  /// The model is Unigram, with these scores and options.
  std::optional<HfUnigramConfig> unigram;
  /// In HF's matching order: the special tokens, then the others; each content once.
  std::vector<HfAddedToken> added_tokens;
  /// What --add-special puts before and after the text (the post-processor's single template).
  std::vector<int32_t> before;
  std::vector<int32_t> after;
  /// One more than the largest id of the vocabulary and the added tokens.
  int64_t id_count = 0;
};

/// The tokens of a vocabulary as the file writes them, by their ids, looked up by string_view
/// (the WordPiece and Unigram models). A token listed twice keeps its last id, as HF's maps do.
class HfTokenIds {
 public:
  explicit HfTokenIds(const std::vector<std::pair<std::string, int32_t>>& vocab);
  std::optional<int32_t> Find(std::string_view token) const;
  /// The length in bytes of the longest token.
  size_t longest() const { return longest_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
  size_t longest_ = 0;
};

/// Read `path`. Throws IoError, DataError (not JSON, a malformed part), InvalidArgument (a part
/// corpusflow does not implement).
HfTokenizerSpec ReadHfTokenizerJson(const std::string& path, bool with_merges);

}  // namespace corpusflow
