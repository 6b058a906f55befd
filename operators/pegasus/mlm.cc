#include "operators/pegasus/mlm.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "operators/pegasus/gsg_random.h"
#include "operators/tokenize/vocab_file.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

/// Salt of the per-record random streams of `mlm` ("mlm" in ASCII).
constexpr uint64_t kMlmSalt = 0x6d6c6d;

constexpr uint8_t kWordStart = 0, kContinuation = 1, kSpecial = 2;

bool LooksSpecial(const std::string& token) {
  if (token.size() < 3) return false;
  return (token.front() == '[' && token.back() == ']') ||
         (token.front() == '<' && token.back() == '>');
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

struct MlmWorker : OpState {
  std::vector<std::pair<uint32_t, uint32_t>> words;
  std::vector<int32_t> ids;
  std::vector<int32_t> labels;
};

class MlmRun : public TransformRun {
 public:
  /// `vocab_ids`: the ids of the vocabulary file when the run was planned.
  MlmRun(const MlmOptions& options, int64_t vocab_ids, ExecContext& ctx, OperatorStats& stats)
      : options_(options), stats_(stats) {
    if (!options_.vocab.empty()) {
      tokens_ = ctx.resources().Get<std::vector<std::string>>(
          // The key holds the offset: two stages may read one file by different ids.
          ResourceCache::FileKey("token-list+" + std::to_string(options_.id_offset),
                                 {options_.vocab}),
          [&] {
            return std::make_unique<std::vector<std::string>>(
                ShiftVocabTokens(ReadVocabTokens(options_.vocab, VocabColumns::kTokenThenScore),
                                 options_.id_offset));
          });
      if (static_cast<int64_t>(tokens_->size()) != vocab_ids) {
        throw DataError(options_.vocab + ": changed after the run was planned (" +
                        std::to_string(vocab_ids) + " ids planned, " +
                        std::to_string(tokens_->size()) + " now)");
      }
    } else {
      tokens_ = std::make_shared<const std::vector<std::string>>();
    }
    segmenter_ = std::make_unique<WholeWordSegmenter>(*tokens_, options_);
  }

  std::unique_ptr<OpState> MakeLocalState() override { return std::make_unique<MlmWorker>(); }

  void Apply(Batch& batch, OpState* local) override {
    auto& w = *static_cast<MlmWorker*>(local);
    const Column* column = batch.Find(options_.field);
    const int64_t vocab_size = options_.vocab_size > 0 ? options_.vocab_size
                               : column->field.vocab_size > 0
                                   ? column->field.vocab_size
                                   : static_cast<int64_t>(tokens_->size());
    if (vocab_size <= 0 && options_.random_prob > 0) {
      throw InvalidArgument("mlm: the vocabulary size of '" + options_.field +
                            "' is unknown; give --vocab-size or --vocab");
    }
    const Int32ListColumn& input = std::get<Int32ListColumn>(column->data);
    Int32ListColumn output, labels;
    output.Reserve(input.size(), input.values().size());
    if (!options_.labels.empty()) labels.Reserve(input.size(), input.values().size());
    uint64_t word_total = 0, picked_total = 0, masked = 0, randomized = 0, unchanged = 0;
    for (size_t r = 0; r < input.size(); ++r) {
      const std::span<const int32_t> ids = input[r];
      for (const int32_t id : ids) {
        if (id < 0 || (vocab_size > 0 && id >= vocab_size)) {
          throw DataError("mlm: record " + RecordNumberText(batch.first_record() + r) + ": id " +
                          std::to_string(id) + " in '" + options_.field +
                          "' is outside the vocabulary (size " + std::to_string(vocab_size) + ")");
        }
      }
      w.ids.assign(ids.begin(), ids.end());
      w.labels.assign(ids.size(), options_.ignore_label);
      segmenter_->Segment(ids, &w.words);
      word_total += w.words.size();
      if (!w.words.empty()) {
        RecordRandom random(options_.seed, batch.first_record() + r, kMlmSalt);
        const size_t n = w.words.size();
        size_t picked = static_cast<size_t>(std::max(static_cast<float>(n) * options_.ratio, 1.0f));
        picked = std::min(picked, n);
        // A partial Fisher-Yates shuffle: the first `picked` words are a uniform sample.
        for (size_t k = 0; k < picked; ++k) {
          std::swap(w.words[k], w.words[k + static_cast<size_t>(random.Below(n - k))]);
        }
        picked_total += picked;
        for (size_t k = 0; k < picked; ++k) {
          const double choice = random.Uniform01();
          for (uint32_t i = w.words[k].first; i < w.words[k].second; ++i) {
            w.labels[i] = w.ids[i];
            if (choice < options_.mask_prob) {
              w.ids[i] = options_.mask_id;
              ++masked;
            } else if (choice < options_.mask_prob + options_.random_prob) {
              w.ids[i] = RandomId(&random, vocab_size);
              ++randomized;
            } else {
              ++unchanged;
            }
          }
        }
      }
      output.Append(w.ids);
      if (!options_.labels.empty()) labels.Append(w.labels);
    }
    stats_.Add("words", word_total);
    stats_.Add("words_picked", picked_total);
    stats_.Add("tokens_masked", masked);
    stats_.Add("tokens_randomized", randomized);
    stats_.Add("tokens_unchanged", unchanged);
    const int64_t field_vocab = column->field.vocab_size;
    batch.AddInt32List(options_.field, field_vocab) = std::move(output);
    if (!options_.labels.empty()) {
      batch.AddInt32List(options_.labels, field_vocab) = std::move(labels);
    }
  }

 private:
  /// A uniform id in [special_below, vocab_size) that is not special.
  int32_t RandomId(RecordRandom* random, int64_t vocab_size) const {
    const auto low = static_cast<uint64_t>(options_.special_below);
    const uint64_t span = static_cast<uint64_t>(vocab_size) - low;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const auto id = static_cast<int32_t>(low + random->Below(span));
      if (!segmenter_->IsSpecial(id)) return id;
    }
    throw InvalidArgument("mlm: no non-special id to draw random replacements from");
  }

  const MlmOptions& options_;
  OperatorStats& stats_;
  std::shared_ptr<const std::vector<std::string>> tokens_;
  std::unique_ptr<WholeWordSegmenter> segmenter_;
};

}  // namespace

WholeWordSegmenter::WholeWordSegmenter(const std::vector<std::string>& tokens,
                                       const MlmOptions& options)
    : special_below_(options.special_below),
      mask_id_(options.mask_id),
      id_offset_(options.id_offset) {
  kind_.resize(tokens.size(), kWordStart);
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string& token = tokens[id];
    if (LooksSpecial(token)) {
      kind_[id] = kSpecial;
    } else if (!options.word_start_prefix.empty()) {
      kind_[id] = StartsWith(token, options.word_start_prefix) ? kWordStart : kContinuation;
    } else if (!options.continuation_prefix.empty() &&
               StartsWith(token, options.continuation_prefix) &&
               token.size() > options.continuation_prefix.size()) {
      kind_[id] = kContinuation;
    }
  }
}

bool WholeWordSegmenter::IsSpecial(int32_t id) const {
  if (id < special_below_ || id == mask_id_) return true;
  // The ids PEGASUS' offset reserves (<mask_1>, <mask_2>, ...).
  if (id_offset_ > 0 && id >= 2 && id - 2 < id_offset_) return true;
  return static_cast<size_t>(id) < kind_.size() && kind_[id] == kSpecial;
}

bool WholeWordSegmenter::IsContinuation(int32_t id) const {
  return static_cast<size_t>(id) < kind_.size() && kind_[id] == kContinuation;
}

void WholeWordSegmenter::Segment(std::span<const int32_t> ids,
                                 std::vector<std::pair<uint32_t, uint32_t>>* words) const {
  words->clear();
  bool open = false;
  for (uint32_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (IsSpecial(id)) {
      open = false;
    } else if (open && IsContinuation(id)) {
      words->back().second = i + 1;
    } else {
      words->emplace_back(i, i + 1);
      open = true;
    }
  }
}

MlmOperator::MlmOperator(MlmOptions options) : options_(std::move(options)) {
  if (options_.mask_id < 0) throw InvalidArgument("give --mask-id (the id of the mask token)");
  if (!(options_.ratio > 0.0f && options_.ratio <= 1.0f)) {
    throw InvalidArgument("--ratio must be in (0, 1]");
  }
  if (!(options_.mask_prob >= 0 && options_.random_prob >= 0 &&
        options_.mask_prob + options_.random_prob <= 1.0 + 1e-9)) {
    throw InvalidArgument("--mask-prob and --random-prob must be >= 0 with a sum <= 1");
  }
  if (options_.special_below < 0) throw InvalidArgument("--special-below must be >= 0");
  if (options_.id_offset < 0) throw InvalidArgument("--id-offset must be >= 0");
  if (options_.id_offset > 0 && options_.vocab.empty()) {
    throw InvalidArgument("--id-offset says how to read --vocab; give the vocabulary too");
  }
  if (!options_.vocab.empty()) {
    vocab_ids_ = static_cast<int64_t>(
                     ReadVocabTokens(options_.vocab, VocabColumns::kTokenThenScore).size()) +
                 options_.id_offset;
  }
  if (options_.vocab_size < 0) throw InvalidArgument("--vocab-size must be >= 0");
  if (options_.field.empty() || options_.labels == options_.field) {
    throw InvalidArgument("--field must be non-empty and differ from --labels");
  }
}

void MlmOperator::Validate(const PlanContext& /*ctx*/) const {
  if (!options_.vocab.empty()) CheckInputReadable(options_.vocab);
}

std::vector<AddedField> MlmOperator::AddedFields() const {
  if (options_.labels.empty() || options_.labels == options_.field) return {};
  return {{options_.labels, "--labels"}};
}

Schema MlmOperator::OutputSchema(const Schema& input) const {
  const Field& field = input.Require(options_.field, FieldType::kInt32List, name());
  if (options_.random_prob > 0 && options_.vocab_size == 0 && field.vocab_size == 0 &&
      options_.vocab.empty()) {
    throw InvalidArgument("mlm: the vocabulary size of '" + options_.field +
                          "' is unknown; give --vocab-size or --vocab");
  }
  if (vocab_ids_ > 0) {
    // The vocabulary file must give every id of the field a line: with another size its line k
    // is not id k (an offset was forgotten, or it is another vocabulary).
    const int64_t expected = options_.vocab_size > 0 ? options_.vocab_size : field.vocab_size;
    if (expected > 0 && expected != vocab_ids_) {
      const int64_t lines = vocab_ids_ - options_.id_offset;
      std::string hint;
      if (expected > lines) {
        hint = "; the ids were shifted by " + std::to_string(expected - lines) +
               " (tokenize --id-offset?): give mlm --id-offset " + std::to_string(expected - lines);
      }
      throw InvalidArgument("mlm: --vocab " + options_.vocab + " has " + std::to_string(lines) +
                            " tokens, " + std::to_string(vocab_ids_) + " ids with --id-offset " +
                            std::to_string(options_.id_offset) + ", but '" + options_.field +
                            "' has " + std::to_string(expected) + " ids" + hint);
    }
  }
  const int64_t vocab = options_.vocab_size > 0 ? options_.vocab_size : field.vocab_size;
  if (options_.special_below > 0 && vocab > 0 && options_.special_below >= vocab) {
    throw InvalidArgument("mlm: --special-below must be below the vocabulary size");
  }
  if (vocab > 0 && options_.mask_id >= vocab) {
    throw InvalidArgument("mlm: --mask-id " + std::to_string(options_.mask_id) +
                          " is outside the vocabulary of '" + options_.field + "' (size " +
                          std::to_string(vocab) + ")");
  }
  Schema out = input;
  if (!options_.labels.empty()) {
    out.Set(Field{options_.labels, FieldType::kInt32List, field.vocab_size});
  }
  return out;
}

std::string MlmOperator::Describe() const {
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%g", static_cast<double>(options_.ratio));
  return "mask " + std::string(ratio) + " of the whole words of '" + options_.field +
         "' (mask id " + std::to_string(options_.mask_id) + ")" +
         (options_.labels.empty() ? std::string() : " -> labels " + options_.labels);
}

std::unique_ptr<TransformRun> MlmOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<MlmRun>(options_, vocab_ids_, ctx.exec, ctx.stats);
}

static const OperatorRegistrar kRegisterMlm(OperatorDef{
    .name = "mlm",
    .role = OperatorRole::kTransform,
    .synopsis = "mlm --mask-id N [--field src_ids] [--vocab vocab.txt] [--ratio 0.15] [options]",
    .summary = "Masked-LM noise on token ids: 15% of whole words, 80% mask / 10% random / 10% kept",
    .details =
        "Whole words come from --vocab (WordPiece: a token starting with --continuation-prefix "
        "'##' continues the word before it; with --word-start-prefix '▁' (SentencePiece) a piece "
        "without the prefix continues it); without a vocabulary each token is a word. Special "
        "tokens ([CLS], <mask_1>, ids below --special-below, the mask id) are never picked. "
        "--id-offset N reads --vocab by the ids of tokenize --id-offset N (PEGASUS: 103); a "
        "vocabulary whose ids differ from the field's vocabulary size is refused. The "
        "labels field holds the original ids of the picked tokens and --ignore-label elsewhere. "
        "Random draws depend only on --seed and the record's position in the stream.",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("mask-id", IntegerValue(0, kInt32Max), "id of the mask token (required)");
          add("field", po::value<std::string>()->default_value("src_ids"), "int32-list field");
          add("labels", po::value<std::string>()->default_value("mlm_ids"),
              "labels field to write ('' for none)");
          add("ratio", po::value<float>()->default_value(0.15f, "0.15"),
              "fraction of whole words picked");
          add("mask-prob", po::value<double>()->default_value(0.8, "0.8"),
              "picked words replaced by the mask id");
          add("random-prob", po::value<double>()->default_value(0.1, "0.1"),
              "picked words whose tokens become random ids");
          add("vocab", po::value<std::string>()->default_value(""),
              "vocabulary file (one token per line) for whole words and special tokens");
          add("vocab-size", IntegerValue(0, kInt32Max + 1)->default_value(0),
              "ids of random replacements are below this (default: the field's vocabulary)");
          add("special-below", IntegerValue(0, kInt32Max)->default_value(0),
              "ids below this are special: never masked nor drawn");
          add("id-offset", IntegerValue(0, kInt32Max)->default_value(0),
              "the ids were shifted as tokenize --id-offset N does (PEGASUS: 103)");
          add("continuation-prefix", po::value<std::string>()->default_value("##"),
              "WordPiece continuation mark");
          add("word-start-prefix", po::value<std::string>()->default_value(""),
              "SentencePiece word-start mark (e.g. ▁); pieces without it continue a word");
          add("ignore-label", IntegerValue(-kInt32Max - 1, kInt32Max)->default_value(0),
              "label of positions that are not targets");
          add("seed", CountValue()->default_value(0), "random seed");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      MlmOptions options;
      if (v.count("mask-id") == 0) throw InvalidArgument("give --mask-id N");
      options.mask_id = static_cast<int32_t>(v["mask-id"].as<int64_t>());
      options.field = v["field"].as<std::string>();
      options.labels = v["labels"].as<std::string>();
      options.ratio = v["ratio"].as<float>();
      options.mask_prob = v["mask-prob"].as<double>();
      options.random_prob = v["random-prob"].as<double>();
      options.vocab = v["vocab"].as<std::string>();
      options.vocab_size = v["vocab-size"].as<int64_t>();
      options.special_below = static_cast<int32_t>(v["special-below"].as<int64_t>());
      options.id_offset = static_cast<int32_t>(v["id-offset"].as<int64_t>());
      options.continuation_prefix = v["continuation-prefix"].as<std::string>();
      options.word_start_prefix = v["word-start-prefix"].as<std::string>();
      options.ignore_label = static_cast<int32_t>(v["ignore-label"].as<int64_t>());
      options.seed = v["seed"].as<uint64_t>();
      return std::make_unique<MlmOperator>(std::move(options));
    },
    .outputs = {{"mlm_ids", "--labels"}},
});

}  // namespace corpusflow
