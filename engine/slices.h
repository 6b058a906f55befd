// Input slices: the division of a run's input into the units of work that ranks read
// (docs/scale-out.md), and the first half of a record's identity.
//
// The inputs of a run, in order, make one byte space (each file's bytes after the previous
// files'; a compressed file counts its compressed bytes, a stream such as stdin none). Slice k is
// the range [k * S, (k + 1) * S) of it, S the run's `--slice-bytes` (64 MiB by default): a record
// of a plain file belongs to the slice where its first byte lies, every record of a compressed file
// or stream to the slice where the file starts (such a file cannot be cut). The slices depend on
// the inputs and S alone, never on the number of ranks or threads.
//
// A record's identity is (slice << kSliceOrdinalBits) | its ordinal among the records of its
// slice as they reach the stage that asks for record numbers (Operator::NeedsRecordIndex): the
// executor numbers batches in order, and a source never puts records of two slices in one batch
// (Batch::origin). What depends on a record's identity (the shuffle's keys, gsg's and mlm's
// random draws) is therefore the same whichever rank reads the slice. A run whose input is one
// slice (under S bytes) numbers records 0, 1, 2, ... as before slices existed.
#pragma once

#include <cstdint>
#include <string>

namespace corpusflow {

/// Input bytes per slice by default (the run option `--slice-bytes`, ExecContext::slice_bytes).
inline constexpr uint64_t kDefaultSliceBytes = uint64_t{64} << 20;
/// The smallest `--slice-bytes`.
inline constexpr uint64_t kMinSliceBytes = 4096;
/// Bits of a record's identity that hold its ordinal within its slice (a trillion records).
inline constexpr int kSliceOrdinalBits = 40;

/// The slice of the byte at `offset` of the run's input byte space.
inline constexpr uint64_t SliceOf(uint64_t offset, uint64_t slice_bytes) {
  return offset / slice_bytes;
}
/// The identity of the first record of slice `slice` (Batch::origin of its batches).
inline constexpr uint64_t SliceOrigin(uint64_t slice) { return slice << kSliceOrdinalBits; }

/// A record's number for messages, 1-based: "N" for the records of slice 0 (the record's place
/// in the input, as before slices), "N of input slice K" for later ones.
std::string RecordNumberText(uint64_t identity);

}  // namespace corpusflow
