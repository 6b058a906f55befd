// `pseudo-summary`: the pre-training pairs of T5 PEGASUS (ZhuiyiTechnology/t5-pegasus train.py),
// with exactly the reference's results:
//   1. chunking, bert4keras text_segmentate(text, 32, "\n。"): strip whitespace (Python's
//      str.isspace()); a text of <= 32 code points, or with no separator left to try, is one
//      chunk; otherwise split it on the first separator and fill buffers piece by piece (a piece
//      keeps its separator, except the last), starting a new buffer when buffer and piece are
//      both non-empty and together longer than 31; every buffer is segmented again with the
//      remaining separators. Chunks are therefore ~32 code points, and may be empty strings;
//   2. grouping: chunks are added to a group until the next one would bring it over 768 code
//      points while it already has >= 3 chunks; a final group with < 3 chunks is dropped;
//   3. greedy selection per group: move to the target, one at a time, the chunk i that maximises
//      LCS(join(source - i), join(sorted(target + i))) (the first on ties), until one source
//      chunk is left or len(target) / len(source) > 0.25; swap the two when the source is
//      shorter. Output: src = remaining chunks, tgt = selected chunks, each in document order.
// One output record per group; the input text field is replaced, other fields are copied into
// every pair. A document without a group is dropped and counted ("fewer than 3 chunks"). Where
// the reference would divide by zero (source chunks left but all empty), selection stops.
// Invalid UTF-8 follows operators/utf8_internal.h: a bad byte is one code point, kept as is.
// Lengths and LCS are over Unicode code points. LCS is bit-parallel (operators/lcs.h); the hidden
// option --lcs quadratic uses the textbook table, for benchmarks and tests.
// Thread safety: the operator is immutable; PseudoSummarizer is per-worker scratch.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/operator.h"
#include "operators/pegasus/lcs.h"

namespace corpusflow {

enum class LcsAlgorithm { kBitParallel, kQuadratic };

/// A range of code points [begin, end) of a decoded text.
struct CodePointRange {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t size() const { return end - begin; }
  bool operator==(const CodePointRange&) const = default;
};

/// bert4keras text_segmentate(text, maxlen, seps) on decoded text: appends the chunks of
/// text[range] to `*chunks` as ranges of `text` (stripped; possibly empty). REQUIRES: maxlen >= 1.
void SegmentText(std::span<const char32_t> text, CodePointRange range, size_t maxlen,
                 std::u32string_view separators, std::vector<CodePointRange>* chunks);

/// The T5 PEGASUS grouping: appends [first, last) chunk-index ranges of the groups to `*groups`
/// and returns how many chunks at the end belong to no group.
size_t GroupChunks(std::span<const CodePointRange> chunks, size_t group_chars, size_t min_chunks,
                   std::vector<std::pair<uint32_t, uint32_t>>* groups);

/// The result of the greedy selection on one group: chunk indices within the group, ascending.
struct PseudoSummaryPair {
  std::vector<uint32_t> source;
  std::vector<uint32_t> target;
  /// The source was shorter than the target, so they were exchanged.
  bool swapped = false;
};

/// Greedy LCS selection. Holds scratch buffers: one per worker.
class PseudoSummarizer {
 public:
  explicit PseudoSummarizer(double summary_rate = 0.25,
                            LcsAlgorithm algorithm = LcsAlgorithm::kBitParallel)
      : summary_rate_(summary_rate), algorithm_(algorithm) {}

  /// Select the target chunks of a group. `chunks` are sequences of dense symbol ids below
  /// `alphabet_size` (code points mapped one to one). When `rounds` is given, it receives the
  /// LCS of every candidate (in source order) of every round.
  void Select(std::span<const std::span<const uint32_t>> chunks, uint32_t alphabet_size,
              PseudoSummaryPair* pair, std::vector<std::vector<size_t>>* rounds = nullptr);

  /// The same on chunks given as code points (maps them to ids first).
  void Select(const std::vector<std::u32string>& chunks, PseudoSummaryPair* pair,
              std::vector<std::vector<size_t>>* rounds = nullptr);

 private:
  double summary_rate_;
  LcsAlgorithm algorithm_;
  BitParallelLcs lcs_;
  std::vector<uint32_t> source_;
  std::vector<uint32_t> candidate_source_;
  std::vector<uint32_t> candidate_target_;
  std::vector<uint32_t> source_offsets_;
  std::vector<size_t> similarities_;
};

struct PseudoSummaryOptions {
  std::string field = "text";
  std::string src = "src";
  std::string tgt = "tgt";
  size_t chunk_chars = 32;
  std::u32string separators = U"\n\u3002";
  size_t group_chars = 768;
  size_t min_chunks = 3;
  double summary_rate = 0.25;
  LcsAlgorithm lcs = LcsAlgorithm::kBitParallel;
  bool keep_input = false;
};

class PseudoSummaryOperator : public Transform {
 public:
  /// Checks option ranges; throws InvalidArgument.
  explicit PseudoSummaryOperator(PseudoSummaryOptions options);

  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const PseudoSummaryOptions& options() const { return options_; }

 private:
  PseudoSummaryOptions options_;
};

/// Parse a separator list: every code point is one separator; the escapes \n, \t, \r and \\ are
/// understood. Throws InvalidArgument when empty or not UTF-8.
std::u32string ParseSeparators(std::string_view text);

}  // namespace corpusflow
