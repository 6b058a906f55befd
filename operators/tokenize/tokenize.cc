#include "operators/tokenize/tokenize.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <limits>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "operators/text/bad_utf8_records.h"
#include "operators/tokenize/bert_basic_tokenizer.h"
#include "operators/tokenize/bpe_tokenizer.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "operators/tokenize/tokenize_resources.h"
#include "operators/tokenize/vocab_file.h"
#include "operators/tokenize/vocabulary.h"
#include "operators/tokenize/wordpiece.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The most ids a record can hold, and the largest id offset: ids and lengths are int32.
constexpr int64_t kMaxIdsPerRecord = std::numeric_limits<int32_t>::max();
constexpr size_t kHfMaxCharsPerWord = 100;
constexpr size_t kBert4kerasMaxCharsPerWord = 200;

std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

int32_t RequireToken(const Vocabulary& vocab, std::string_view token, const std::string& path) {
  const std::optional<int32_t> id = vocab.Find(token);
  if (!id) throw DataError(path + ": the vocabulary has no " + std::string(token) + " token");
  return *id;
}

/// What WordPiece and T5 PEGASUS share: a BERT vocabulary, BERT's BasicTokenizer feeding greedy
/// longest-match WordPiece (unknown words become [UNK]), and [CLS] and [SEP] as the start and
/// end tokens. Subclasses say how text reaches EncodeBasic.
class BertVocabularyTokenizer : public TextTokenizer {
 public:
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_->size()); }
  std::optional<int32_t> start_id() const override { return cls_; }
  std::optional<int32_t> end_id() const override { return sep_; }

 protected:
  /// `default_max_chars_per_word` applies when the options leave it at 0.
  BertVocabularyTokenizer(const TokenizerOptions& options, std::shared_ptr<const Vocabulary> vocab,
                          bool lowercase, size_t default_max_chars_per_word)
      : TextTokenizer(options),
        vocab_(std::move(vocab)),
        basic_(lowercase),
        wordpiece_(*vocab_, RequireToken(*vocab_, "[UNK]", options.vocab_path),
                   options.max_chars_per_word > 0 ? options.max_chars_per_word
                                                  : default_max_chars_per_word),
        cls_(vocab_->Find("[CLS]")),
        sep_(vocab_->Find("[SEP]")) {}

  const Vocabulary& vocab() const { return *vocab_; }

  /// Split `text` with the BasicTokenizer and append the WordPiece ids of each word to `ids`.
  /// Returns the number of words encoded as [UNK].
  size_t EncodeBasic(std::string_view text, BertBasicTokenizer::Scratch& scratch,
                     std::vector<int32_t>* ids) const {
    size_t unknown = 0;
    basic_.Tokenize(text, scratch, [&](const char32_t* word, size_t n) {
      unknown += wordpiece_.Encode(word, n, ids) ? 1 : 0;
    });
    return unknown;
  }

 private:
  std::shared_ptr<const Vocabulary> vocab_;
  BertBasicTokenizer basic_;
  WordPiece wordpiece_;
  std::optional<int32_t> cls_;
  std::optional<int32_t> sep_;
};

/// BERT BasicTokenizer + WordPiece.
class WordPieceTokenizer : public BertVocabularyTokenizer {
 public:
  WordPieceTokenizer(const TokenizerOptions& options, std::shared_ptr<const Vocabulary> vocab)
      : BertVocabularyTokenizer(options, std::move(vocab), options.lowercase, kHfMaxCharsPerWord) {}

  size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const override {
    thread_local BertBasicTokenizer::Scratch scratch;
    return EncodeBasic(text, scratch, ids);
  }
};

/// bert4keras' Tokenizer(vocab, do_lower_case=True, pre_tokenize=jieba.cut(s, HMM=False)).
class T5PegasusTokenizer : public BertVocabularyTokenizer {
 public:
  T5PegasusTokenizer(const TokenizerOptions& options, std::shared_ptr<const Vocabulary> vocab,
                     std::shared_ptr<const JiebaSegmenter> segmenter)
      : BertVocabularyTokenizer(options, std::move(vocab), /*lowercase=*/false,
                                kBert4kerasMaxCharsPerWord),
        segmenter_(std::move(segmenter)) {}

  size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const override {
    struct Scratch {
      std::string normalized;
      UncasedScratch uncased;
      std::vector<std::string_view> words;
      BertBasicTokenizer::Scratch basic;
    };
    thread_local Scratch s;
    // lowercase_and_normalize: lower, NFD, drop Mn; then jieba on the normalised text.
    UncasedText(text, &s.normalized, &s.uncased);
    segmenter_->Cut(s.normalized, &s.words);
    size_t unknown = 0;
    for (std::string_view word : s.words) {
      if (const std::optional<int32_t> id = vocab().Find(word)) {
        ids->push_back(*id);
        continue;
      }
      unknown += EncodeBasic(word, s.basic, ids);
    }
    return unknown;
  }

 private:
  std::shared_ptr<const JiebaSegmenter> segmenter_;
};

/// libsentencepiece, with PEGASUS' id shift.
class SentencePieceTokenizer : public TextTokenizer {
 public:
  SentencePieceTokenizer(const TokenizerOptions& options,
                         std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor)
      : TextTokenizer(options), processor_(std::move(processor)), offset_(options.id_offset) {
    unk_ = processor_->unk_id();
    const int eos = processor_->eos_id();
    if (eos >= 0) eos_ = Shift(eos);
  }

  size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const override {
    thread_local std::vector<int> pieces;
    pieces.clear();
    const auto status = processor_->Encode(text, &pieces);
    if (!status.ok()) throw DataError("sentencepiece: " + status.ToString());
    size_t unknown = 0;
    for (int id : pieces) {
      unknown += id == unk_ ? 1 : 0;
      ids->push_back(Shift(id));
    }
    return unknown;
  }
  int64_t vocab_size() const override {
    return static_cast<int64_t>(processor_->GetPieceSize()) + offset_;
  }
  std::optional<int32_t> start_id() const override { return std::nullopt; }
  std::optional<int32_t> end_id() const override { return eos_; }

 private:
  int32_t Shift(int id) const { return id > 1 ? id + offset_ : id; }

  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;
  int32_t offset_;
  int unk_ = -1;
  std::optional<int32_t> eos_;
};

/// Per-worker buffers of a tokenize run.
struct TokenizeLocal : OpState {
  // SentencePiece gets invalid bytes as they are, as spm_encode does: it turns each into U+FFFD
  // itself (one per byte, where the repair here makes one per maximal invalid sequence).
  explicit TokenizeLocal(const TokenizeOptions& options)
      : utf8(options.invalid_utf8, "tokenize", options.field,
             options.tokenizer.kind == TokenizerKind::kSentencePiece
                 ? BadUtf8Records::Repair::kByConsumer
                 : BadUtf8Records::Repair::kHere) {}
  Int32ListColumn ids_column;
  Int32ListListColumn lists_column;
  std::vector<int32_t> ids;
  BadUtf8Records utf8;
};

class TokenizeRun : public TransformRun {
 public:
  TokenizeRun(const TokenizeOperator& op, std::unique_ptr<TextTokenizer> tokenizer,
              OperatorStats& stats)
      : op_(op), tokenizer_(std::move(tokenizer)), stats_(stats) {}

  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<TokenizeLocal>(op_.options());
  }

  void Apply(Batch& batch, OpState* state) override {
    auto& local = static_cast<TokenizeLocal&>(*state);
    if (batch.Find(op_.options().field)->field.type == FieldType::kStringList) {
      ApplySentences(batch, local);
      return;
    }
    const TokenizeOptions& options = op_.options();
    const TextTokenizer& tokenizer = *tokenizer_;
    const StringColumn& input = batch.GetString(options.field);
    const size_t n = input.size();
    local.ids_column.Clear();
    local.ids_column.Reserve(n, input.DataBytes() / 3);
    local.utf8.StartBatch(batch.first_record(), n);
    // -1: none.
    const int32_t start = options.add_special ? tokenizer.start_id().value_or(-1) : -1;
    const int32_t end = options.add_special ? tokenizer.end_id().value_or(-1) : -1;
    uint64_t unknown = 0, tokens = 0, truncated = 0, specials = 0;
    for (size_t i = 0; i < n; ++i) {
      std::string_view text = input[i];
      if (!local.utf8.Keep(i, &text)) {
        local.ids_column.EndRecord();
        continue;
      }
      local.ids.clear();
      if (start >= 0) local.ids.push_back(start);
      unknown += EncodeRecord(tokenizer, text, batch.first_record() + i, &local.ids, &specials);
      if (end >= 0) local.ids.push_back(end);
      if (TruncateIds(&local.ids, end >= 0, options.max_len)) ++truncated;
      tokens += local.ids.size();
      local.ids_column.Append(local.ids);
    }
    std::swap(batch.AddInt32List(op_.output(), tokenizer.vocab_size()), local.ids_column);
    local.utf8.FinishBatch(batch, stats_);
    stats_.Add("tokens", tokens);
    stats_.Add("unknown_tokens", unknown);
    if (specials > 0) stats_.Add("special_tokens", specials);
    if (truncated > 0) stats_.Add("truncated_records", truncated);
  }

 private:
  /// Encode one text of the record with ordinal `record` (0-based); a DataError of the tokenizer
  /// is told with the record's number and field.
  size_t EncodeRecord(const TextTokenizer& tokenizer, std::string_view text, uint64_t record,
                      std::vector<int32_t>* ids, uint64_t* specials) const {
    try {
      return tokenizer.Encode(text, ids, specials);
    } catch (const DataError& e) {
      throw DataError(op_.name() + ": record " + RecordNumberText(record) + ", field '" +
                      op_.options().field + "': " + e.what());
    }
  }

  /// A string-list field (the sentences of `sentences`): each item is tokenized on its own, as
  /// preprocess_data.py tokenizes each sentence, into one id list per item. A record with an
  /// item dropped for invalid UTF-8 is dropped whole.
  void ApplySentences(Batch& batch, TokenizeLocal& local) {
    const TextTokenizer& tokenizer = *tokenizer_;
    const StringListColumn& input = batch.GetStringList(op_.options().field);
    const size_t n = input.size();
    local.lists_column.Clear();
    local.lists_column.Reserve(n, input.item_offsets().size(), input.DataBytes() / 3);
    local.utf8.StartBatch(batch.first_record(), n);
    uint64_t unknown = 0, tokens = 0, specials = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t items = input.ItemCount(i);
      for (size_t j = 0; j < items; ++j) {
        std::string_view text = input.Item(i, j);
        if (!local.utf8.Keep(i, &text)) break;
        local.ids.clear();
        unknown += EncodeRecord(tokenizer, text, batch.first_record() + i, &local.ids, &specials);
        tokens += local.ids.size();
        local.lists_column.AppendItem(local.ids);
      }
      local.lists_column.EndRecord();
    }
    std::swap(batch.AddInt32ListList(op_.output(), tokenizer.vocab_size()), local.lists_column);
    local.utf8.FinishBatch(batch, stats_);
    stats_.Add("tokens", tokens);
    stats_.Add("unknown_tokens", unknown);
    if (specials > 0) stats_.Add("special_tokens", specials);
  }

 private:
  const TokenizeOperator& op_;
  std::unique_ptr<TextTokenizer> tokenizer_;
  OperatorStats& stats_;
};

/// The names of the ids `options` give: the special-token map first, then the vocab.txt lines or
/// the SentencePiece pieces (ids above 1 shifted by the offset), read on the first lookup.
std::shared_ptr<const TokenNames> MakeTokenNames(const TokenizerOptions& options) {
  if (options.kind == TokenizerKind::kBpe) {
    // The encoding's special tokens (<|endoftext|>), --special-tokens, then every token by its
    // bytes.
    return std::make_shared<const TokenNames>(TokenizerFiles(options),
                                              [options] { return BpeTokenNames(options); });
  }
  const bool pieces = options.kind == TokenizerKind::kSentencePiece;
  std::string source = pieces ? options.model_path : options.vocab_path;
  if (pieces && options.id_offset > 0) {
    source += " (ids above 1 + " + std::to_string(options.id_offset) + ")";
  }
  if (!options.special_tokens.empty()) {
    source += " with special tokens " + FormatSpecialTokens(options.special_tokens);
  }
  return std::make_shared<const TokenNames>(std::move(source), [options, pieces] {
    TokenNames::Pairs names;
    for (const SpecialToken& token : options.special_tokens)
      names.emplace_back(token.text, token.id);
    if (pieces) {
      ResourceCache resources;
      const auto processor = LoadSentencePieceModel(resources, options.model_path);
      const int size = processor->GetPieceSize();
      for (int id = 0; id < size; ++id) {
        const int32_t shifted = id > 1 ? id + options.id_offset : id;
        names.emplace_back(processor->IdToPiece(id), shifted);
      }
    } else {
      const std::vector<std::string> tokens =
          ReadVocabTokens(options.vocab_path, VocabColumns::kToken);
      for (size_t id = 0; id < tokens.size(); ++id) {
        names.emplace_back(tokens[id], static_cast<int32_t>(id));
      }
    }
    return names;
  });
}

}  // namespace

size_t TextTokenizer::Encode(std::string_view text, std::vector<int32_t>* ids,
                             uint64_t* specials) const {
  if (special_tokens_.empty()) return EncodeText(text, ids);
  size_t unknown = 0;
  uint64_t found = 0;
  special_tokens_.Split(
      text, [&](std::string_view stretch) { unknown += EncodeText(stretch, ids); },
      [&](int32_t id) {
        ids->push_back(id);
        ++found;
      });
  if (specials != nullptr) *specials += found;
  return unknown;
}

TokenizerKind ParseTokenizerKind(const std::string& text) {
  if (text == "wordpiece") return TokenizerKind::kWordPiece;
  if (text == "t5pegasus") return TokenizerKind::kT5Pegasus;
  if (text == "sentencepiece") return TokenizerKind::kSentencePiece;
  if (text == "bpe") return TokenizerKind::kBpe;
  throw InvalidArgument("--kind must be wordpiece, t5pegasus, sentencepiece or bpe, not '" + text +
                        "'");
}

std::string_view TokenizerKindName(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::kWordPiece:
      return "wordpiece";
    case TokenizerKind::kT5Pegasus:
      return "t5pegasus";
    case TokenizerKind::kSentencePiece:
      return "sentencepiece";
    case TokenizerKind::kBpe:
      return "bpe";
  }
  return "?";
}

void CheckTokenizerOptions(const TokenizerOptions& options) {
  const bool bpe = options.kind == TokenizerKind::kBpe;
  if (bpe) return;  // ReadBpeFacts checks its own
  if (!options.merges_path.empty() || !options.tiktoken_path.empty() || !options.pattern.empty() ||
      !options.allow_special.empty() || !options.tokenizer_json_path.empty()) {
    throw InvalidArgument(
        "--merges, --tiktoken, --tokenizer, --pattern and --allow-special are for --kind bpe");
  }
  const bool pieces = options.kind == TokenizerKind::kSentencePiece;
  if (pieces) {
    if (options.model_path.empty()) throw InvalidArgument("--kind sentencepiece needs --model");
    if (!options.vocab_path.empty()) {
      throw InvalidArgument("--vocab is for wordpiece and t5pegasus; sentencepiece uses --model");
    }
    if (options.lowercase || options.max_chars_per_word > 0) {
      throw InvalidArgument(
          "--lowercase and --max-chars-per-word are for wordpiece and t5pegasus; a SentencePiece "
          "model normalises by itself");
    }
  } else {
    if (options.vocab_path.empty()) {
      throw InvalidArgument("--kind " + std::string(TokenizerKindName(options.kind)) +
                            " needs --vocab vocab.txt");
    }
    if (!options.model_path.empty()) {
      throw InvalidArgument("--model is for sentencepiece; wordpiece and t5pegasus use --vocab");
    }
    if (options.id_offset != 0) throw InvalidArgument("--id-offset is for sentencepiece");
  }
  if (options.kind != TokenizerKind::kT5Pegasus &&
      (!options.dict_path.empty() || !options.user_dict_paths.empty())) {
    throw InvalidArgument("--dict and --user-dict are for t5pegasus (jieba pre-tokenization)");
  }
  if (options.id_offset < 0) throw InvalidArgument("--id-offset must not be negative");
}

TokenizerFacts ReadTokenizerFacts(const TokenizerOptions& options) {
  CheckTokenizerOptions(options);
  if (options.kind == TokenizerKind::kBpe) return ReadBpeFacts(options);
  if (options.kind == TokenizerKind::kSentencePiece) {
    return ReadSentencePieceFacts(options.model_path, options.id_offset, options.special_tokens);
  }
  return ReadVocabularyFacts(options.vocab_path, options.special_tokens);
}

std::unique_ptr<TextTokenizer> TextTokenizer::Create(const TokenizerOptions& options,
                                                     ResourceCache& resources) {
  CheckTokenizerOptions(options);
  switch (options.kind) {
    case TokenizerKind::kWordPiece:
      return std::make_unique<WordPieceTokenizer>(options,
                                                  LoadVocabulary(resources, options.vocab_path));
    case TokenizerKind::kT5Pegasus:
      return std::make_unique<T5PegasusTokenizer>(
          options, LoadVocabulary(resources, options.vocab_path),
          LoadJiebaSegmenter(resources, options.dict_path, options.user_dict_paths));
    case TokenizerKind::kSentencePiece:
      return std::make_unique<SentencePieceTokenizer>(
          options, LoadSentencePieceModel(resources, options.model_path));
    case TokenizerKind::kBpe:
      return CreateBpeTokenizer(options, resources);
  }
  throw InvalidArgument("unknown tokenizer kind");
}

std::unique_ptr<TextTokenizer> TextTokenizer::Create(const TokenizerOptions& options) {
  ReadTokenizerFacts(options);
  ResourceCache resources;
  return Create(options, resources);
}

std::string TokenizerFiles(const TokenizerOptions& options) {
  if (options.kind == TokenizerKind::kSentencePiece) return options.model_path;
  if (!options.tiktoken_path.empty()) return options.tiktoken_path;
  if (!options.tokenizer_json_path.empty()) return options.tokenizer_json_path;
  if (!options.merges_path.empty()) return options.vocab_path + " + " + options.merges_path;
  return options.vocab_path;
}

bool TruncateIds(std::vector<int32_t>* ids, bool keep_last, size_t max_len) {
  if (max_len == 0 || ids->size() <= max_len) return false;
  if (keep_last) (*ids)[max_len - 1] = ids->back();
  ids->resize(max_len);
  return true;
}

TokenizeOperator::TokenizeOperator(TokenizeOptions options) : options_(std::move(options)) {
  output_ = options_.output.empty() ? options_.field + "_ids" : options_.output;
  if (options_.field.empty()) throw InvalidArgument("--field must not be empty");
  facts_ = ReadTokenizerFacts(options_.tokenizer);
  token_names_ = MakeTokenNames(options_.tokenizer);
  if (options_.add_special) {
    const std::string& vocab = options_.tokenizer.vocab_path;
    if (options_.tokenizer.kind == TokenizerKind::kBpe) {
      CheckBpeAddSpecial(options_.tokenizer);
    } else if (options_.tokenizer.kind == TokenizerKind::kSentencePiece) {
      if (!facts_.end_id) {
        throw InvalidArgument("--add-special: the SentencePiece model " +
                              options_.tokenizer.model_path + " has no EOS piece");
      }
    } else if (!facts_.start_id || !facts_.end_id) {
      throw InvalidArgument("--add-special: " + vocab + " lacks [CLS] or [SEP]");
    }
  }
  const size_t specials =
      options_.add_special ? (facts_.start_id ? 1 : 0) + (facts_.end_id ? 1 : 0) : 0;
  if (options_.max_len > 0 && options_.max_len < specials) {
    throw InvalidArgument("--max-len " + std::to_string(options_.max_len) +
                          " leaves no room for the special tokens");
  }
}

TokenizeOperator::~TokenizeOperator() = default;

void TokenizeOperator::Validate(const PlanContext& /*ctx*/) const {
  const TokenizerOptions& t = options_.tokenizer;
  if (t.kind == TokenizerKind::kSentencePiece) {
    CheckInputReadable(t.model_path);
  } else if (!t.tiktoken_path.empty()) {
    CheckInputReadable(t.tiktoken_path);
  } else if (!t.tokenizer_json_path.empty()) {
    CheckInputReadable(t.tokenizer_json_path);
  } else {
    CheckInputReadable(t.vocab_path);
  }
  if (!t.merges_path.empty()) CheckInputReadable(t.merges_path);
  if (t.kind == TokenizerKind::kT5Pegasus) {
    CheckInputReadable(JiebaSegmenter::DictionaryPathOrDefault(t.dict_path));
    for (const std::string& path : t.user_dict_paths) CheckInputReadable(path);
  }
}

std::vector<AddedField> TokenizeOperator::AddedFields() const {
  if (output_ == options_.field) return {};
  return {{output_, "--output"}};
}

Schema TokenizeOperator::OutputSchema(const Schema& input) const {
  const Field& field = input.Require(options_.field, name());
  FieldType type = FieldType::kInt32List;
  if (field.type == FieldType::kStringList) {
    // Sentences: one id list per sentence, as preprocess_data.py --split-sentences tokenizes.
    if (options_.add_special || options_.max_len > 0) {
      throw InvalidArgument(name() + ": --add-special and --max-len apply to one text, but '" +
                            options_.field +
                            "' is a string-list (sentences, tokenized one by one); write-megatron "
                            "--append-eod ends each document");
    }
    type = FieldType::kInt32ListList;
  } else if (field.type != FieldType::kString) {
    throw InvalidArgument(name() + " needs field '" + options_.field +
                          "' as a string (or a string-list of sentences) but upstream '" +
                          options_.field + "' is " + std::string(FieldTypeName(field.type)));
  }
  Schema out = input;
  out.Set(Field{output_, type, facts_.vocab_size, token_names_});
  return out;
}

std::string TokenizeOperator::Describe() const {
  const TokenizerOptions& t = options_.tokenizer;
  std::string d = std::string(TokenizerKindName(t.kind)) + " " + TokenizerFiles(t) + " (" +
                  std::to_string(facts_.vocab_size) + " ids) " + options_.field + " -> " + output_;
  if (t.kind == TokenizerKind::kBpe) {
    const std::string pattern = BpePatternFor(t);
    if (!pattern.empty()) {
      d += ", pattern " + (pattern.size() > 24 ? pattern.substr(0, 21) + "..." : pattern);
    }
    if (!t.tokenizer_json_path.empty() && !t.allow_special.empty()) {
      d += ", allowed special tokens " + JoinComma(t.allow_special);
    } else if (!t.allow_special.empty()) {
      d += ", allowed special tokens " + FormatSpecialTokens(BpeActiveSpecialTokens(t));
    }
  }
  if (!t.special_tokens.empty()) d += ", special tokens " + FormatSpecialTokens(t.special_tokens);
  if (options_.add_special) {
    if (t.kind == TokenizerKind::kBpe) {
      d += ", the post-processor's tokens added";
    } else {
      d += ", " + std::string(facts_.start_id ? "[CLS]/[SEP]" : "EOS") + " added";
    }
  }
  if (options_.max_len > 0) d += ", max " + std::to_string(options_.max_len);
  return d;
}

std::unique_ptr<TransformRun> TokenizeOperator::Open(const OpenContext& ctx) const {
  auto tokenizer = TextTokenizer::Create(options_.tokenizer, ctx.exec.resources());
  const TokenizerFacts loaded{tokenizer->vocab_size(), tokenizer->start_id(), tokenizer->end_id()};
  if (loaded != facts_) {
    const TokenizerOptions& t = options_.tokenizer;
    throw DataError(TokenizerFiles(t) + ": changed after the run was planned (" +
                    std::to_string(facts_.vocab_size) +
                    " ids and its special tokens were planned; it now has " +
                    std::to_string(loaded.vocab_size) + " ids)");
  }
  return std::make_unique<TokenizeRun>(*this, std::move(tokenizer), ctx.stats);
}

static const OperatorRegistrar kRegisterTokenize(OperatorDef{
    .name = "tokenize",
    .role = OperatorRole::kTransform,
    .synopsis = "tokenize --kind wordpiece|t5pegasus|sentencepiece|bpe (--vocab FILE | --model "
                "FILE | --tiktoken FILE | --vocab vocab.json --merges merges.txt | --tokenizer "
                "tokenizer.json) [options]",
    .summary = "Turn text into token ids: BERT WordPiece, T5 PEGASUS (jieba + WordPiece), "
               "SentencePiece, BPE (tiktoken, GPT-2, HF tokenizer.json)",
    .details =
        "wordpiece: BERT's BasicTokenizer (clean, CJK characters apart, optional lowercase + "
        "accent stripping, punctuation apart) and greedy longest-match WordPiece with a "
        "vocab.txt; a word longer than --max-chars-per-word (default 100, as HF tokenizers; "
        "Google BERT uses 200) or with no matching piece is one [UNK].\n"
        "t5pegasus: the T5 PEGASUS tokenizer (bert4keras): lowercase, NFD, strip accents, "
        "jieba.cut(HMM=False) with the jieba dictionary (--dict, --user-dict); a jieba word in "
        "the vocabulary is one token, any other goes through the BERT path (words up to 200 "
        "characters).\n"
        "sentencepiece: a SentencePiece .model (libsentencepiece, ids as spm_encode gives them); "
        "--id-offset 103 shifts every id above 1 as PEGASUS does (0 pad and 1 eos kept, so "
        "pieces 0 and 1 of the model must be its pad and EOS controls).\n"
        "bpe: byte-level BPE. --tiktoken FILE: a .tiktoken rank file (cl100k_base, o200k_base, "
        "...), merged by ranks as tiktoken; --pattern cl100k|o200k|r50k|p50k|gpt2|llama3|qwen2 or "
        "a regex (default: the encoding the file is named after). --vocab vocab.json --merges "
        "merges.txt: GPT-2's files, merged as GPT-2's encoder (pattern gpt2). A literal "
        "<|endoftext|> in the text is ordinary text unless --allow-special all|TOKEN,... names "
        "it (tiktoken's rule). The id count includes the encoding's special tokens (cl100k "
        "100277, o200k 200019, gpt2 50257).\n"
        "bpe --tokenizer tokenizer.json: an HF tokenizers file with a BPE, WordPiece or Unigram "
        "model "
        "(normalizers NFC/NFKC/NFD/NFKD, Lowercase, Prepend, Replace, Strip, BertNormalizer; "
        "pre-tokenizers ByteLevel, Split, Metaspace, BertPreTokenizer, Whitespace, "
        "WhitespaceSplit, "
        "Punctuation, Digits; "
        "post-processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel; "
        "Sequences of them; added tokens), encoded as HF's Tokenizer.encode; any other part is "
        "refused at plan time, naming it. A model that is not byte-level starts from characters "
        "(byte_fallback, unk_token), as Mistral's. Added tokens marked special are ordinary text "
        "unless "
        "--allow-special names them (all: HF's ids); the others are always cut out, as HF does. "
        "--add-special adds the post-processor's tokens (Llama 3's <|begin_of_text|>).\n"
        "--special-tokens maps literal tokens of the text to fixed ids, never pieces: "
        "pegasus (<pad>=0,</s>=1,<mask_1>=2,<mask_2>=3, with --id-offset 103), bert "
        "([PAD]=0,[UNK]=100,[CLS]=101,[SEP]=102,[MASK]=103) or TOKEN=ID entries, separated by "
        "commas; an id must be free or the same token in the vocabulary.\n"
        "--add-special puts [CLS] first and [SEP] last (wordpiece, t5pegasus) or appends EOS "
        "(sentencepiece). --max-len N keeps the first N-1 tokens and the end token (the first "
        "N without --add-special), as bert4keras and PEGASUS truncate. The output field "
        "records the vocabulary size and the names of its ids, so write-megatron stores uint16 "
        "or int32 by itself and takes --append-eod '[SEP]'. A string-list field (the sentences "
        "of `sentences`) is tokenized sentence by sentence into an int32-list-list field, one id "
        "list per sentence, which write-megatron writes at sentence level. "
        "Invalid UTF-8 is repaired (U+FFFD) before wordpiece and t5pegasus; sentencepiece gets "
        "the bytes as spm_encode does and SentencePiece makes one U+FFFD per invalid byte. "
        "Unknown tokens, special tokens, truncated records and repaired UTF-8 are counted in "
        "--stats-json.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("kind", po::value<std::string>()->required(),
                                "wordpiece, t5pegasus, sentencepiece or bpe")(
              "field", po::value<std::string>()->default_value("text"),
              "input string field (a string-list: one id list per sentence)")(
              "output", po::value<std::string>(), "output ids field (default FIELD_ids)")(
              "vocab", po::value<std::string>(),
              "vocab.txt (wordpiece, t5pegasus); vocab.json (bpe, with --merges)")(
              "merges", po::value<std::string>(), "bpe: GPT-2's merges.txt")(
              "tiktoken", po::value<std::string>(), "bpe: a .tiktoken rank file")(
              "tokenizer", po::value<std::string>(), "bpe: an HF tokenizers tokenizer.json")(
              "pattern", po::value<std::string>(),
              "bpe: pre-tokenizer regex, or cl100k, o200k, r50k, p50k, gpt2, llama3, qwen2")(
              "allow-special", po::value<std::string>(),
              "bpe: the special tokens (of the encoding, or a tokenizer.json's special added "
              "tokens) that become their ids in text: all or TOKEN,...")(
              "model", po::value<std::string>(), "SentencePiece .model (sentencepiece)")(
              "lowercase", po::bool_switch(),
              "wordpiece: lowercase and strip accents (uncased BERT); t5pegasus always does")(
              "max-chars-per-word", CountValue(1),
              "longest word WordPiece splits (default 100 wordpiece, 200 t5pegasus)")(
              "add-special", po::bool_switch(),
              "add [CLS] ... [SEP], EOS for sentencepiece, the post-processor's tokens for a "
              "tokenizer.json")("max-len", CountValue(0, kMaxIdsPerRecord)->default_value(0),
                                "truncate to N ids, the end token kept (0: no limit)")(
              "id-offset", IntegerValue(0, kMaxIdsPerRecord)->default_value(0),
              "sentencepiece: add N to every id above 1 (PEGASUS: 103)")(
              "special-tokens", po::value<std::string>(),
              "literal tokens to fixed ids: pegasus, bert or TOKEN=ID,... (comma-separated)")(
              "dict", po::value<std::string>(), "t5pegasus: jieba dictionary (default: Debian's)")(
              "user-dict", po::value<std::vector<std::string>>()->composing(),
              "t5pegasus: jieba user dictionary (repeatable)")(
              "invalid-utf8", po::value<std::string>()->default_value("replace"),
              "text that is not UTF-8: replace (U+FFFD, counted), drop (counted) or error");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      TokenizeOptions options;
      TokenizerOptions& t = options.tokenizer;
      t.kind = ParseTokenizerKind(v["kind"].as<std::string>());
      if (v.count("vocab")) t.vocab_path = v["vocab"].as<std::string>();
      if (v.count("model")) t.model_path = v["model"].as<std::string>();
      if (v.count("merges")) t.merges_path = v["merges"].as<std::string>();
      if (v.count("tiktoken")) t.tiktoken_path = v["tiktoken"].as<std::string>();
      if (v.count("tokenizer")) t.tokenizer_json_path = v["tokenizer"].as<std::string>();
      if (v.count("pattern")) t.pattern = v["pattern"].as<std::string>();
      if (v.count("allow-special")) {
        for (std::string_view rest = v["allow-special"].as<std::string>(); !rest.empty();) {
          const size_t comma = rest.find(',');
          const std::string_view token = rest.substr(0, comma);
          if (token.empty()) throw InvalidArgument("--allow-special: an empty token");
          t.allow_special.emplace_back(token);
          rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
      }
      t.lowercase = v["lowercase"].as<bool>();
      if (v.count("max-chars-per-word")) {
        t.max_chars_per_word = v["max-chars-per-word"].as<uint64_t>();
      }
      t.id_offset = static_cast<int32_t>(v["id-offset"].as<int64_t>());
      if (v.count("special-tokens")) {
        t.special_tokens = ParseSpecialTokens(v["special-tokens"].as<std::string>());
      }
      if (v.count("dict")) t.dict_path = v["dict"].as<std::string>();
      if (v.count("user-dict")) t.user_dict_paths = v["user-dict"].as<std::vector<std::string>>();
      options.field = v["field"].as<std::string>();
      if (v.count("output")) options.output = v["output"].as<std::string>();
      options.add_special = v["add-special"].as<bool>();
      options.max_len = v["max-len"].as<uint64_t>();
      options.invalid_utf8 = ParseBadUtf8Policy(v["invalid-utf8"].as<std::string>());
      return std::make_unique<TokenizeOperator>(std::move(options));
    },
    .outputs = {{"*_ids", "--output"}},
});

}  // namespace corpusflow
