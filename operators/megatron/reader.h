// MegatronDatasetReader: a validating reader of one Megatron indexed dataset (format.h). Opening
// checks the magic, version, dtype code and that the `.idx` size is exactly what the header
// implies, and that the `.bin` file exists; deeper checks (pointers against lengths, document
// indices, the `.bin` size) stream through ForEachSequenceChunk / ForEachDocumentChunk. Reads use
// pread, no mmap: memory stays at the caller's chunk size.
// Thread safety: the const methods only pread, so one reader may be shared by threads; errors
// are corpusflow::Error subclasses naming the file (and the entry for corrupt indexes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/io/file.h"
#include "operators/megatron/format.h"

namespace corpusflow {

/// A validating reader of one dataset.
class MegatronDatasetReader {
 public:
  /// Open `prefix.idx` and `prefix.bin`. Throws IoError (missing/unreadable) or CorruptionError
  /// (bad magic, version, dtype, truncated or oversized index).
  explicit MegatronDatasetReader(std::string prefix);
  ~MegatronDatasetReader();
  MegatronDatasetReader(const MegatronDatasetReader&) = delete;
  MegatronDatasetReader& operator=(const MegatronDatasetReader&) = delete;

  const std::string& prefix() const { return prefix_; }
  const std::string& idx_path() const { return idx_path_; }
  const std::string& bin_path() const { return bin_path_; }
  const MegatronIndexHeader& header() const { return header_; }
  MegatronDType dtype() const { return header_.dtype; }
  uint64_t sequences() const { return header_.sequence_count; }
  uint64_t documents() const { return header_.documents(); }
  uint64_t bin_bytes() const { return bin_bytes_; }

  /// Read `out.size()` entries starting at `first`. REQUIRES: first + out.size() <= count.
  void ReadLengths(uint64_t first, std::span<int32_t> out) const;
  void ReadPointers(uint64_t first, std::span<int64_t> out) const;
  void ReadDocumentIndices(uint64_t first, std::span<int64_t> out) const;
  /// Read sequence `i` as integers, checking its pointer and length against the `.bin` size.
  /// Throws CorruptionError, or DataError for float dtypes.
  void ReadSequence(uint64_t i, std::vector<int64_t>* ids) const;
  /// Read `n` raw bytes of the `.bin` at `offset`. Throws CorruptionError past its end.
  void ReadBin(uint64_t offset, std::span<char> out) const;

  /// Walk all sequences in chunks of `chunk` entries, verifying that every length is >= 0,
  /// that every pointer equals the sum of the previous lengths times the dtype size, and that
  /// the sequences end exactly at the end of the `.bin`. `visit(first, lengths, pointers)`.
  /// Throws CorruptionError naming the file and entry.
  void ForEachSequenceChunk(const std::function<void(uint64_t, std::span<const int32_t>,
                                                     std::span<const int64_t>)>& visit,
                            size_t chunk = 1 << 16) const;
  /// Walk the document index in chunks, verifying that it starts at 0, never decreases and ends
  /// at S. `visit(first, entries)`.
  void ForEachDocumentChunk(const std::function<void(uint64_t, std::span<const int64_t>)>& visit,
                            size_t chunk = 1 << 16) const;

 private:
  std::string prefix_;
  std::string idx_path_;
  std::string bin_path_;
  File idx_;
  File bin_;
  MegatronIndexHeader header_;
  uint64_t bin_bytes_ = 0;
};

}  // namespace corpusflow
