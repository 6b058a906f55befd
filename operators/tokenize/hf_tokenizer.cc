#include "operators/tokenize/hf_tokenizer.h"

#include <algorithm>
#include <set>

#include "engine/error.h"
#include "operators/tokenize/bpe_model.h"
#include "operators/tokenize/hf_added_tokens.h"
#include "operators/tokenize/hf_normalizer.h"
#include "operators/tokenize/hf_pre_tokenizer.h"
#include "operators/tokenize/hf_tokenizer_json.h"
#include "operators/tokenize/hf_unigram.h"
#include "operators/tokenize/hf_wordpiece.h"

namespace corpusflow {
namespace {

/// A tokenizer.json as the run's ResourceCache holds it: its parts (without the vocabulary and
/// merges, which the model now holds) and the model.
struct HfTokenizerFile {
  HfTokenizerSpec spec;
  /// One of the three.
  std::unique_ptr<const BpeModel> model;
  std::unique_ptr<const HfWordPiece> wordpiece;
  std::unique_ptr<const HfUnigram> unigram;
};

/// The added tokens that are cut out of text under --allow-special: every one not marked special,
/// and the special ones allowed. Throws InvalidArgument for an allowed token the file lacks.
std::vector<HfAddedToken> ActiveAddedTokens(const HfTokenizerSpec& spec,
                                            const TokenizerOptions& options) {
  std::set<std::string> allowed;
  bool all = false;
  for (const std::string& name : options.allow_special) {
    if (name == "all") {
      all = true;
      continue;
    }
    const bool known =
        std::any_of(spec.added_tokens.begin(), spec.added_tokens.end(),
                    [&](const HfAddedToken& t) { return t.special && t.content == name; });
    if (!known) {
      std::string list;
      size_t listed = 0;
      for (const HfAddedToken& t : spec.added_tokens) {
        if (!t.special) continue;
        if (++listed > 8) {
          list += ", ...";
          break;
        }
        list += (list.empty() ? "" : ", ") + t.content;
      }
      throw InvalidArgument("--allow-special: " + spec.path + " has no special token '" + name +
                            "' (it has: " + (list.empty() ? std::string("none") : list) + ")");
    }
    allowed.insert(name);
  }
  std::vector<HfAddedToken> active;
  for (const HfAddedToken& t : spec.added_tokens) {
    if (!t.special || all || allowed.contains(t.content)) active.push_back(t);
  }
  return active;
}

TokenizerFacts FactsOf(const HfTokenizerSpec& spec) {
  TokenizerFacts facts;
  facts.vocab_size = spec.id_count;
  if (spec.before.size() == 1) facts.start_id = spec.before[0];
  if (spec.after.size() == 1) facts.end_id = spec.after[0];
  return facts;
}

class HfTokenizer : public TextTokenizer {
 public:
  HfTokenizer(const TokenizerOptions& options, std::shared_ptr<const HfTokenizerFile> file)
      : TextTokenizer(options),
        file_(std::move(file)),
        normalizer_(file_->spec.normalizers),
        pre_tokenizer_(file_->spec.pre_tokenizers),
        facts_(FactsOf(file_->spec)) {
    std::vector<HfAddedTokenSplitter::Token> raw, normalized;
    for (const HfAddedToken& t : ActiveAddedTokens(file_->spec, options)) {
      HfAddedTokenSplitter::Token token{t.content, t.id, t.single_word, t.lstrip, t.rstrip};
      if (t.normalized) {
        // Matched by its normalized text, as HF's refresh_added_tokens.
        normalizer_.Normalize(t.content, &token.pattern);
        normalized.push_back(std::move(token));
      } else {
        raw.push_back(std::move(token));
      }
    }
    raw_tokens_ = HfAddedTokenSplitter(std::move(raw));
    normalized_tokens_ = HfAddedTokenSplitter(std::move(normalized));
  }

  size_t EncodeText(std::string_view text, std::vector<int32_t>* ids) const override {
    struct Scratch {
      std::vector<HfAddedTokenSplitter::Segment> raw;
      std::vector<HfAddedTokenSplitter::Segment> normalized;
      std::string normal;
      HfPieces pieces;
    };
    thread_local Scratch s;
    size_t unknown = 0;
    // `at_start`: the stretch starts where the text starts (Metaspace's prepend_scheme first).
    const auto encode_normalized = [&](std::string_view stretch, bool at_start) {
      pre_tokenizer_.Split(stretch, at_start, &s.pieces);
      for (size_t i = 0; i < s.pieces.size(); ++i) {
        if (file_->model) {
          unknown += file_->model->EncodeWord(s.pieces[i], ids);
        } else if (file_->wordpiece) {
          unknown += file_->wordpiece->Encode(s.pieces[i], ids);
        } else {
          unknown += file_->unigram->Encode(s.pieces[i], ids);
        }
      }
    };
    const auto encode_raw = [&](std::string_view stretch, bool at_start) {
      if (stretch.empty()) return;
      std::string_view normal = stretch;
      if (!normalizer_.empty()) {
        normalizer_.Normalize(stretch, &s.normal);
        normal = s.normal;
      }
      if (normalized_tokens_.empty()) {
        encode_normalized(normal, at_start);
        return;
      }
      normalized_tokens_.Split(normal, &s.normalized);
      for (const HfAddedTokenSplitter::Segment& segment : s.normalized) {
        if (segment.id >= 0) {
          ids->push_back(segment.id);
        } else {
          encode_normalized(normal.substr(segment.begin, segment.end - segment.begin),
                            at_start && segment.begin == 0);
        }
      }
    };
    if (raw_tokens_.empty()) {
      encode_raw(text, true);
      return unknown;
    }
    raw_tokens_.Split(text, &s.raw);
    for (const HfAddedTokenSplitter::Segment& segment : s.raw) {
      if (segment.id >= 0) {
        ids->push_back(segment.id);
      } else {
        encode_raw(text.substr(segment.begin, segment.end - segment.begin), segment.begin == 0);
      }
    }
    return unknown;
  }

  int64_t vocab_size() const override { return facts_.vocab_size; }
  std::optional<int32_t> start_id() const override { return facts_.start_id; }
  std::optional<int32_t> end_id() const override { return facts_.end_id; }

 private:
  std::shared_ptr<const HfTokenizerFile> file_;
  HfNormalizer normalizer_;
  HfPreTokenizer pre_tokenizer_;
  HfAddedTokenSplitter raw_tokens_;
  HfAddedTokenSplitter normalized_tokens_;
  TokenizerFacts facts_;
};

}  // namespace

TokenizerFacts ReadHfFacts(const TokenizerOptions& options) {
  const HfTokenizerSpec spec = ReadHfTokenizerJson(options.tokenizer_json_path, false);
  HfNormalizer normalizer(spec.normalizers);  // the regexes compile
  HfPreTokenizer pre_tokenizer(spec.pre_tokenizers);
  ActiveAddedTokens(spec, options);
  return FactsOf(spec);
}

void CheckHfAddSpecial(const TokenizerOptions& options) {
  const HfTokenizerSpec spec = ReadHfTokenizerJson(options.tokenizer_json_path, false);
  const std::string& path = options.tokenizer_json_path;
  if (spec.before.empty() && spec.after.empty()) {
    throw InvalidArgument("--add-special: the post_processor of " + path +
                          " adds no token (write-megatron --append-eod ID ends each document)");
  }
  if (spec.before.size() > 1 || spec.after.size() > 1) {
    throw InvalidArgument("--add-special: the post_processor of " + path + " puts " +
                          std::to_string(spec.before.size()) + " ids before the text and " +
                          std::to_string(spec.after.size()) +
                          " after it; more than one on a side is not supported");
  }
}

TokenNames::Pairs HfTokenNames(const TokenizerOptions& options) {
  const HfTokenizerSpec spec = ReadHfTokenizerJson(options.tokenizer_json_path, false);
  TokenNames::Pairs names;
  for (const SpecialToken& token : options.special_tokens) names.emplace_back(token.text, token.id);
  for (const HfAddedToken& t : spec.added_tokens) names.emplace_back(t.content, t.id);
  for (const auto& [text, id] : spec.model.vocab) {
    if (!spec.model.byte_level) {
      names.emplace_back(text, id);
    } else if (const std::optional<std::string> bytes = DecodeByteLevel(text)) {
      names.emplace_back(*bytes, id);
    } else {
      names.emplace_back(text, id);
    }
  }
  return names;
}

std::unique_ptr<TextTokenizer> CreateHfTokenizer(const TokenizerOptions& options,
                                                 ResourceCache& resources) {
  const std::string& path = options.tokenizer_json_path;
  auto file = resources.Get<HfTokenizerFile>(ResourceCache::FileKey("hf-tokenizer", {path}), [&] {
    auto loaded = std::make_unique<HfTokenizerFile>();
    loaded->spec = ReadHfTokenizerJson(path, true);
    if (loaded->spec.wordpiece) {
      loaded->wordpiece =
          std::make_unique<HfWordPiece>(loaded->spec.model.vocab, *loaded->spec.wordpiece);
    } else if (loaded->spec.unigram) {
      loaded->unigram =
          std::make_unique<HfUnigram>(loaded->spec.model.vocab, *loaded->spec.unigram);
      loaded->spec.unigram->scores = {};
    } else {
      loaded->model = BpeModel::LoadHf(loaded->spec.model);
    }
    loaded->spec.model.vocab = {};
    loaded->spec.model.merges = {};
    return loaded;
  });
  return std::make_unique<HfTokenizer>(options, std::move(file));
}

}  // namespace corpusflow
