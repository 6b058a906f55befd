#include "operators/tokenize/hf_unigram.h"

#include <algorithm>
#include <limits>

#include "engine/error.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

/// HF's K_UNK_PENALTY.
constexpr double kUnknownPenalty = 10.0;

}  // namespace

HfUnigram::HfUnigram(const std::vector<std::pair<std::string, int32_t>>& tokens,
                     const HfUnigramConfig& config)
    : ids_(tokens),
      scores_(config.scores),
      byte_fallback_(config.byte_fallback),
      byte_ids_(256, -1) {
  double min_score = std::numeric_limits<double>::infinity();
  for (const double score : scores_) min_score = std::min(min_score, score);
  unk_score_ = min_score - kUnknownPenalty;
  if (config.unk_id) unk_ = *config.unk_id;
  for (int b = 0; b < 256; ++b) {
    static const char* digits = "0123456789ABCDEF";
    const std::string name = std::string("<0x") + digits[b >> 4] + digits[b & 15] + ">";
    byte_ids_[b] = ids_.Find(name).value_or(-1);
  }
}

size_t HfUnigram::Encode(std::string_view piece, std::vector<int32_t>* ids) const {
  struct Node {
    double score = 0;
    int64_t start = -1;
    int32_t id = 0;
  };
  thread_local std::vector<Node> best;
  thread_local std::vector<std::pair<size_t, size_t>> spans;  // [begin, end) of each token
  const size_t n = piece.size();
  best.assign(n + 1, Node{});
  for (size_t start = 0; start < n;) {
    const double base = best[start].score;
    char32_t cp;
    const int decoded = DecodeUtf8(piece.data() + start, piece.data() + n, &cp);
    const size_t char_length = static_cast<size_t>(decoded < 0 ? -decoded : decoded);
    bool single = false;
    for (size_t length = 1; length <= ids_.longest() && start + length <= n; ++length) {
      const std::optional<int32_t> id = ids_.Find(piece.substr(start, length));
      if (!id) continue;
      Node& target = best[start + length];
      const double candidate = scores_[static_cast<size_t>(*id)] + base;
      if (target.start < 0 || candidate > target.score) {
        target = Node{candidate, static_cast<int64_t>(start), *id};
      }
      if (length == char_length) single = true;
    }
    if (!single) {
      if (!unk_) {
        throw DataError("the Unigram model has no unk_id, and a character needs it");
      }
      Node& target = best[start + char_length];
      const double candidate = unk_score_ + base;
      if (target.start < 0 || candidate > target.score) {
        target = Node{candidate, static_cast<int64_t>(start), *unk_};
      }
    }
    start += char_length;
  }
  // Back from the end; adjacent unknown tokens fuse.
  spans.clear();
  bool fusing = false;
  for (size_t end = n; end > 0;) {
    const Node& node = best[end];
    const auto start = static_cast<size_t>(node.start);
    const bool unknown = unk_ && node.id == *unk_;
    if (unknown && fusing) {
      spans.back().first = start;
    } else {
      spans.push_back({start, end});
    }
    fusing = unknown;
    end = start;
  }
  size_t unknown_count = 0;
  for (size_t k = spans.size(); k-- > 0;) {
    const std::string_view text = piece.substr(spans[k].first, spans[k].second - spans[k].first);
    if (const std::optional<int32_t> id = ids_.Find(text)) {
      ids->push_back(*id);
      unknown_count += unk_ && *id == *unk_ ? 1 : 0;
      continue;
    }
    if (byte_fallback_ && std::all_of(text.begin(), text.end(), [&](char c) {
          return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      for (const char c : text) ids->push_back(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (!unk_) throw DataError("the Unigram model has no unk_id, and a character needs it");
    ids->push_back(*unk_);
    ++unknown_count;
  }
  return unknown_count;
}

}  // namespace corpusflow
