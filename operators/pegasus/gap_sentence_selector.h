// Gap-sentence selection of PEGASUS (Zhang et al. 2020; google-research/pegasus
// sentence_selection): which m of a document's n sentences become the summary target, with
// m = min(int(max(n * ratio, 1)), n) computed in float as the reference does (n = 0 gives 0).
// Strategies (reference names in parentheses):
//   kRandom      (random)            m distinct sentences uniformly at random;
//   kLead        (lead)              the first m;
//   kInd         (rouge)             score every sentence alone, F1(ref = document minus s_i,
//                                    cand = s_i); the m best by (score, index) descending, so
//                                    ties go to the higher index;
//   kSeq         (greedy_rouge)      m rounds, each adding the sentence that maximises
//                                    F1(ref = remaining minus s_i, cand = selected plus s_i);
//                                    ties (>=) go to the last index;
//   kContinuous  (continuous_rouge)  the window of m consecutive sentences with the best
//                                    F1(ref = rest, cand = window); ties go to the later window.
// Selected indices are returned in ascending order. ROUGE-1 F1 with Orig (multiset) or Uniq
// (clipped) counts comes from operators/rouge.h and is evaluated incrementally, so Seq costs
// O(m * tokens) per document instead of re-counting every candidate.
// Thread safety: a selector keeps scratch state; use one per worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/pegasus/gsg_random.h"
#include "operators/pegasus/rouge.h"

namespace corpusflow {

enum class GsgStrategy { kRandom, kLead, kInd, kSeq, kContinuous };

/// Parse random, lead, ind, seq, continuous (or the reference's rouge, greedy_rouge,
/// continuous_rouge); throws InvalidArgument.
GsgStrategy ParseGsgStrategy(std::string_view name);
std::string_view GsgStrategyName(GsgStrategy strategy);

/// The number of gap sentences for n sentences: min(int(max(n * ratio, 1.0f)), n) in float.
size_t GapSentenceCount(size_t n, float ratio);

class GapSentenceSelector {
 public:
  GapSentenceSelector(GsgStrategy strategy, RougeCounting counting, float ratio)
      : strategy_(strategy), counting_(counting), ratio_(ratio) {}

  /// Replace `*indices` with the selected sentences of `document`, ascending. `random` is used
  /// by kRandom only (may be null otherwise).
  void Select(const DocumentTokens& document, RecordRandom* random, std::vector<uint32_t>* indices);

  /// The ROUGE-1 F1 of each sentence alone against the rest of the document (Ind's scores).
  void IndependentScores(const DocumentTokens& document, std::vector<float>* scores);

 private:
  void SelectInd(const DocumentTokens& document, size_t m, std::vector<uint32_t>* indices);
  void SelectSeq(const DocumentTokens& document, size_t m, std::vector<uint32_t>* indices);
  void SelectContinuous(const DocumentTokens& document, size_t m, std::vector<uint32_t>* indices);

  GsgStrategy strategy_;
  RougeCounting counting_;
  float ratio_;
  RougeState state_;
  std::vector<std::pair<float, uint32_t>> ranked_;
  std::vector<float> scores_;
  std::vector<bool> chosen_;
};

}  // namespace corpusflow
