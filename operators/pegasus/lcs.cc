#include "operators/pegasus/lcs.h"

#include <algorithm>
#include <unordered_map>

namespace corpusflow {

size_t LcsLengthQuadratic(std::span<const uint32_t> a, std::span<const uint32_t> b) {
  if (a.size() < b.size()) std::swap(a, b);  // rows over the shorter one
  if (b.empty()) return 0;
  std::vector<uint32_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (const uint32_t x : a) {
    for (size_t j = 1; j <= b.size(); ++j) {
      current[j] = x == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

namespace {

/// Reads a sequence given in parts one symbol at a time.
class PartCursor {
 public:
  explicit PartCursor(SymbolParts parts) : parts_(parts) {}
  uint32_t Next() {
    while (offset_ >= parts_[part_].size()) {
      ++part_;
      offset_ = 0;
    }
    return parts_[part_][offset_++];
  }

 private:
  SymbolParts parts_;
  size_t part_ = 0;
  size_t offset_ = 0;
};

size_t TotalSize(SymbolParts parts) {
  size_t n = 0;
  for (const auto& p : parts) n += p.size();
  return n;
}

}  // namespace

size_t BitParallelLcs::Length(std::span<const uint32_t> a, std::span<const uint32_t> b,
                              uint32_t alphabet_size) {
  const std::span<const uint32_t> a_parts[1] = {a};
  const std::span<const uint32_t> b_parts[1] = {b};
  return Length(SymbolParts(a_parts), SymbolParts(b_parts), alphabet_size);
}

size_t BitParallelLcs::Length(SymbolParts a, SymbolParts b, uint32_t alphabet_size) {
  SymbolParts pattern = a, text = b;
  size_t m = TotalSize(a), text_size = TotalSize(b);
  if (m > text_size) {
    std::swap(pattern, text);
    std::swap(m, text_size);
  }
  if (m == 0) return 0;
  const size_t total_words = (m + 63) / 64;
  const size_t stripes = (total_words + kStripeWords - 1) / kStripeWords;
  if (stripes > 1) carries_.assign(text_size, 0);
  PartCursor cursor(pattern);
  size_t lcs = 0;
  for (size_t stripe = 0; stripe < stripes; ++stripe) {
    const size_t bits = std::min(m - stripe * kStripeWords * 64, kStripeWords * 64);
    const size_t words = (bits + 63) / 64;
    const size_t needed = static_cast<size_t>(alphabet_size) * words;
    if (match_.size() < needed) match_.resize(needed, 0);
    const PartCursor stripe_start = cursor;
    for (size_t j = 0; j < bits; ++j) {
      match_[cursor.Next() * words + j / 64] |= uint64_t{1} << (j % 64);
    }
    column_.assign(words, ~uint64_t{0});
    uint64_t* v = column_.data();
    const uint64_t* match = match_.data();
    if (stripes == 1 && words == 1) {
      uint64_t v0 = v[0];
      for (const auto& part : text) {
        for (const uint32_t symbol : part) {
          const uint64_t u = v0 & match[symbol];
          v0 = (v0 + u) | (v0 - u);
        }
      }
      v[0] = v0;
    } else {
      const bool first = stripe == 0, last = stripe + 1 == stripes;
      size_t t = 0;
      for (const auto& part : text) {
        for (const uint32_t symbol : part) {
          const uint64_t* pm = match + static_cast<size_t>(symbol) * words;
          uint64_t carry = first ? 0 : carries_[t];
          for (size_t w = 0; w < words; ++w) {
            const uint64_t x = v[w];
            const uint64_t u = x & pm[w];
            const uint64_t partial = x + u;
            const uint64_t sum = partial + carry;
            carry = static_cast<uint64_t>(partial < x) | static_cast<uint64_t>(sum < partial);
            v[w] = sum | (x - u);
          }
          if (!last) carries_[t] = static_cast<uint8_t>(carry);
          ++t;
        }
      }
    }
    // Zero bits of the column (within this stripe's bits) count the LCS.
    size_t ones = 0;
    for (size_t w = 0; w + 1 < words; ++w) ones += static_cast<size_t>(__builtin_popcountll(v[w]));
    const size_t tail_bits = bits - (words - 1) * 64;
    const uint64_t tail_mask = tail_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << tail_bits) - 1;
    ones += static_cast<size_t>(__builtin_popcountll(v[words - 1] & tail_mask));
    lcs += bits - ones;
    PartCursor clear = stripe_start;
    for (size_t j = 0; j < bits; ++j) match_[clear.Next() * words + j / 64] = 0;
  }
  return lcs;
}

size_t LcsLength(std::span<const char32_t> a, std::span<const char32_t> b) {
  std::unordered_map<char32_t, uint32_t> ids;
  std::vector<uint32_t> ia, ib;
  ia.reserve(a.size());
  ib.reserve(b.size());
  for (const char32_t c : a) ia.push_back(ids.try_emplace(c, ids.size()).first->second);
  for (const char32_t c : b) ib.push_back(ids.try_emplace(c, ids.size()).first->second);
  BitParallelLcs lcs;
  return lcs.Length(ia, ib, static_cast<uint32_t>(ids.size()));
}

}  // namespace corpusflow
