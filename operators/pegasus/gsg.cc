#include "operators/pegasus/gsg.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/input_stream.h"
#include "engine/io/line_reader.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "operators/tokenize/tokenize_resources.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Salt of the per-record random streams of `gsg` ("gsg" in ASCII).
constexpr uint64_t kGsgSalt = 0x677367;

enum class GapAction { kMask, kRandomSentence, kKeep, kRemove };

struct GsgWorker : OpState {
  explicit GsgWorker(const GsgOptions& options)
      : selector(options.strategy, options.counting, options.ratio) {}
  std::vector<std::string_view> sentences;
  DocumentTokens document;
  GapSentenceSelector selector;
  std::vector<uint32_t> indices;
  std::vector<bool> selected;
  std::vector<SentenceParts> parts;
};

class GsgRun : public TransformRun {
 public:
  GsgRun(const GsgOptions& options, ExecContext& ctx, OperatorStats& stats)
      : options_(options), stats_(stats) {
    std::vector<std::string> stopwords;
    if (options_.stopwords == "english") {
      stopwords = EnglishStopwords();
    } else if (!options_.stopwords.empty()) {
      stopwords = *ctx.resources().Get<std::vector<std::string>>(
          ResourceCache::FileKey("stopwords", {options_.stopwords}), [&] {
            return std::make_unique<std::vector<std::string>>(LoadStopwords(options_.stopwords));
          });
    }
    if (options_.tokens == RougeTokens::kJieba) {
      segmenter_ = LoadJiebaSegmenter(ctx.resources(), options_.jieba_dict);
    }
    tokenizer_ =
        std::make_unique<RougeTokenizer>(options_.tokens, std::move(stopwords), segmenter_.get());
  }

  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<GsgWorker>(options_);
  }

  void Apply(Batch& batch, OpState* local) override {
    auto& worker = *static_cast<GsgWorker*>(local);
    const Column* sentences_column = batch.Find(options_.sentences_field);
    const StringListColumn* sentence_lists = nullptr;
    const StringColumn* texts = nullptr;
    if (sentences_column != nullptr && sentences_column->field.type == FieldType::kStringList) {
      sentence_lists = &std::get<StringListColumn>(sentences_column->data);
    } else {
      texts = &batch.GetString(options_.field);
    }
    const size_t n = batch.num_records();
    StringColumn src, tgt;
    src.Reserve(n, batch.DataBytes());
    tgt.Reserve(n, batch.DataBytes() / 2);
    std::vector<bool> keep(n, true);
    uint64_t kept = 0, empty = 0, too_short = 0, sentence_total = 0, gap_total = 0;
    uint64_t actions[4] = {0, 0, 0, 0};
    for (size_t r = 0; r < n; ++r) {
      auto& sentences = worker.sentences;
      if (sentence_lists != nullptr) {
        sentences.clear();
        for (size_t j = 0; j < sentence_lists->ItemCount(r); ++j) {
          sentences.push_back(sentence_lists->Item(r, j));
        }
      } else {
        SplitSentences((*texts)[r], options_.split, &sentences);
      }
      // A document is empty when it has no sentence. A sentence of whitespace alone (what the
      // reference split makes of a whitespace-only document) counts, as it does for the
      // reference, which masks it like any other.
      worker.parts.clear();
      for (std::string_view s : sentences) worker.parts.push_back(SplitSentenceParts(s));
      if (sentences.empty()) {
        keep[r] = false;
        ++empty;
        continue;
      }
      if (sentences.size() < options_.min_sentences) {
        keep[r] = false;
        ++too_short;
        continue;
      }
      RecordRandom random(options_.seed, batch.first_record() + r, kGsgSalt);
      worker.document.Build(sentences, *tokenizer_);
      worker.selector.Select(worker.document, &random, &worker.indices);
      worker.selected.assign(sentences.size(), false);
      for (const uint32_t i : worker.indices) worker.selected[i] = true;
      sentence_total += sentences.size();
      gap_total += worker.indices.size();

      // Target: the selected sentences as they read in the document.
      std::string& t = tgt.bytes();
      for (size_t k = 0; k < worker.indices.size(); ++k) {
        const SentenceParts& p = worker.parts[worker.indices[k]];
        t.append(p.content);
        if (k + 1 < worker.indices.size()) t.append(p.trailing);
      }
      tgt.EndRecord();

      // Source: the document with the gaps.
      std::string& s = src.bytes();
      for (size_t j = 0; j < sentences.size(); ++j) {
        if (!worker.selected[j]) {
          s.append(sentences[j]);
          continue;
        }
        const SentenceParts& p = worker.parts[j];
        const GapAction action = ChooseAction(&random);
        ++actions[static_cast<int>(action)];
        switch (action) {
          case GapAction::kMask:
            s.append(p.leading).append(options_.mask_token).append(p.trailing);
            break;
          case GapAction::kRandomSentence: {
            const size_t other = static_cast<size_t>(random.Below(sentences.size()));
            s.append(p.leading).append(worker.parts[other].content).append(p.trailing);
            break;
          }
          case GapAction::kKeep:
            s.append(sentences[j]);
            break;
          case GapAction::kRemove:
            break;
        }
      }
      src.EndRecord();
      ++kept;
    }
    stats_.Add("documents", n);
    stats_.Add("pairs", kept);
    stats_.Add("sentences", sentence_total);
    stats_.Add("gap_sentences", gap_total);
    stats_.Add("masked", actions[static_cast<int>(GapAction::kMask)]);
    stats_.Add("replaced", actions[static_cast<int>(GapAction::kRandomSentence)]);
    stats_.Add("kept", actions[static_cast<int>(GapAction::kKeep)]);
    stats_.Add("removed", actions[static_cast<int>(GapAction::kRemove)]);
    if (empty > 0) stats_.Drop("empty document", empty);
    if (too_short > 0) {
      stats_.Drop("fewer than " + std::to_string(options_.min_sentences) + " sentences", too_short);
    }
    if (kept < n) batch.KeepRecords(keep);
    if (!options_.keep_input) {
      batch.Remove(options_.field);
      batch.Remove(options_.sentences_field);
    }
    batch.AddString(options_.src) = std::move(src);
    batch.AddString(options_.tgt) = std::move(tgt);
  }

 private:
  GapAction ChooseAction(RecordRandom* random) const {
    if (options_.keep_prob == 0 && options_.remove_prob == 0 &&
        options_.random_sentence_prob == 0) {
      return GapAction::kMask;
    }
    // The reference's order of the cumulative probabilities: mask, random, intact, remove.
    const double mask =
        1.0 - options_.keep_prob - options_.remove_prob - options_.random_sentence_prob;
    const double choice = random->Uniform01();
    if (choice < mask) return GapAction::kMask;
    if (choice < mask + options_.random_sentence_prob) return GapAction::kRandomSentence;
    if (choice < mask + options_.random_sentence_prob + options_.keep_prob) {
      return GapAction::kKeep;
    }
    return GapAction::kRemove;
  }

  const GsgOptions& options_;
  OperatorStats& stats_;
  std::shared_ptr<const JiebaSegmenter> segmenter_;
  std::unique_ptr<RougeTokenizer> tokenizer_;
};

void CheckProbability(double p, const char* option) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw InvalidArgument(std::string(option) + " must be between 0 and 1");
  }
}

}  // namespace

std::vector<std::string> LoadStopwords(const std::string& path) {
  LineReader reader(OpenInput(path));
  std::vector<std::string> words;
  std::string_view line;
  while (reader.Next(&line)) {
    size_t begin = 0, end = line.size();
    while (begin < end && static_cast<unsigned char>(line[begin]) <= ' ') ++begin;
    while (end > begin && static_cast<unsigned char>(line[end - 1]) <= ' ') --end;
    if (end > begin) words.emplace_back(line.substr(begin, end - begin));
  }
  return words;
}

GsgOperator::GsgOperator(GsgOptions options) : options_(std::move(options)) {
  if (!(options_.ratio > 0.0f && options_.ratio <= 1.0f)) {
    throw InvalidArgument("--ratio must be in (0, 1]");
  }
  CheckProbability(options_.keep_prob, "--keep-prob");
  CheckProbability(options_.remove_prob, "--remove-prob");
  CheckProbability(options_.random_sentence_prob, "--random-sentence-prob");
  if (options_.keep_prob + options_.remove_prob + options_.random_sentence_prob > 1.0 + 1e-9) {
    throw InvalidArgument(
        "--keep-prob + --remove-prob + --random-sentence-prob must not exceed 1 (the rest of "
        "the selected sentences is masked)");
  }
  if (options_.field.empty() || options_.src.empty() || options_.tgt.empty() ||
      options_.src == options_.tgt) {
    throw InvalidArgument("--field, --src and --tgt must be non-empty and --src != --tgt");
  }
  if (options_.min_sentences == 0) options_.min_sentences = 1;
}

void GsgOperator::Validate(const PlanContext& /*ctx*/) const {
  if (!options_.stopwords.empty() && options_.stopwords != "english") {
    CheckInputReadable(options_.stopwords);
  }
  if (options_.tokens == RougeTokens::kJieba) CheckInputReadable(options_.jieba_dict);
}

std::vector<AddedField> GsgOperator::AddedFields() const {
  std::vector<AddedField> added;
  for (const AddedField& field :
       {AddedField{options_.src, "--src"}, AddedField{options_.tgt, "--tgt"}}) {
    // A consumed input of the same name is replaced in place, as the user named it.
    const bool consumed = !options_.keep_input &&
                          (field.name == options_.field || field.name == options_.sentences_field);
    if (!consumed) added.push_back(field);
  }
  return added;
}

Schema GsgOperator::OutputSchema(const Schema& input) const {
  const Field* sentences = input.Find(options_.sentences_field);
  if (sentences == nullptr || sentences->type != FieldType::kStringList) {
    input.Require(options_.field, FieldType::kString, name());
  }
  Schema out = input;
  if (!options_.keep_input) {
    out.Remove(options_.field);
    out.Remove(options_.sentences_field);
  }
  out.Set(Field{options_.src, FieldType::kString, 0});
  out.Set(Field{options_.tgt, FieldType::kString, 0});
  return out;
}

std::string GsgOperator::Describe() const {
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%g", static_cast<double>(options_.ratio));
  return "gap sentences of '" + options_.field +
         "': " + std::string(GsgStrategyName(options_.strategy)) + "-" +
         std::string(RougeCountingName(options_.counting)) + ", ratio " + ratio + ", " +
         std::string(RougeTokensName(options_.tokens)) + " tokens -> " + options_.src + ", " +
         options_.tgt;
}

bool GsgOperator::NeedsRecordIndex() const {
  return options_.strategy == GsgStrategy::kRandom || options_.keep_prob > 0 ||
         options_.remove_prob > 0 || options_.random_sentence_prob > 0;
}

std::unique_ptr<TransformRun> GsgOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<GsgRun>(options_, ctx.exec, ctx.stats);
}

static const OperatorRegistrar kRegisterGsg(OperatorDef{
    .name = "gsg",
    .role = OperatorRole::kTransform,
    .synopsis = "gsg [--strategy ind|seq|continuous|lead|random] [--rouge orig|uniq] "
                "[--ratio 0.3] [--tokens chars|jieba|reference] [options]",
    .summary = "PEGASUS gap-sentence generation: mask important sentences (src) to predict (tgt)",
    .details =
        "Sentences come from the `sentences` field when upstream made one, else from splitting "
        "--field with --split (cjk: 。！？；… and line breaks too; pegasus: the reference's ASCII "
        ".!? before whitespace). m = min(int(max(n * ratio, 1)), n) sentences are selected: "
        "random, lead, ind (each sentence's ROUGE-1 F1 against the rest; ties to the higher "
        "index), seq (greedy: add the sentence maximising F1 of selected vs remaining; ties to "
        "the last index) or continuous (the best window of m sentences; ties to the later one). "
        "ROUGE-1 counts unigrams as a multiset (orig) or once each (uniq) over --tokens: "
        "reference (lowercased ASCII words, as google-research/pegasus: Chinese scores 0), chars "
        "(CJK characters one by one, other scripts by word) or jieba (jieba words, "
        "HMM=False). The mask token replaces each selected sentence in src, unless "
        "--keep-prob/--remove-prob/--random-sentence-prob pick another fate for it; tgt holds "
        "the selected sentences in order; the mask token is text, which tokenize "
        "--special-tokens turns into one id (pegasus: <mask_1> = 2). --split pegasus --tokens "
        "reference --min-sentences 1 reproduces the reference's selection (a whitespace-only "
        "document is one sentence and is masked). Random draws depend only on --seed and the "
        "record's position in the stream.",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("strategy", po::value<std::string>()->default_value("ind"),
              "random, lead, ind, seq or continuous");
          add("rouge", po::value<std::string>()->default_value("orig"), "orig or uniq");
          add("ratio", po::value<float>()->default_value(0.3f, "0.3"),
              "fraction of sentences selected");
          add("tokens", po::value<std::string>()->default_value("chars"),
              "ROUGE tokens: chars, jieba or reference");
          add("stopwords", po::value<std::string>()->default_value(""),
              "'english' or a file of words (one per line) left out of ROUGE");
          add("jieba-dict", po::value<std::string>()->default_value(CORPUSFLOW_JIEBA_DICT),
              "jieba dictionary for --tokens jieba");
          add("split", po::value<std::string>()->default_value("cjk"),
              "sentence rule when there is no sentences field: cjk or pegasus");
          add("field", po::value<std::string>()->default_value("text"), "text field");
          add("sentences-field", po::value<std::string>()->default_value("sentences"),
              "string-list field used instead of splitting when present");
          add("mask-token", po::value<std::string>()->default_value("<mask_1>"),
              "what replaces a selected sentence in src");
          add("keep-prob", po::value<double>()->default_value(0.0, "0"),
              "probability that a selected sentence stays intact in src");
          add("remove-prob", po::value<double>()->default_value(0.0, "0"),
              "probability that a selected sentence is removed from src");
          add("random-sentence-prob", po::value<double>()->default_value(0.0, "0"),
              "probability that a selected sentence is replaced by a random sentence");
          add("min-sentences", CountValue()->default_value(2),
              "drop documents with fewer sentences (counted)");
          add("seed", CountValue()->default_value(0), "random seed");
          add("src", po::value<std::string>()->default_value("src"), "output field: masked text");
          add("tgt", po::value<std::string>()->default_value("tgt"),
              "output field: selected sentences");
          add("keep-input", po::bool_switch(), "keep the text and sentences fields");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      GsgOptions options;
      options.strategy = ParseGsgStrategy(v["strategy"].as<std::string>());
      options.counting = ParseRougeCounting(v["rouge"].as<std::string>());
      options.ratio = v["ratio"].as<float>();
      options.tokens = ParseRougeTokens(v["tokens"].as<std::string>());
      options.stopwords = v["stopwords"].as<std::string>();
      options.jieba_dict = v["jieba-dict"].as<std::string>();
      options.split = ParseSentenceMode(v["split"].as<std::string>(), "--split");
      options.field = v["field"].as<std::string>();
      options.sentences_field = v["sentences-field"].as<std::string>();
      options.mask_token = v["mask-token"].as<std::string>();
      options.keep_prob = v["keep-prob"].as<double>();
      options.remove_prob = v["remove-prob"].as<double>();
      options.random_sentence_prob = v["random-sentence-prob"].as<double>();
      options.min_sentences = v["min-sentences"].as<uint64_t>();
      options.seed = v["seed"].as<uint64_t>();
      options.src = v["src"].as<std::string>();
      options.tgt = v["tgt"].as<std::string>();
      options.keep_input = v["keep-input"].as<bool>();
      return std::make_unique<GsgOperator>(std::move(options));
    },
    .outputs = {{"src", "--src"}, {"tgt", "--tgt"}},
});

}  // namespace corpusflow
