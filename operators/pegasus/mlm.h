// `mlm`: the masked-LM noise of PEGASUS (and BERT) on a token-id field. Tokens are grouped into
// whole words (a vocabulary tells which pieces continue a word: `##x` for WordPiece, or pieces
// without the `▁` word-start mark for SentencePiece; without a vocabulary every token is a word),
// special tokens excluded. ratio * words (at least 1) words are picked uniformly at random and all
// their tokens become prediction targets: with probability --mask-prob (0.8) each picked word's
// tokens become --mask-id, with --random-prob (0.1) each token becomes a random id from
// [--special-below, vocab size), else they stay unchanged. A labels field (default `mlm_ids`)
// holds the original id at every target position and --ignore-label (0, the reference's
// padding) elsewhere, as google-research/pegasus's mlm_ids.
// Special tokens: ids below --special-below, --mask-id itself, and with a vocabulary every token
// written [LIKE_THIS] or <like_this>; they are never picked nor drawn as random ids.
// --id-offset N reads the vocabulary by the ids of `tokenize --id-offset N` (PEGASUS: lines 0 and
// 1 keep their ids, line k >= 2 is id k + N; ids 2 .. N+1 are special). A vocabulary file whose
// ids (lines + N) differ from the field's vocabulary size is refused at plan time: its line k
// would not be id k, and the whole words would silently come out wrong.
// Draws derive from (seed, record ordinal): the same output for any thread count.
// The operator is immutable; a run loads the vocabulary once and shares it read-only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

struct MlmOptions {
  std::string field = "src_ids";
  /// Labels field; empty = none.
  std::string labels = "mlm_ids";
  float ratio = 0.15f;
  double mask_prob = 0.8;
  double random_prob = 0.1;
  int32_t mask_id = -1;
  /// 0 = the field's vocabulary size (or the vocabulary file's).
  int64_t vocab_size = 0;
  int32_t special_below = 0;
  int32_t ignore_label = 0;
  /// One token per line (text before a tab), line k = id k (shifted by id_offset).
  std::string vocab;
  /// PEGASUS' id offset of the ids (tokenize --id-offset): vocabulary line k >= 2 is id k +
  /// id_offset, and ids 2 .. id_offset+1 are special.
  int32_t id_offset = 0;
  std::string continuation_prefix = "##";
  /// When set, pieces that do NOT start with it continue a word (SentencePiece's "▁").
  std::string word_start_prefix;
  uint64_t seed = 0;
};

/// Whole words of a token-id sequence for masking.
class WholeWordSegmenter {
 public:
  /// `tokens`: the vocabulary by id, shifted by options.id_offset when it is set
  /// (ShiftVocabTokens); may be empty: every token is a word.
  WholeWordSegmenter(const std::vector<std::string>& tokens, const MlmOptions& options);
  /// Whether `id` is special (never masked, never a random replacement).
  bool IsSpecial(int32_t id) const;
  /// Replace `*words` with [begin, end) position ranges of the words of `ids`.
  void Segment(std::span<const int32_t> ids,
               std::vector<std::pair<uint32_t, uint32_t>>* words) const;

 private:
  bool IsContinuation(int32_t id) const;

  int32_t special_below_;
  int32_t mask_id_;
  int32_t id_offset_;
  std::vector<uint8_t> kind_;  // per id: 0 word start, 1 continuation, 2 special
};

class MlmOperator : public Transform {
 public:
  /// Checks option ranges and counts the ids of --vocab; throws InvalidArgument, IoError.
  explicit MlmOperator(MlmOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return true; }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  MlmOptions options_;
  /// The ids of the vocabulary file (its lines plus the offset); 0 without one.
  int64_t vocab_ids_ = 0;
};

}  // namespace corpusflow
