// `sentences`: split a text field into sentences and store them as a string-list field (default
// `sentences`), with the rules of operators/sentence_splitter.h: `--mode pegasus` (the reference:
// ASCII .!? runs followed by whitespace) or `--mode cjk` (also 。！？；… and line breaks, closing
// quotes and brackets kept on the sentence). The sentences are lossless views of the text (their
// concatenation is the text), so `gsg` can mask them and rebuild the document exactly.
// The operator is immutable; its run has no state and Apply runs concurrently on any number of
// workers.
#pragma once

#include <string>

#include "engine/operator.h"
#include "operators/pegasus/sentence_splitter.h"

namespace corpusflow {

struct SentencesOptions {
  std::string field = "text";
  std::string output = "sentences";
  SentenceMode mode = SentenceMode::kCjk;
};

class SentencesOperator : public Transform {
 public:
  explicit SentencesOperator(SentencesOptions options) : options_(std::move(options)) {}
  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  /// Add the sentences of every record of `batch`, counting them in `stats`. Thread-safe.
  void SplitBatch(Batch& batch, OperatorStats& stats) const;

 private:
  SentencesOptions options_;
};

}  // namespace corpusflow
