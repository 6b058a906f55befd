#include "operators/tokenize/hf_tokenizer_json.h"

#include <simdjson.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/bpe_pattern.h"

namespace corpusflow {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

/// A JSON value and where it is in the file: `where` is "tokenizer.json: " and its path
/// ("pre_tokenizer.pretokenizers[1]"; empty for the top).
struct Part {
  element value;
  std::string where;
  std::string path;

  Part Child(element child, const std::string& step) const {
    return Part{child, where, path.empty() ? step : path + (step[0] == '[' ? "" : ".") + step};
  }
  std::string Where() const {
    return path.empty() ? where.substr(0, where.size() - 2) : where + path;
  }
  [[noreturn]] void Malformed(const std::string& what) const {
    throw DataError(Where() + ": " + what);
  }
  bool IsNull() const { return value.is_null(); }
  bool IsObject() const { return value.type() == element_type::OBJECT; }
  /// The member `key`, or nullopt when absent. REQUIRES of the value: an object (else DataError).
  std::optional<Part> Member(std::string_view key) const {
    if (!IsObject()) Malformed("expected an object");
    element child;
    if (value.get_object()[key].get(child) != simdjson::SUCCESS) return std::nullopt;
    return Child(child, std::string(key));
  }
  Part Require(std::string_view key) const {
    std::optional<Part> child = Member(key);
    if (!child) Malformed("has no '" + std::string(key) + "'");
    return *child;
  }
  std::string String() const {
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) Malformed("expected a string");
    return std::string(s);
  }
  int64_t Int() const {
    int64_t v;
    if (value.get_int64().get(v) != simdjson::SUCCESS) Malformed("expected a whole number");
    return v;
  }
  /// A member that is a boolean, `fallback` when absent or null.
  bool Bool(std::string_view key, bool fallback) const {
    const std::optional<Part> child = Member(key);
    if (!child || child->IsNull()) return fallback;
    bool v;
    if (child->value.get_bool().get(v) != simdjson::SUCCESS)
      child->Malformed("expected true or false");
    return v;
  }
  /// A member that is a string, nullopt when absent or null.
  std::optional<std::string> OptionalString(std::string_view key) const {
    const std::optional<Part> child = Member(key);
    if (!child || child->IsNull()) return std::nullopt;
    return child->String();
  }
  std::vector<Part> Items() const {
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) Malformed("expected an array");
    std::vector<Part> items;
    size_t i = 0;
    for (element e : array) items.push_back(Child(e, "[" + std::to_string(i++) + "]"));
    return items;
  }
  std::string Type() const { return Require("type").String(); }
  [[noreturn]] void Unsupported(const std::string& kind, const std::string& type) const {
    throw InvalidArgument(where + (path.empty() ? kind : path) + " type '" + type +
                          "' is not supported");
  }
};

int32_t Id(const Part& part) {
  const int64_t id = part.Int();
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) part.Malformed("an id out of range");
  return static_cast<int32_t>(id);
}

/// {"String": s} or {"Regex": r}; a regex must not match the empty string (HF's empty matches
/// are not reproduced).
HfPattern ReadPattern(const Part& part) {
  HfPattern pattern;
  if (const std::optional<Part> s = part.Member("String")) {
    pattern.text = s->String();
    if (pattern.text.empty()) {
      throw InvalidArgument(part.Where() + ": an empty String pattern is not supported");
    }
    return pattern;
  }
  const std::optional<Part> r = part.Member("Regex");
  if (!r) part.Malformed("expected {\"String\": ...} or {\"Regex\": ...}");
  pattern.text = r->String();
  pattern.regex = true;
  try {
    if (BpePattern(pattern.text, /*names=*/false).CanMatchEmpty()) {
      throw InvalidArgument(r->Where() + ": the regex '" + pattern.text +
                            "' can match the empty string, which is not supported");
    }
  } catch (const InvalidArgument& e) {
    if (std::string_view(e.what()).starts_with(r->Where())) throw;
    throw InvalidArgument(r->Where() + ": " + e.what());
  }
  return pattern;
}

void ReadNormalizer(const Part& part, std::vector<HfNormalizerSpec>* out) {
  if (part.IsNull()) return;
  const std::string type = part.Type();
  using T = HfNormalizerSpec::Type;
  HfNormalizerSpec spec;
  if (type == "Sequence") {
    for (const Part& child : part.Require("normalizers").Items()) ReadNormalizer(child, out);
    return;
  } else if (type == "NFC") {
    spec.type = T::kNfc;
  } else if (type == "NFKC") {
    spec.type = T::kNfkc;
  } else if (type == "NFD") {
    spec.type = T::kNfd;
  } else if (type == "NFKD") {
    spec.type = T::kNfkd;
  } else if (type == "Lowercase") {
    spec.type = T::kLowercase;
  } else if (type == "Prepend") {
    spec.type = T::kPrepend;
    spec.text = part.Require("prepend").String();
  } else if (type == "Replace") {
    spec.type = T::kReplace;
    spec.pattern = ReadPattern(part.Require("pattern"));
    spec.text = part.Require("content").String();
  } else if (type == "Strip") {
    spec.type = T::kStrip;
    spec.strip_left = part.Bool("strip_left", false);
    spec.strip_right = part.Bool("strip_right", false);
  } else if (type == "BertNormalizer") {
    spec.type = T::kBert;
    spec.clean_text = part.Bool("clean_text", true);
    spec.handle_chinese_chars = part.Bool("handle_chinese_chars", true);
    spec.lowercase = part.Bool("lowercase", true);
    spec.strip_accents = part.Bool("strip_accents", spec.lowercase);  // null: as lowercase
  } else {
    part.Unsupported("normalizer", type);
  }
  out->push_back(std::move(spec));
}

HfSplitBehavior ReadBehavior(const Part& part) {
  const std::string b = part.String();
  if (b == "Removed") return HfSplitBehavior::kRemoved;
  if (b == "Isolated") return HfSplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return HfSplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return HfSplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return HfSplitBehavior::kContiguous;
  throw InvalidArgument(part.Where() + ": Split behavior '" + b + "' is not supported");
}

void ReadPreTokenizer(const Part& part, std::vector<HfPreTokenizerSpec>* out) {
  if (part.IsNull()) return;
  const std::string type = part.Type();
  HfPreTokenizerSpec spec;
  if (type == "Sequence") {
    for (const Part& child : part.Require("pretokenizers").Items()) ReadPreTokenizer(child, out);
    return;
  } else if (type == "Split") {
    spec.type = HfPreTokenizerSpec::Type::kSplit;
    spec.pattern = ReadPattern(part.Require("pattern"));
    spec.behavior = ReadBehavior(part.Require("behavior"));
    spec.invert = part.Bool("invert", false);
  } else if (type == "ByteLevel") {
    spec.type = HfPreTokenizerSpec::Type::kByteLevel;
    spec.add_prefix_space = part.Bool("add_prefix_space", true);
    spec.use_regex = part.Bool("use_regex", true);
  } else if (type == "BertPreTokenizer") {
    spec.type = HfPreTokenizerSpec::Type::kBert;
  } else if (type == "Whitespace") {
    spec.type = HfPreTokenizerSpec::Type::kWhitespace;
  } else if (type == "WhitespaceSplit") {
    spec.type = HfPreTokenizerSpec::Type::kWhitespaceSplit;
  } else if (type == "Punctuation") {
    spec.type = HfPreTokenizerSpec::Type::kPunctuation;
    const std::optional<Part> behavior = part.Member("behavior");
    spec.behavior =
        behavior && !behavior->IsNull() ? ReadBehavior(*behavior) : HfSplitBehavior::kIsolated;
  } else if (type == "Digits") {
    spec.type = HfPreTokenizerSpec::Type::kDigits;
    spec.individual_digits = part.Bool("individual_digits", false);
  } else if (type == "Metaspace") {
    spec.type = HfPreTokenizerSpec::Type::kMetaspace;
    const Part replacement = part.Require("replacement");
    spec.replacement = replacement.String();
    char32_t cp;
    if (spec.replacement.empty() ||
        DecodeUtf8(spec.replacement.data(), spec.replacement.data() + spec.replacement.size(),
                   &cp) != static_cast<int>(spec.replacement.size())) {
      replacement.Malformed("expected one character");
    }
    spec.split = part.Bool("split", true);
    // Files older than prepend_scheme say add_prefix_space (true: always).
    const std::optional<std::string> scheme = part.OptionalString("prepend_scheme");
    if (!scheme) {
      spec.prepend = part.Bool("add_prefix_space", true) ? HfPreTokenizerSpec::Prepend::kAlways
                                                         : HfPreTokenizerSpec::Prepend::kNever;
    } else if (*scheme == "always") {
      spec.prepend = HfPreTokenizerSpec::Prepend::kAlways;
    } else if (*scheme == "first") {
      spec.prepend = HfPreTokenizerSpec::Prepend::kFirst;
    } else if (*scheme == "never") {
      spec.prepend = HfPreTokenizerSpec::Prepend::kNever;
    } else {
      throw InvalidArgument(part.Where() + ": Metaspace prepend_scheme '" + *scheme +
                            "' is not supported");
    }
  } else {
    part.Unsupported("pre_tokenizer", type);
  }
  if (!out->empty() && out->back().type == HfPreTokenizerSpec::Type::kByteLevel) {
    throw InvalidArgument(part.Where() +
                          ": a pre-tokenizer after ByteLevel is not supported (ByteLevel must be "
                          "the last one)");
  }
  out->push_back(std::move(spec));
}

void ReadVocab(const Part& part, HfBpeConfig* model) {
  const Part vocab = part.Require("vocab");
  simdjson::dom::object object;
  if (vocab.value.get_object().get(object) != simdjson::SUCCESS) {
    vocab.Malformed("expected an object of token ids");
  }
  model->vocab.reserve(object.size());
  for (auto [key, value] : object) {
    model->vocab.emplace_back(std::string(key),
                              Id(vocab.Child(value, "['" + std::string(key) + "']")));
  }
}

/// "vocab": [["token", score], ...]: ids are positions.
void ReadUnigram(const Part& part, HfBpeConfig* model, HfUnigramConfig* unigram) {
  const Part vocab = part.Require("vocab");
  simdjson::dom::array array;
  if (vocab.value.get_array().get(array) != simdjson::SUCCESS) {
    vocab.Malformed("expected an array of [token, score]");
  }
  model->vocab.reserve(array.size());
  unigram->scores.reserve(array.size());
  int32_t id = 0;
  for (element e : array) {
    const Part entry = vocab.Child(e, "[" + std::to_string(id) + "]");
    simdjson::dom::array pair;
    std::string_view token;
    double score;
    if (e.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_string().get(token) != simdjson::SUCCESS ||
        pair.at(1).get_double().get(score) != simdjson::SUCCESS) {
      entry.Malformed("expected [token, score]");
    }
    model->vocab.emplace_back(std::string(token), id++);
    unigram->scores.push_back(score);
  }
  if (const std::optional<Part> unk = part.Member("unk_id"); unk && !unk->IsNull()) {
    const int32_t unk_id = Id(*unk);
    if (unk_id >= id) unk->Malformed("the unk_id is not an id of the vocabulary");
    unigram->unk_id = unk_id;
  }
  unigram->byte_fallback = part.Bool("byte_fallback", false);
}

void ReadModel(const Part& part, bool with_merges, HfBpeConfig* model,
               std::optional<HfWordPieceConfig>* wordpiece,
               std::optional<HfUnigramConfig>* unigram) {
  if (part.IsNull()) part.Malformed("no model");
  const std::optional<Part> type = part.Member("type");
  if (!type) {
    throw InvalidArgument(part.Where() +
                          ": a model without a \"type\" is not supported (corpusflow reads BPE "
                          "and WordPiece)");
  }
  const std::string name = type->String();
  if (name == "WordPiece") {
    HfWordPieceConfig config;
    config.unk_token = part.OptionalString("unk_token").value_or(config.unk_token);
    config.continuing_subword_prefix =
        part.OptionalString("continuing_subword_prefix").value_or(config.continuing_subword_prefix);
    if (const std::optional<Part> max = part.Member("max_input_chars_per_word");
        max && !max->IsNull()) {
      const int64_t n = max->Int();
      if (n < 0) max->Malformed("a negative length");
      config.max_input_chars_per_word = static_cast<size_t>(n);
    }
    *wordpiece = config;
    ReadVocab(part, model);
    return;
  }
  if (name == "Unigram") {
    unigram->emplace();
    ReadUnigram(part, model, &**unigram);
    return;
  }
  if (name != "BPE") part.Unsupported("model", name);
  if (const std::optional<Part> dropout = part.Member("dropout"); dropout && !dropout->IsNull()) {
    throw InvalidArgument(dropout->Where() +
                          ": a BPE dropout is not supported (it makes the ids random)");
  }
  model->ignore_merges = part.Bool("ignore_merges", false);
  model->unk_token = part.OptionalString("unk_token");
  model->fuse_unk = part.Bool("fuse_unk", false);
  model->byte_fallback = part.Bool("byte_fallback", false);
  model->continuing_subword_prefix = part.OptionalString("continuing_subword_prefix").value_or("");
  model->end_of_word_suffix = part.OptionalString("end_of_word_suffix").value_or("");
  ReadVocab(part, model);
  if (!with_merges) return;
  const std::optional<Part> merges = part.Member("merges");
  if (!merges || merges->IsNull()) return;
  simdjson::dom::array array;
  if (merges->value.get_array().get(array) != simdjson::SUCCESS) {
    merges->Malformed("expected an array");
  }
  model->merges.reserve(array.size());
  size_t i = 0;
  for (element e : array) {
    const Part merge = merges->Child(e, "[" + std::to_string(i++) + "]");
    if (e.type() == element_type::STRING) {
      const std::string line = merge.String();
      const size_t space = line.find(' ');
      if (space == std::string::npos) merge.Malformed("expected two tokens separated by a space");
      model->merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else {
      const std::vector<Part> pair = merge.Items();
      if (pair.size() != 2) merge.Malformed("expected a pair of tokens");
      model->merges.emplace_back(pair[0].String(), pair[1].String());
    }
  }
}

/// The ids a post-processor puts around one text (its single template).
void ReadPostProcessor(const Part& part, std::vector<int32_t>* before,
                       std::vector<int32_t>* after) {
  if (part.IsNull()) return;
  const std::string type = part.Type();
  std::vector<int32_t> first, last;
  if (type == "Sequence") {
    for (const Part& child : part.Require("processors").Items()) {
      ReadPostProcessor(child, before, after);
    }
    return;
  } else if (type == "ByteLevel") {
    return;  // offsets only
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]
    const auto id_of = [&](std::string_view key) {
      const std::vector<Part> pair = part.Require(key).Items();
      if (pair.size() != 2) part.Malformed("'" + std::string(key) + "' is not [token, id]");
      return Id(pair[1]);
    };
    first.push_back(id_of("cls"));
    last.push_back(id_of("sep"));
  } else if (type == "TemplateProcessing") {
    const Part specials = part.Require("special_tokens");
    bool text_seen = false;
    for (const Part& piece : part.Require("single").Items()) {
      if (const std::optional<Part> sequence = piece.Member("Sequence")) {
        const std::string id = sequence->Require("id").String();
        if (id != "A" || text_seen) {
          throw InvalidArgument(sequence->Where() + ": a single template with the sequence '" + id +
                                "' is not supported (it must hold $A once)");
        }
        text_seen = true;
        continue;
      }
      const std::optional<Part> special = piece.Member("SpecialToken");
      if (!special) piece.Malformed("expected a Sequence or a SpecialToken");
      const std::string name = special->Require("id").String();
      const std::optional<Part> entry = specials.Member(name);
      if (!entry) special->Malformed("special_tokens has no '" + name + "'");
      for (const Part& id : entry->Require("ids").Items()) {
        (text_seen ? last : first).push_back(Id(id));
      }
    }
    if (!text_seen) part.Malformed("the single template has no $A");
  } else {
    part.Unsupported("post_processor", type);
  }
  // A later processor wraps what the earlier ones made.
  before->insert(before->begin(), first.begin(), first.end());
  after->insert(after->end(), last.begin(), last.end());
}

/// The added tokens with HF's ids (AddedVocabulary::add_tokens, in the file's order): a content
/// the vocabulary (or an earlier added token) has keeps that id; the others get the next id
/// from the vocabulary's size up. Returned in HF's matching order: special tokens, then others.
std::vector<HfAddedToken> ReadAddedTokens(const Part& part, const HfBpeConfig& model) {
  std::vector<HfAddedToken> tokens;
  if (part.IsNull()) return tokens;
  for (const Part& item : part.Items()) {
    HfAddedToken t;
    t.content = item.Require("content").String();
    t.special = item.Bool("special", false);
    t.single_word = item.Bool("single_word", false);
    t.lstrip = item.Bool("lstrip", false);
    t.rstrip = item.Bool("rstrip", false);
    t.normalized = item.Bool("normalized", !t.special);
    tokens.push_back(std::move(t));
  }
  std::unordered_map<std::string, int32_t> in_vocab;
  for (const HfAddedToken& t : tokens) in_vocab.emplace(t.content, -1);
  for (const auto& [text, id] : model.vocab) {
    if (auto it = in_vocab.find(text); it != in_vocab.end()) it->second = id;
  }
  const auto vocab_size = static_cast<int64_t>(model.vocab.size());
  std::map<std::string, int32_t> ids;         // added_tokens_map
  std::map<int32_t, HfAddedToken> by_id;      // added_tokens_map_r
  std::vector<std::string> specials, others;  // special_tokens, added_tokens (contents)
  std::set<std::string> special_set;
  const auto same = [](const HfAddedToken& a, const HfAddedToken& b) {
    return a.content == b.content && a.special == b.special && a.single_word == b.single_word &&
           a.lstrip == b.lstrip && a.rstrip == b.rstrip && a.normalized == b.normalized;
  };
  for (const HfAddedToken& t : tokens) {
    if (t.special && !t.content.empty() && special_set.insert(t.content).second) {
      specials.push_back(t.content);
    }
  }
  for (const HfAddedToken& t : tokens) {
    if (t.content.empty() || std::any_of(by_id.begin(), by_id.end(), [&](const auto& entry) {
          return same(entry.second, t);
        })) {
      continue;
    }
    int64_t id;
    if (auto it = ids.find(t.content); it != ids.end()) {
      id = it->second;
    } else if (const int32_t vocab_id = in_vocab.at(t.content); vocab_id >= 0) {
      id = vocab_id;
    } else if (ids.empty()) {
      id = vocab_size;
    } else {
      int64_t max = 0;
      for (const auto& [content, added] : ids) max = std::max<int64_t>(max, added);
      id = max >= vocab_size || vocab_size == 0 ? max + 1 : vocab_size;
    }
    if (id > std::numeric_limits<int32_t>::max()) {
      throw DataError(part.Where() + ": too many added tokens");
    }
    ids[t.content] = static_cast<int32_t>(id);
    by_id[static_cast<int32_t>(id)] = t;
    if (!special_set.contains(t.content)) others.push_back(t.content);
  }
  std::vector<HfAddedToken> ordered;
  for (const auto* list : {&specials, &others}) {
    for (const std::string& content : *list) {
      const int32_t id = ids.at(content);
      HfAddedToken t = by_id.at(id);  // the options of the token that holds the id now
      t.content = content;
      t.id = id;
      t.special = special_set.contains(content);
      ordered.push_back(std::move(t));
    }
  }
  return ordered;
}

}  // namespace

HfTokenIds::HfTokenIds(const std::vector<std::pair<std::string, int32_t>>& vocab) {
  ids_.reserve(vocab.size());
  for (const auto& [token, id] : vocab) {
    ids_[token] = id;
    longest_ = std::max(longest_, token.size());
  }
}

std::optional<int32_t> HfTokenIds::Find(std::string_view token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

HfTokenizerSpec ReadHfTokenizerJson(const std::string& path, bool with_merges) {
  HfTokenizerSpec spec;
  spec.path = path;
  const simdjson::padded_string json(ReadWholeFile(path));
  simdjson::dom::parser parser;
  element root;
  if (const auto error = parser.parse(json).get(root); error != simdjson::SUCCESS) {
    throw DataError(path + ": not JSON: " + simdjson::error_message(error));
  }
  const Part top{root, path + ": ", ""};
  if (!top.IsObject()) top.Malformed("not a tokenizer.json (expected an object)");
  for (const char* key : {"truncation", "padding"}) {
    if (const std::optional<Part> part = top.Member(key); part && !part->IsNull()) {
      throw InvalidArgument(part->Where() + " is set; HF's " + key +
                            " is not supported (set it to null; tokenize --max-len truncates)");
    }
  }
  if (const std::optional<Part> part = top.Member("normalizer")) {
    ReadNormalizer(*part, &spec.normalizers);
  }
  if (const std::optional<Part> part = top.Member("pre_tokenizer")) {
    ReadPreTokenizer(*part, &spec.pre_tokenizers);
  }
  spec.model.source = path;
  const Part model = top.Require("model");
  ReadModel(model, with_merges, &spec.model, &spec.wordpiece, &spec.unigram);
  spec.model.byte_level = !spec.pre_tokenizers.empty() &&
                          spec.pre_tokenizers.back().type == HfPreTokenizerSpec::Type::kByteLevel;
  if ((spec.wordpiece || spec.unigram) && spec.model.byte_level) {
    throw InvalidArgument(model.Where() + ": a " + (spec.wordpiece ? "WordPiece" : "Unigram") +
                          " model after a ByteLevel pre-tokenizer is not supported");
  }
  if (const std::optional<Part> part = top.Member("added_tokens")) {
    spec.added_tokens = ReadAddedTokens(*part, spec.model);
  }
  if (const std::optional<Part> part = top.Member("post_processor")) {
    ReadPostProcessor(*part, &spec.before, &spec.after);
  }
  for (const auto& [text, id] : spec.model.vocab) {
    spec.id_count = std::max<int64_t>(spec.id_count, int64_t{id} + 1);
  }
  for (const HfAddedToken& t : spec.added_tokens) {
    spec.id_count = std::max<int64_t>(spec.id_count, int64_t{t.id} + 1);
  }
  if (spec.id_count == 0) throw DataError(path + ": model.vocab is empty");
  return spec;
}

}  // namespace corpusflow
