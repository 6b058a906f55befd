// `vocab -o vocab.txt --size N`: a sink that builds a WordPiece vocabulary for the T5 PEGASUS
// tokenizer from a corpus, deterministically, and writes it as vocab.txt.
// Counting (per record, on the text normalised as the tokenizer does: lowercase, NFD, accents
// stripped): every jieba word (cut HMM=False) of two or more characters counts once as a whole
// word, and every word of the BERT basic tokenizer inside it counts its first character as a
// piece "c" and each following character as "##c" (so CJK characters, punctuation and the
// pieces WordPiece needs for the words left out are all candidates).
// Layout: [PAD]=0, [unused1]..[unused99]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103
// (BERT's ids), then the most frequent candidates (count >= --min-frequency), by count
// descending and ties by token bytes ascending, until the file has N lines.
// Memory: counts live in per-worker hash tables within the run's breaker memory budget; a table
// that outgrows its share is written to a spill file as a sorted run and the runs are merged at
// the end, so the result is exact and identical for any thread count and budget.
// Across MPI ranks (docs/scale-out.md) each rank counts its share of the input as above, then the
// ranks sum their counts token by token in rounds of bounded messages (every token's total is
// exact, nothing is pruned), and rank 0 writes the vocabulary: the same bytes for any number of
// ranks as one process.
// Thread safety: the operator is immutable; the run gives each worker its own table and
// synchronises the spill runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

/// The reserved head of every vocabulary `vocab` writes: [PAD], [unused1..99], [UNK], [CLS],
/// [SEP], [MASK] (104 tokens, BERT's ids).
const std::vector<std::string>& VocabSpecialTokens();

struct VocabOptions {
  /// vocab.txt to write.
  std::string output;
  /// Lines of the vocabulary, special tokens included.
  size_t size = 50000;
  std::string field = "text";
  /// Empty = the default jieba dictionary.
  std::string dict_path;
  std::vector<std::string> user_dict_paths;
  uint64_t min_frequency = 1;
};

class VocabOperator : public Sink {
 public:
  /// Throws InvalidArgument for a size that leaves no room after the special tokens.
  explicit VocabOperator(VocabOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::vector<std::string> InputPaths() const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;
  /// Its counts of every record make one file, which tasks' parts cannot join.
  std::string TaskLimit() const override {
    return "the vocabulary counts the whole input at once and is not resumable yet (build it "
           "in a run of its own)";
  }

  const VocabOptions& options() const { return options_; }

 private:
  VocabOptions options_;
};

}  // namespace corpusflow
