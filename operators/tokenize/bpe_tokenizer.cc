#include "operators/tokenize/bpe_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/paths.h"
#include "operators/text/text_file.h"
#include "operators/tokenize/bpe_model.h"
#include "operators/tokenize/bpe_pattern.h"
#include "operators/tokenize/hf_tokenizer.h"

namespace corpusflow {
namespace {

struct KnownEncoding {
  const char* name;
  /// The name of its regex (BpePattern::Named).
  const char* pattern;
  std::vector<SpecialToken> specials;
};

/// tiktoken's encodings: their regex and special tokens (tiktoken_ext/openai_public.py).
const std::vector<KnownEncoding>& KnownEncodings() {
  static const std::vector<KnownEncoding> encodings = {
      {"cl100k",
       "cl100k",
       {{"<|endoftext|>", 100257},
        {"<|fim_prefix|>", 100258},
        {"<|fim_middle|>", 100259},
        {"<|fim_suffix|>", 100260},
        {"<|endofprompt|>", 100276}}},
      {"o200k", "o200k", {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
      {"r50k", "r50k", {{"<|endoftext|>", 50256}}},
      {"p50k", "p50k", {{"<|endoftext|>", 50256}}},
      {"gpt2", "gpt2", {{"<|endoftext|>", 50256}}},
  };
  return encodings;
}

const KnownEncoding* FindEncoding(std::string_view name) {
  for (const KnownEncoding& e : KnownEncodings()) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

/// The encoding a `.tiktoken` file is named after ("cl100k_base.tiktoken" -> cl100k).
const KnownEncoding* EncodingOfFile(const std::string& path) {
  const std::string stem = std::filesystem::path(path).filename().string();
  for (const KnownEncoding& e : KnownEncodings()) {
    if (stem.starts_with(std::string(e.name) + "_base") ||
        stem.starts_with(std::string(e.name) + ".")) {
      return &e;
    }
  }
  return nullptr;
}

bool FromTiktoken(const TokenizerOptions& options) { return !options.tiktoken_path.empty(); }
bool FromTokenizerJson(const TokenizerOptions& options) {
  return !options.tokenizer_json_path.empty();
}

/// The largest rank of a `.tiktoken` file plus one, read line by line (the model is not built).
int64_t TiktokenIdCount(const std::string& path) {
  const std::string text = ReadWholeFile(path);
  int64_t count = 0;
  ForEachTiktokenLine(text, path, [&](std::string_view, int32_t rank, const auto&) {
    count = std::max<int64_t>(count, int64_t{rank} + 1);
  });
  if (count == 0) throw DataError(path + ": no token");
  return count;
}

/// The id count of a GPT-2 vocab.json and the id of its <|endoftext|>, read without building the
/// model.
std::pair<int64_t, std::optional<int32_t>> Gpt2VocabFacts(const std::string& path) {
  int64_t count = 0;
  std::optional<int32_t> end_of_text;
  ForEachVocabJsonEntry(path, [&](std::string_view key, int32_t id) {
    count = std::max<int64_t>(count, int64_t{id} + 1);
    if (key == "<|endoftext|>") end_of_text = id;
  });
  if (count == 0) throw DataError(path + ": no token");
  return {count, end_of_text};
}

void CheckBpeOptions(const TokenizerOptions& options) {
  const bool tiktoken = FromTiktoken(options);
  const bool gpt2 = !options.vocab_path.empty() || !options.merges_path.empty();
  const bool json = FromTokenizerJson(options);
  if (int{tiktoken} + int{gpt2} + int{json} != 1) {
    throw InvalidArgument(
        "--kind bpe needs one of --tokenizer tokenizer.json (HF tokenizers), --tiktoken FILE (a "
        ".tiktoken rank file) or --vocab vocab.json --merges merges.txt (GPT-2's files)");
  }
  if (json && !options.pattern.empty()) {
    throw InvalidArgument(
        "--pattern is not an option of --tokenizer: tokenizer.json has its own "
        "pre-tokenizer");
  }
  if (gpt2 && (options.vocab_path.empty() || options.merges_path.empty())) {
    throw InvalidArgument("GPT-2's BPE needs both --vocab vocab.json and --merges merges.txt");
  }
  if (!options.model_path.empty() || options.lowercase || options.max_chars_per_word > 0 ||
      options.id_offset != 0 || !options.dict_path.empty() || !options.user_dict_paths.empty()) {
    throw InvalidArgument(
        "--model, --lowercase, --max-chars-per-word, --id-offset, --dict and --user-dict are not "
        "options of --kind bpe");
  }
}

class BpeTokenizer : public TextTokenizer {
 public:
  BpeTokenizer(const TokenizerOptions& active, std::shared_ptr<const BpeModel> model,
               std::shared_ptr<const BpePattern> pattern, int64_t vocab_size)
      : TextTokenizer(active),
        model_(std::move(model)),
        pattern_(std::move(pattern)),
        vocab_size_(vocab_size) {}

  size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const override {
    pattern_->ForEachPiece(text, [&](std::string_view piece) { model_->Encode(piece, ids); });
    return 0;  // every byte is a token
  }
  int64_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> start_id() const override { return std::nullopt; }
  std::optional<int32_t> end_id() const override { return std::nullopt; }

 private:
  std::shared_ptr<const BpeModel> model_;
  std::shared_ptr<const BpePattern> pattern_;
  int64_t vocab_size_;
};

int64_t IdCount(int64_t model_ids, const std::vector<SpecialToken>& a,
                const std::vector<SpecialToken>& b) {
  int64_t count = model_ids;
  for (const auto* list : {&a, &b}) {
    for (const SpecialToken& t : *list) count = std::max<int64_t>(count, int64_t{t.id} + 1);
  }
  return count;
}

}  // namespace

void CheckBpeAddSpecial(const TokenizerOptions& options) {
  if (FromTokenizerJson(options)) {
    CheckHfAddSpecial(options);
    return;
  }
  throw InvalidArgument(
      "--add-special: byte-level BPE files (.tiktoken, GPT-2's vocab.json) have no start or end "
      "token to add; write-megatron --append-eod ID ends each document (GPT-2 and tiktoken: "
      "<|endoftext|>)");
}

std::string BpePatternFor(const TokenizerOptions& options) {
  if (FromTokenizerJson(options)) return "";
  if (!options.pattern.empty()) return options.pattern;
  if (!FromTiktoken(options)) return "gpt2";
  if (const KnownEncoding* e = EncodingOfFile(options.tiktoken_path)) return e->pattern;
  throw InvalidArgument("--tiktoken " + options.tiktoken_path +
                        ": give --pattern cl100k, o200k, r50k, p50k or a regex (the file's name "
                        "does not say which encoding it is)");
}

std::vector<SpecialToken> BpeEncodingSpecialTokens(const TokenizerOptions& options) {
  if (!FromTiktoken(options)) {
    const std::optional<int32_t> end = Gpt2VocabFacts(options.vocab_path).second;
    if (!end) return {};
    return {{"<|endoftext|>", *end}};
  }
  const KnownEncoding* e = options.pattern.empty() ? EncodingOfFile(options.tiktoken_path)
                                                   : FindEncoding(options.pattern);
  return e != nullptr ? e->specials : std::vector<SpecialToken>{};
}

std::vector<SpecialToken> BpeActiveSpecialTokens(const TokenizerOptions& options) {
  std::vector<SpecialToken> active = options.special_tokens;
  if (options.allow_special.empty()) return active;
  const std::vector<SpecialToken> known = BpeEncodingSpecialTokens(options);
  for (const std::string& name : options.allow_special) {
    if (name == "all") {
      active.insert(active.end(), known.begin(), known.end());
      continue;
    }
    const auto it = std::find_if(known.begin(), known.end(),
                                 [&](const SpecialToken& t) { return t.text == name; });
    if (it == known.end()) {
      std::string list;
      for (const SpecialToken& t : known) list += (list.empty() ? "" : ", ") + t.text;
      throw InvalidArgument("--allow-special: the encoding has no special token '" + name +
                            "' (it has: " + (list.empty() ? std::string("none") : list) +
                            "; --special-tokens TOKEN=ID adds others)");
    }
    active.push_back(*it);
  }
  // A token allowed twice counts once.
  std::sort(active.begin(), active.end(),
            [](const SpecialToken& a, const SpecialToken& b) { return a.text < b.text; });
  active.erase(std::unique(active.begin(), active.end()), active.end());
  return active;
}

TokenizerFacts ReadBpeFacts(const TokenizerOptions& options) {
  CheckBpeOptions(options);
  if (FromTokenizerJson(options)) return ReadHfFacts(options);
  BpePattern pattern(BpePatternFor(options));  // a bad regex is a usage error now
  const std::vector<SpecialToken> active = BpeActiveSpecialTokens(options);
  const int64_t model_ids = FromTiktoken(options) ? TiktokenIdCount(options.tiktoken_path)
                                                  : Gpt2VocabFacts(options.vocab_path).first;
  if (!FromTiktoken(options)) CheckInputReadable(options.merges_path);
  TokenizerFacts facts;
  facts.vocab_size = IdCount(model_ids, BpeEncodingSpecialTokens(options), active);
  return facts;
}

namespace {

std::shared_ptr<const BpeModel> LoadBpeModel(const TokenizerOptions& options,
                                             ResourceCache& resources) {
  if (FromTiktoken(options)) {
    return resources.Get<BpeModel>(ResourceCache::FileKey("bpe-tiktoken", {options.tiktoken_path}),
                                   [&] { return BpeModel::LoadTiktoken(options.tiktoken_path); });
  }
  return resources.Get<BpeModel>(
      ResourceCache::FileKey("bpe-gpt2", {options.vocab_path, options.merges_path}),
      [&] { return BpeModel::LoadGpt2(options.vocab_path, options.merges_path); });
}

}  // namespace

TokenNames::Pairs BpeTokenNames(const TokenizerOptions& options) {
  if (FromTokenizerJson(options)) return HfTokenNames(options);
  TokenNames::Pairs names;
  for (const SpecialToken& token : BpeEncodingSpecialTokens(options)) {
    names.emplace_back(token.text, token.id);
  }
  for (const SpecialToken& token : options.special_tokens) names.emplace_back(token.text, token.id);
  ResourceCache resources;
  const std::shared_ptr<const BpeModel> model = LoadBpeModel(options, resources);
  for (int64_t id = 0; id < model->vocab_size(); ++id) {
    const std::string_view bytes = model->TokenBytes(static_cast<int32_t>(id));
    if (!bytes.empty()) names.emplace_back(std::string(bytes), static_cast<int32_t>(id));
  }
  return names;
}

std::unique_ptr<TextTokenizer> CreateBpeTokenizer(const TokenizerOptions& options,
                                                  ResourceCache& resources) {
  CheckBpeOptions(options);
  if (FromTokenizerJson(options)) return CreateHfTokenizer(options, resources);
  std::shared_ptr<const BpeModel> model = LoadBpeModel(options, resources);
  auto pattern = std::make_shared<const BpePattern>(BpePatternFor(options));
  TokenizerOptions active = options;
  active.special_tokens = BpeActiveSpecialTokens(options);
  const int64_t ids =
      IdCount(model->vocab_size(), BpeEncodingSpecialTokens(options), active.special_tokens);
  return std::make_unique<BpeTokenizer>(active, std::move(model), std::move(pattern), ids);
}

}  // namespace corpusflow
