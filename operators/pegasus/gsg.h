// `gsg`: PEGASUS gap-sentence generation. Each document is split into sentences (the `sentences`
// string-list field when upstream produced it, else `--split cjk|pegasus` on `--field`), m of
// them are selected (operators/gap_sentence_selector.h: random, lead, ind, seq, continuous, with
// ROUGE-1 on reference, CJK-character or jieba tokens), and the record gets
//   src  the document with each selected sentence replaced by `--mask-token` (or, with the
//        configured probabilities, kept as is, removed, or replaced by a random sentence of the
//        document), the whitespace around sentences kept as it was;
//   tgt  the selected sentences in document order, as they read in the document.
// The input fields (text and sentences) are removed unless --keep-input; other fields stay.
// Documents with no content or fewer than --min-sentences sentences are dropped and counted.
// Every random draw comes from (seed, record ordinal), so the output is the same for any thread
// count. Counters: documents, pairs, sentences, gap_sentences, masked, kept, removed, replaced.
// The operator is immutable; a run loads the stopwords and jieba dictionary once and shares them
// read-only; each worker has its own selector scratch.
#pragma once

#include <cstdint>
#include <string>

#include "engine/operator.h"
#include "operators/pegasus/gap_sentence_selector.h"
#include "operators/pegasus/rouge.h"
#include "operators/pegasus/sentence_splitter.h"

namespace corpusflow {

struct GsgOptions {
  std::string field = "text";
  /// Used instead of splitting `field` when the input has this string-list field.
  std::string sentences_field = "sentences";
  SentenceMode split = SentenceMode::kCjk;
  GsgStrategy strategy = GsgStrategy::kInd;
  RougeCounting counting = RougeCounting::kOrig;
  RougeTokens tokens = RougeTokens::kChars;
  /// "" (none), "english" (the embedded list) or a file with one word per line.
  std::string stopwords;
  /// Dictionary for --tokens jieba.
  std::string jieba_dict;
  float ratio = 0.3f;
  std::string mask_token = "<mask_1>";
  /// Of the selected sentences: left intact, removed, replaced by a random sentence of the
  /// document; the rest is masked.
  double keep_prob = 0;
  double remove_prob = 0;
  double random_sentence_prob = 0;
  uint64_t seed = 0;
  size_t min_sentences = 2;
  std::string src = "src";
  std::string tgt = "tgt";
  bool keep_input = false;
};

class GsgOperator : public Transform {
 public:
  /// Checks option ranges; throws InvalidArgument.
  explicit GsgOperator(GsgOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const GsgOptions& options() const { return options_; }

 private:
  GsgOptions options_;
};

/// Read a stopword file: one word per line, surrounding whitespace trimmed, blank lines skipped.
std::vector<std::string> LoadStopwords(const std::string& path);

}  // namespace corpusflow
