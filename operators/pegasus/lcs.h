// Length of the longest common subsequence (LCS) of two symbol sequences, the similarity that the
// T5 PEGASUS pseudo-summary maximises (pylcs.lcs on code points).
//   - BitParallelLcs: the bit-vector algorithm of Allison and Dix (1986) in Hyyrö's form (2004):
//     one column of the DP table is a bit vector of |pattern| bits, 64 cells per machine word,
//     updated per text symbol with one add-with-carry, an and, an and-not and an or per word.
//     O(|text| * ceil(|pattern| / 64)) time.
//   - LcsLengthQuadratic: the textbook O(|a| * |b|) table (two rows), kept as the reference the
//     tests compare with and for the benchmark (`pseudo-summary --lcs quadratic`).
// Both give the same length for every input. Symbols are dense ids (0 .. alphabet_size - 1) so
// the match table is a flat array; LcsLength() maps arbitrary code points first. A sequence may be
// given as several parts (spans read one after the other), so callers that compare
// concatenations of chunks need not copy them. Long patterns are processed in stripes of 1024
// bits, with the carries between stripes kept per text symbol, so the match table stays small.
// Thread safety: a BitParallelLcs holds scratch buffers and belongs to one thread at a time; the
// free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace corpusflow {

/// LCS length by the O(|a| * |b|) dynamic programme (two rows of the table).
size_t LcsLengthQuadratic(std::span<const uint32_t> a, std::span<const uint32_t> b);

/// A sequence given as parts read one after the other.
using SymbolParts = std::span<const std::span<const uint32_t>>;

/// LCS length of sequences of dense symbol ids, 64 DP cells per word.
class BitParallelLcs {
 public:
  /// LCS length of `a` and `b`. The shorter sequence becomes the bit vector.
  /// REQUIRES: every symbol < alphabet_size.
  size_t Length(std::span<const uint32_t> a, std::span<const uint32_t> b, uint32_t alphabet_size);
  /// The same for sequences given in parts.
  size_t Length(SymbolParts a, SymbolParts b, uint32_t alphabet_size);

 private:
  /// Words of one stripe of the pattern.
  static constexpr size_t kStripeWords = 16;

  /// Match masks of the current stripe: bit j of row s is set when the stripe's pattern[j] == s;
  /// rows of `words` words. All zero between calls (each stripe clears what it set).
  std::vector<uint64_t> match_;
  std::vector<uint64_t> column_;
  /// Carry out of the previous stripe at every text position.
  std::vector<uint8_t> carries_;
};

/// LCS length of two code point sequences (any values): maps them to dense ids, then
/// BitParallelLcs.
size_t LcsLength(std::span<const char32_t> a, std::span<const char32_t> b);

}  // namespace corpusflow
