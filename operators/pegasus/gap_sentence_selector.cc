#include "operators/pegasus/gap_sentence_selector.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>

#include "engine/error.h"

namespace corpusflow {

GsgStrategy ParseGsgStrategy(std::string_view name) {
  if (name == "random") return GsgStrategy::kRandom;
  if (name == "lead") return GsgStrategy::kLead;
  if (name == "ind" || name == "rouge") return GsgStrategy::kInd;
  if (name == "seq" || name == "greedy_rouge") return GsgStrategy::kSeq;
  if (name == "continuous" || name == "continuous_rouge") return GsgStrategy::kContinuous;
  throw InvalidArgument("--strategy must be random, lead, ind, seq or continuous, not '" +
                        std::string(name) + "'");
}

std::string_view GsgStrategyName(GsgStrategy strategy) {
  switch (strategy) {
    case GsgStrategy::kRandom:
      return "random";
    case GsgStrategy::kLead:
      return "lead";
    case GsgStrategy::kInd:
      return "ind";
    case GsgStrategy::kSeq:
      return "seq";
    case GsgStrategy::kContinuous:
      return "continuous";
  }
  return "?";
}

size_t GapSentenceCount(size_t n, float ratio) {
  if (n == 0) return 0;
  const float scaled = static_cast<float>(n) * ratio;
  const auto m = static_cast<size_t>(std::max(scaled, 1.0f));
  return std::min(m, n);
}

void GapSentenceSelector::Select(const DocumentTokens& document, RecordRandom* random,
                                 std::vector<uint32_t>* indices) {
  indices->clear();
  const size_t n = document.sentences().size();
  const size_t m = GapSentenceCount(n, ratio_);
  if (m == 0) return;
  switch (strategy_) {
    case GsgStrategy::kRandom: {
      indices->resize(n);
      std::iota(indices->begin(), indices->end(), 0u);
      for (size_t k = 0; k < m; ++k) {
        const size_t j = k + static_cast<size_t>(random->Below(n - k));
        std::swap((*indices)[k], (*indices)[j]);
      }
      indices->resize(m);
      std::sort(indices->begin(), indices->end());
      break;
    }
    case GsgStrategy::kLead:
      indices->resize(m);
      std::iota(indices->begin(), indices->end(), 0u);
      break;
    case GsgStrategy::kInd:
      SelectInd(document, m, indices);
      break;
    case GsgStrategy::kSeq:
      SelectSeq(document, m, indices);
      break;
    case GsgStrategy::kContinuous:
      SelectContinuous(document, m, indices);
      break;
  }
}

void GapSentenceSelector::IndependentScores(const DocumentTokens& document,
                                            std::vector<float>* scores) {
  state_.Reset(document, counting_);
  scores->clear();
  for (const TokenCounts& s : document.sentences()) scores->push_back(state_.ScoreIfSelected(s));
}

void GapSentenceSelector::SelectInd(const DocumentTokens& document, size_t m,
                                    std::vector<uint32_t>* indices) {
  IndependentScores(document, &scores_);
  ranked_.clear();
  for (size_t i = 0; i < scores_.size(); ++i) {
    ranked_.emplace_back(scores_[i], static_cast<uint32_t>(i));
  }
  // (score, index) descending: equal scores rank the higher index first, as the reference's
  // std::sort with std::greater<> on (float, int) pairs.
  std::sort(ranked_.begin(), ranked_.end(), std::greater<>());
  for (size_t k = 0; k < m; ++k) indices->push_back(ranked_[k].second);
  std::sort(indices->begin(), indices->end());
}

void GapSentenceSelector::SelectSeq(const DocumentTokens& document, size_t m,
                                    std::vector<uint32_t>* indices) {
  const auto& sentences = document.sentences();
  state_.Reset(document, counting_);
  chosen_.assign(sentences.size(), false);
  for (size_t round = 0; round < m; ++round) {
    float best_score = -1.0f;
    size_t best = sentences.size();
    for (size_t i = 0; i < sentences.size(); ++i) {
      if (chosen_[i]) continue;
      const float score = state_.ScoreIfSelected(sentences[i]);
      if (score >= best_score) {
        best_score = score;
        best = i;
      }
    }
    if (best == sentences.size()) break;
    chosen_[best] = true;
    state_.Select(sentences[best]);
    indices->push_back(static_cast<uint32_t>(best));
  }
  std::sort(indices->begin(), indices->end());
}

void GapSentenceSelector::SelectContinuous(const DocumentTokens& document, size_t m,
                                           std::vector<uint32_t>* indices) {
  const auto& sentences = document.sentences();
  const size_t n = sentences.size();
  state_.Reset(document, counting_);
  for (size_t i = 0; i < m; ++i) state_.Select(sentences[i]);
  float best_score = -1.0f;
  size_t best_start = 0;
  for (size_t start = 0; start + m <= n; ++start) {
    if (start > 0) {
      state_.Unselect(sentences[start - 1]);
      state_.Select(sentences[start + m - 1]);
    }
    const float score = state_.Score();
    if (score >= best_score) {
      best_score = score;
      best_start = start;
    }
  }
  for (size_t k = 0; k < m; ++k) indices->push_back(static_cast<uint32_t>(best_start + k));
}

}  // namespace corpusflow
