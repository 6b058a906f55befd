// BpeModel: BPE, the model of GPT-2, tiktoken's encodings (r50k, p50k, cl100k, o200k) and the BPE
// tokenizer.json files of HF tokenizers (Llama 3, Qwen2, GPT-NeoX; LoadHf). A pre-token (a piece
// of the pre-tokenizer regex, bpe_pattern.h) starts as its bytes, one part per byte, and adjacent
// parts are merged, the pair of lowest rank first (the leftmost of equal ranks), until no
// adjacent pair has a rank. A tokenizer.json model that is not byte-level, or has a subword
// prefix or suffix, starts instead from its characters as HF's BPE::merge_word does (EncodeWord:
// each character's token, else its <0xNN> byte-fallback tokens, else the unknown token), then
// merges the same way; the byte path is left as it was. Two rank rules, one per reference:
//   ranks   (tiktoken) a pair's rank is the rank of its concatenated bytes as a token, and a
//           piece that is a token as a whole is that token at once; ids are the ranks;
//   merges  (GPT-2 vocab.json + merges.txt, HF tokenizers) a pair's rank is its line in the
//           merges list; ids come from the vocabulary. This is the rule of OpenAI's GPT-2
//           encoder.py, which merges every occurrence of the best pair at once: a pair made by a
//           merge ranks after the merge that made it, so one at a time gives the same parts.
// Merging is where the time of tokenizing goes: pieces are merged in per-thread scratch with no
// allocation per token (a scan for short pieces, a heap over a linked list for long ones, so a
// long run of letters costs O(n log n)), and each thread keeps a direct-mapped cache of the ids of
// recent short pieces, which serves most words of natural text. A long piece (a Chinese clause,
// which rarely recurs) is first cut at the character boundaries no merge can cross (a merge that
// crosses one makes a token spanning it: the junctions of the pair index and the boundaries
// inside tokens are kept at load): the parts merge alone to the same ids, and most parts of CJK
// text are one character, cached by code point.
// Files: a `.tiktoken` rank file is "base64(token) rank" per line; GPT-2's vocab.json maps tokens
// written in the byte-level alphabet (ByteLevelAlphabet: bytes to printable characters) to ids,
// and merges.txt lists one pair per line ("Ġ t") after an optional "#version" line. Errors name
// the file and line. Every byte must have a token, so no text is ever unknown.
// Thread safety: a loaded model is immutable and shared by all workers; Encode uses thread_local
// scratch.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corpusflow {

/// GPT-2's byte-level alphabet: the character (code point) that stands for each byte in
/// vocab.json and merges.txt. Printable Latin-1 bytes stand for themselves; the others, in byte
/// order, for U+0100 upwards.
const std::array<char32_t, 256>& ByteLevelAlphabet();
/// A token written in the byte-level alphabet, as bytes; nullopt when a character of it is not
/// in the alphabet (or it is not UTF-8).
std::optional<std::string> DecodeByteLevel(std::string_view text);

/// The BPE model of an HF tokenizer.json (`"model": {"type": "BPE", ...}`), as parsed.
struct HfBpeConfig {
  /// The file, as errors name it.
  std::string source;
  /// Tokens as the file writes them, and their ids.
  std::vector<std::pair<std::string, int32_t>> vocab;
  /// The merges in rank order, each as its two tokens.
  std::vector<std::pair<std::string, std::string>> merges;
  /// The pre-tokenizer ends with ByteLevel: the model sees each byte as its character of the
  /// byte-level alphabet, so tokens are read through that alphabet and pieces are bytes.
  bool byte_level = false;
  /// A piece that is a token as a whole is that token (Llama 3).
  bool ignore_merges = false;
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  /// A character without a token becomes the tokens `<0xNN>` of its UTF-8 bytes.
  bool byte_fallback = false;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
};

/// Each line of the `.tiktoken` rank file `text` (read from `path`), in order: `on_line(base64
/// token, rank, where)`, where `where()` names FILE:LINE for the caller's own errors. Throws
/// DataError naming FILE:LINE for a malformed line or a rank out of proportion to the file (ids
/// are stored densely).
void ForEachTiktokenLine(const std::string& text, const std::string& path,
                         const std::function<void(std::string_view, int32_t,
                                                  const std::function<std::string()>&)>& on_line);

/// Each member of GPT-2's vocab.json at `path`: `on_entry(token as written, id)`. Throws IoError,
/// DataError for a file that is not an object of ids, an id out of int32's range or out of
/// proportion to the file.
void ForEachVocabJsonEntry(const std::string& path,
                           const std::function<void(std::string_view, int32_t)>& on_entry);

class BpeModel {
 public:
  enum class Rule { kRanks, kMerges };

  /// A `.tiktoken` rank file. Throws IoError, DataError ("FILE:LINE: ...").
  static std::unique_ptr<BpeModel> LoadTiktoken(const std::string& path);
  /// GPT-2's vocab.json and merges.txt. Throws IoError, DataError.
  static std::unique_ptr<BpeModel> LoadGpt2(const std::string& vocab_path,
                                            const std::string& merges_path);

  /// The BPE model of a tokenizer.json, built as HF tokenizers builds it: a merge whose tokens
  /// the vocabulary lacks is an error, and of a pair listed twice the later rank counts. Throws
  /// DataError naming `config.source`.
  static std::unique_ptr<BpeModel> LoadHf(const HfBpeConfig& config);

  ~BpeModel();
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  Rule rule() const { return rule_; }
  /// One more than the largest id of a token.
  int64_t vocab_size() const { return vocab_size_; }
  /// The id of the token with these bytes.
  std::optional<int32_t> Find(std::string_view bytes) const;
  /// The bytes of token `id` (empty when no token has that id).
  std::string_view TokenBytes(int32_t id) const;

  /// The longest pre-token merged: merging holds about 50 bytes of scratch per byte of it, so a
  /// longer one (a megabyte of letters without a break, a base64 blob) is a DataError rather
  /// than gigabytes of memory (Encode and EncodeWord throw it).
  static constexpr size_t kMaxPieceBytes = size_t{1} << 20;

  /// Append the ids of one pre-token (any bytes) to `ids`. REQUIRES: a model of LoadTiktoken,
  /// LoadGpt2, or LoadHf whose every byte is a token and that has no subword prefix or suffix.
  void Encode(std::string_view piece, std::vector<int32_t>* ids) const;

  /// Append the ids of one pre-token of a LoadHf model to `ids`, as HF's BPE::tokenize does:
  /// each character (each byte of a byte-level model) becomes its token (with the continuing
  /// subword prefix after the first, the end-of-word suffix on the last), else its byte-fallback
  /// tokens, else the unknown token (fused with a previous one under fuse_unk), else nothing;
  /// then the parts merge. Returns the number of unknown tokens. REQUIRES: valid UTF-8 unless
  /// byte-level.
  size_t EncodeWord(std::string_view piece, std::vector<int32_t>* ids) const;

  struct Tables;
  struct HfRules;

 private:
  explicit BpeModel(Rule rule);
  /// A whole pre-token: its parts cut where no merge crosses (EncodeCut, unless `try_cut` is
  /// false because the caller tried; returns false, since caching a cut piece would only push
  /// out its parts), else the token it is (whole_piece_is_token_), else merged as one. Returns
  /// true when not cut.
  bool EncodeWhole(std::string_view piece, std::vector<int32_t>* ids, bool try_cut = true) const;
  /// Cut `piece` at the character boundaries no merge crosses (Tables::crossings) and append
  /// the ids of each part merged alone, which are the ids of the whole; false, with nothing
  /// appended, when no boundary can be cut. Most parts of CJK text are one character.
  bool EncodeCut(std::string_view piece, std::vector<int32_t>* ids) const;
  /// One part of a cut piece, through the per-thread cache: merged, never taken as a whole token.
  void EncodePart(std::string_view part, std::vector<int32_t>* ids) const;
  /// Merge the bytes of `piece` (at least two), with no whole-token shortcut.
  void Merge(std::string_view piece, std::vector<int32_t>* ids) const;
  /// The rank and the merged id of adjacent parts whose ids are `left` and `right`; false when
  /// the pair does not merge.
  bool PairRank(int32_t left, int32_t right, uint32_t* rank, int32_t* merged) const;
  /// Rule kRanks: index every cut of a token into two tokens as a merge of rank the token's.
  void IndexSplits();
  /// Fill Tables::byte_pairs and Tables::crossings from the merges.
  void IndexBytePairs();

  /// EncodeWord's path for what Encode cannot do.
  size_t EncodeCharacters(std::string_view piece, std::vector<int32_t>* ids) const;

  Rule rule_;
  /// A piece that is a token is that token (tiktoken; HF's ignore_merges).
  bool whole_piece_is_token_ = false;
  /// LoadHf: EncodeWord may use Encode (byte-level, every byte a token, no prefix or suffix).
  bool bytes_suffice_ = true;
  std::unique_ptr<HfRules> hf_;
  /// This model's number in the per-thread caches (unique in the process).
  uint64_t number_;
  int64_t vocab_size_ = 0;
  /// The id of each single byte.
  std::array<int32_t, 256> byte_ids_{};
  std::unique_ptr<Tables> tables_;
};

}  // namespace corpusflow
