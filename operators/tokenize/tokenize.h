// `tokenize --kind wordpiece|t5pegasus|sentencepiece|bpe`: turn a string field into an int32-list
// field of token ids, the vocabulary size recorded on the field (write-megatron picks uint16 or
// int32 from it).
//   wordpiece      BERT BasicTokenizer + WordPiece with a vocab.txt (HF BertWordPiece parity);
//   t5pegasus      the T5 PEGASUS tokenizer (bert4keras Tokenizer with jieba pre-tokenization):
//                  lowercase/NFD/strip accents, jieba.cut(HMM=False), a jieba word found in the
//                  vocabulary is one token, other words go through BERT basic + WordPiece;
//   sentencepiece  a SentencePiece .model through libsentencepiece (spm_encode parity), with the
//                  PEGASUS id offset (ids above 1 shifted by --id-offset);
//   bpe            BPE: tiktoken rank files and GPT-2's vocab.json + merges.txt
//                  (bpe_tokenizer.h; tiktoken and GPT-2 parity), HF tokenizer.json files
//                  (hf_tokenizer.h; npm tokenizers parity).
// `--special-tokens` maps literal tokens of the text (`<mask_1>` of gsg, `[MASK]`) to fixed ids
// (special_tokens.h): the text is cut at them and the stretches between them are tokenized one by
// one. `--add-special` adds [CLS]/[SEP] (EOS for sentencepiece); `--max-len N` truncates as the
// references do: the first N-1 tokens and the end token are kept (the first N without one).
// Invalid UTF-8 is repaired before tokenizing (U+FFFD per maximal invalid sequence), except for
// sentencepiece, which gets the bytes as spm_encode does (SentencePiece itself turns each invalid
// byte into U+FFFD).
// A string-list field (the sentences of `sentences`) is tokenized item by item into an
// int32-list-list field, one id list per sentence, as preprocess_data.py --split-sentences
// tokenizes; write-megatron writes it as a sentence-level dataset.
// The output field records the vocabulary size and the names of its ids (engine/token_names.h:
// the special-token map, then the vocabulary's tokens or the model's pieces), so that
// write-megatron resolves `--append-eod '[SEP]'` at plan time.
// Unknown tokens, truncated records and invalid UTF-8 are counted in the operator's stats.
// Planning reads only the tokenizer's facts (tokenizer_facts.h: id count, special ids); the
// vocabulary, jieba dictionary or model loads in Open through the run's ResourceCache, once for
// all the stages that share it.
// Thread safety: a TextTokenizer is immutable once loaded and shared by all workers; per-thread
// scratch lives inside the implementations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/operator.h"
#include "engine/resource_cache.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/special_tokens.h"
#include "operators/tokenize/tokenizer_facts.h"

namespace corpusflow {

enum class TokenizerKind { kWordPiece, kT5Pegasus, kSentencePiece, kBpe };

/// Parse "wordpiece", "t5pegasus", "sentencepiece" or "bpe"; throws InvalidArgument.
TokenizerKind ParseTokenizerKind(const std::string& text);
std::string_view TokenizerKindName(TokenizerKind kind);

struct TokenizerOptions {
  TokenizerKind kind = TokenizerKind::kWordPiece;
  /// vocab.txt (wordpiece, t5pegasus); GPT-2's vocab.json (bpe).
  std::string vocab_path;
  /// GPT-2's merges.txt (bpe, with vocab_path).
  std::string merges_path;
  /// A `.tiktoken` rank file (bpe).
  std::string tiktoken_path;
  /// An HF tokenizers `tokenizer.json` (bpe).
  std::string tokenizer_json_path;
  /// bpe: the pre-tokenizer regex or the name of a known one; empty = from the files.
  std::string pattern;
  /// bpe: the special tokens of the encoding (of a tokenizer.json: its added tokens marked
  /// special) that become their ids in text ("all" or tokens).
  std::vector<std::string> allow_special;
  /// SentencePiece .model (sentencepiece).
  std::string model_path;
  /// Lowercase + NFD + strip accents (wordpiece; always on for t5pegasus).
  bool lowercase = false;
  /// Longest word WordPiece splits; 0 = the kind's reference default (wordpiece 100 as HF
  /// tokenizers, t5pegasus 200 as bert4keras).
  size_t max_chars_per_word = 0;
  /// Added to every SentencePiece id greater than 1 (PEGASUS: 103).
  int32_t id_offset = 0;
  /// Literal tokens that become these ids wherever they occur in the text.
  std::vector<SpecialToken> special_tokens;
  /// jieba dictionaries (t5pegasus); empty = the default dictionary.
  std::string dict_path;
  std::vector<std::string> user_dict_paths;
};

/// A loaded tokenizer: text to ids.
class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;

  /// Load the vocabulary, model or dictionaries through `resources`. Throws IoError, DataError
  /// or InvalidArgument. REQUIRES: ReadTokenizerFacts(options) succeeded (it checks the id
  /// layout and the special tokens against the files).
  static std::unique_ptr<TextTokenizer> Create(const TokenizerOptions& options,
                                               ResourceCache& resources);
  /// Check the options with ReadTokenizerFacts and load the tokenizer on its own (tools and
  /// tests).
  static std::unique_ptr<TextTokenizer> Create(const TokenizerOptions& options);

  /// Append the ids of `text` to `*ids`: the special tokens of the options become their ids, the
  /// rest is tokenized (valid UTF-8 for wordpiece and t5pegasus; any bytes for sentencepiece).
  /// Returns the number of unknown tokens; adds the number of special tokens to `*specials`
  /// when given.
  size_t Encode(std::string_view text, std::vector<int32_t>* ids,
                uint64_t* specials = nullptr) const;
  /// Ids are in [0, vocab_size()).
  virtual int64_t vocab_size() const = 0;
  /// What --add-special puts first ([CLS]) and last ([SEP] or EOS); nullopt when none or when
  /// the vocabulary lacks it.
  virtual std::optional<int32_t> start_id() const = 0;
  virtual std::optional<int32_t> end_id() const = 0;

 protected:
  explicit TextTokenizer(const TokenizerOptions& options)
      : special_tokens_(options.special_tokens) {}
  /// Append the ids of `text`, which holds no special token; returns the number of unknown
  /// tokens among them.
  virtual size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const = 0;

 private:
  SpecialTokenMatcher special_tokens_;
};

/// Throw InvalidArgument when `options` combine badly (a --model for wordpiece, ...).
void CheckTokenizerOptions(const TokenizerOptions& options);

/// The tokenizer's files as messages name them ("vocab.txt", "vocab.json + merges.txt").
std::string TokenizerFiles(const TokenizerOptions& options);

/// Check `options` and read the facts of the tokenizer they describe without loading it.
/// Throws InvalidArgument, IoError, DataError.
TokenizerFacts ReadTokenizerFacts(const TokenizerOptions& options);

/// Truncate the ids of one record to `max_len` (0 = no limit) as bert4keras and PEGASUS do: keep
/// the first max_len-1 ids and the last one when `keep_last` (the end token), else the first
/// max_len. Returns whether ids were cut.
bool TruncateIds(std::vector<int32_t>* ids, bool keep_last, size_t max_len);

struct TokenizeOptions {
  TokenizerOptions tokenizer;
  /// Input string field.
  std::string field = "text";
  /// Output int32-list field; empty = `<field>_ids`.
  std::string output;
  bool add_special = false;
  size_t max_len = 0;
  BadUtf8Policy invalid_utf8 = BadUtf8Policy::kReplace;
};

/// The operator reads its tokenizer's facts when it is created (the vocabulary size goes into
/// the output schema); each run loads the tokenizer in Open and shares it read-only with every
/// worker.
class TokenizeOperator : public Transform {
 public:
  /// Read the tokenizer's facts; throws InvalidArgument (bad option combinations), IoError,
  /// DataError.
  explicit TokenizeOperator(TokenizeOptions options);
  ~TokenizeOperator() override;

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return options_.invalid_utf8 == BadUtf8Policy::kError; }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const TokenizeOptions& options() const { return options_; }
  /// The output field's name.
  const std::string& output() const { return output_; }
  /// What the plan knows of the tokenizer.
  const TokenizerFacts& facts() const { return facts_; }

 private:
  TokenizeOptions options_;
  std::string output_;
  TokenizerFacts facts_;
  /// The names of the output's ids, recorded on the output field (write-megatron --append-eod
  /// '[SEP]').
  std::shared_ptr<const TokenNames> token_names_;
};

}  // namespace corpusflow
