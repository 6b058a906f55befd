// `gen`: a deterministic synthetic corpus generator. Documents of varied length (a few words to
// several KB, log-normal-ish) made of sentences with real punctuation: Chinese sentences of words
// drawn by frequency from the jieba dictionary (ending in 。！？, with ，、； inside), English
// sentences of common words (capitalized, ending in . ! ?, with commas), or a mix of both with
// digits and ASCII terms. Document i depends only on (seed, i), so the output is byte-identical
// for any thread count, batch size or memory budget, and only integer arithmetic is used.
// Thread safety: CorpusGenerator and GenOperator are immutable after construction and may be used
// from any thread; Generate() needs one scratch buffer per calling thread. The reader that Open()
// returns is used by one thread at a time (the serial source stage); it generates documents ahead
// in parallel chunks (tbb::parallel_for) and hands them out in order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/operator.h"

namespace corpusflow {

enum class GenLanguage { kChinese, kEnglish, kMixed };

/// Parse "zh", "en" or "mixed"; throws InvalidArgument.
GenLanguage ParseGenLanguage(std::string_view text);
/// "zh", "en" or "mixed".
std::string_view GenLanguageName(GenLanguage language);

struct GenOptions {
  /// Stop after the document that brings the text bytes plus one newline per document to this
  /// many bytes; 0 = no byte limit.
  uint64_t bytes = 0;
  /// Stop after this many documents; 0 = no document limit.
  uint64_t docs = 0;
  GenLanguage language = GenLanguage::kMixed;
  uint64_t seed = 1;
  /// Separate the paragraphs of a document with '\n' (otherwise a document is one line).
  bool paragraphs = false;
  /// Name of the string column produced.
  std::string field = "text";
  /// The jieba dictionary ("word freq [tag]" lines) Chinese words are drawn from.
  std::string dict_path = CORPUSFLOW_JIEBA_DICT;
};

/// Produces the documents of a synthetic corpus.
class CorpusGenerator {
 public:
  /// Load the word tables; reads the dictionary only when the language needs Chinese. Throws
  /// IoError when it cannot be read, DataError naming FILE:LINE for a malformed line.
  explicit CorpusGenerator(const GenOptions& options);
  ~CorpusGenerator();
  CorpusGenerator(const CorpusGenerator&) = delete;
  CorpusGenerator& operator=(const CorpusGenerator&) = delete;

  /// Generate document `index` (without a trailing newline). The result points into `scratch`
  /// and stays valid until the next call with the same scratch.
  std::string_view Generate(uint64_t index, std::string* scratch) const;

  /// Chinese words available (0 for `--lang en`).
  size_t chinese_word_count() const;

 private:
  struct Tables;
  GenOptions options_;
  std::unique_ptr<const Tables> tables_;
};

class GenOperator : public Source {
 public:
  /// REQUIRES: options.bytes > 0 or options.docs > 0.
  explicit GenOperator(GenOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::optional<uint64_t> TotalBytes() const override;
  std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const override;

  const GenOptions& options() const { return options_; }

 private:
  GenOptions options_;
};

}  // namespace corpusflow
