#include "operators/megatron/reader.h"

#include <fcntl.h>

#include <algorithm>
#include <stdexcept>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "operators/megatron/file_internal.h"

namespace corpusflow {

using megatron_internal::PReadExactly;

MegatronDatasetReader::MegatronDatasetReader(std::string prefix)
    : prefix_(std::move(prefix)),
      idx_path_(MegatronIdxPath(prefix_)),
      bin_path_(MegatronBinPath(prefix_)) {
  idx_ = File::Open(idx_path_, O_RDONLY);
  const uint64_t idx_bytes = idx_.Size();
  if (idx_bytes < kMegatronHeaderBytes) {
    throw CorruptionError(idx_path_ + ": truncated index: " + std::to_string(idx_bytes) +
                          " bytes, shorter than the 34-byte header");
  }
  char head[kMegatronHeaderBytes];
  PReadExactly(idx_, 0, head, sizeof head);
  header_ = DecodeMegatronIndexHeader(head, idx_path_);
  // Bound the counts by the file size before computing the expected size (no overflow).
  const uint64_t body = idx_bytes - kMegatronHeaderBytes;
  const bool plausible =
      header_.sequence_count <= body / 12 && header_.document_index_count <= body / 8;
  if (!plausible || header_.IndexFileBytes() != idx_bytes) {
    const std::string counts = "the header says " + std::to_string(header_.sequence_count) +
                               " sequences and " + std::to_string(header_.document_index_count) +
                               " document index entries";
    if (!plausible || header_.IndexFileBytes() > idx_bytes) {
      throw CorruptionError(idx_path_ + ": truncated index: " + std::to_string(idx_bytes) +
                            " bytes, but " + counts +
                            (plausible ? " (" + std::to_string(header_.IndexFileBytes()) + " bytes)"
                                       : std::string()));
    }
    throw CorruptionError(
        idx_path_ + ": index has " + std::to_string(idx_bytes - header_.IndexFileBytes()) +
        " bytes after its end (" + counts + "); multimodal indexes are not supported");
  }
  if (header_.document_index_count == 0) {
    throw CorruptionError(idx_path_ + ": the document index is empty (it must start with 0)");
  }
  bin_ = File::Open(bin_path_, O_RDONLY);
  bin_bytes_ = bin_.Size();
}

MegatronDatasetReader::~MegatronDatasetReader() = default;

void MegatronDatasetReader::ReadLengths(uint64_t first, std::span<int32_t> out) const {
  if (first + out.size() > header_.sequence_count) throw std::out_of_range("ReadLengths");
  PReadExactly(idx_, kMegatronHeaderBytes + 4 * first, out.data(), out.size_bytes());
}

void MegatronDatasetReader::ReadPointers(uint64_t first, std::span<int64_t> out) const {
  if (first + out.size() > header_.sequence_count) throw std::out_of_range("ReadPointers");
  PReadExactly(idx_, kMegatronHeaderBytes + 4 * header_.sequence_count + 8 * first, out.data(),
               out.size_bytes());
}

void MegatronDatasetReader::ReadDocumentIndices(uint64_t first, std::span<int64_t> out) const {
  if (first + out.size() > header_.document_index_count) {
    throw std::out_of_range("ReadDocumentIndices");
  }
  PReadExactly(idx_, kMegatronHeaderBytes + 12 * header_.sequence_count + 8 * first, out.data(),
               out.size_bytes());
}

void MegatronDatasetReader::ReadBin(uint64_t offset, std::span<char> out) const {
  if (offset > bin_bytes_ || out.size() > bin_bytes_ - offset) {
    throw CorruptionError(bin_path_ + ": read of " + std::to_string(out.size()) +
                          " bytes at offset " + std::to_string(offset) + " is past its end (" +
                          std::to_string(bin_bytes_) + " bytes)");
  }
  PReadExactly(bin_, offset, out.data(), out.size());
}

void MegatronDatasetReader::ReadSequence(uint64_t i, std::vector<int64_t>* ids) const {
  if (!IsIntegerMegatronDType(header_.dtype)) {
    throw DataError(idx_path_ + ": dtype " + std::string(MegatronDTypeName(header_.dtype)) +
                    " does not hold token ids");
  }
  int32_t length = 0;
  int64_t pointer = 0;
  ReadLengths(i, std::span<int32_t>(&length, 1));
  ReadPointers(i, std::span<int64_t>(&pointer, 1));
  if (length < 0 || pointer < 0) {
    throw CorruptionError(idx_path_ + ": sequence " + std::to_string(i) + " has length " +
                          std::to_string(length) + " and pointer " + std::to_string(pointer));
  }
  const size_t element = MegatronDTypeSize(header_.dtype);
  const uint64_t bytes = static_cast<uint64_t>(length) * element;
  if (static_cast<uint64_t>(pointer) > bin_bytes_ ||
      bytes > bin_bytes_ - static_cast<uint64_t>(pointer)) {
    throw CorruptionError(idx_path_ + ": sequence " + std::to_string(i) + " (" +
                          std::to_string(length) + " tokens at byte " + std::to_string(pointer) +
                          ") ends past the end of " + bin_path_ + " (" +
                          std::to_string(bin_bytes_) + " bytes)");
  }
  std::vector<char> raw(bytes);
  ReadBin(static_cast<uint64_t>(pointer), raw);
  ids->resize(static_cast<size_t>(length));
  const char* p = raw.data();
  for (int32_t j = 0; j < length; ++j, p += element) {
    (*ids)[static_cast<size_t>(j)] = LoadMegatronId(header_.dtype, p);
  }
}

void MegatronDatasetReader::ForEachSequenceChunk(
    const std::function<void(uint64_t, std::span<const int32_t>, std::span<const int64_t>)>& visit,
    size_t chunk) const {
  std::vector<int32_t> lengths(chunk);
  std::vector<int64_t> pointers(chunk);
  const uint64_t element = MegatronDTypeSize(header_.dtype);
  uint64_t expected = 0;
  for (uint64_t first = 0; first < header_.sequence_count; first += chunk) {
    CheckInterrupt();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, header_.sequence_count - first));
    ReadLengths(first, std::span<int32_t>(lengths.data(), n));
    ReadPointers(first, std::span<int64_t>(pointers.data(), n));
    for (size_t j = 0; j < n; ++j) {
      if (lengths[j] < 0) {
        throw CorruptionError(idx_path_ + ": sequence " + std::to_string(first + j) +
                              " has a negative length " + std::to_string(lengths[j]));
      }
      if (pointers[j] < 0 || static_cast<uint64_t>(pointers[j]) != expected) {
        throw CorruptionError(idx_path_ + ": sequence " + std::to_string(first + j) +
                              " starts at byte " + std::to_string(pointers[j]) +
                              " but the lengths before it end at byte " + std::to_string(expected));
      }
      expected += static_cast<uint64_t>(lengths[j]) * element;
    }
    visit(first, std::span<const int32_t>(lengths.data(), n),
          std::span<const int64_t>(pointers.data(), n));
  }
  if (expected != bin_bytes_) {
    throw CorruptionError(bin_path_ + ": the index describes " + std::to_string(expected) +
                          " bytes of tokens but the file has " + std::to_string(bin_bytes_) +
                          (expected > bin_bytes_ ? " (truncated .bin?)" : ""));
  }
}

void MegatronDatasetReader::ForEachDocumentChunk(
    const std::function<void(uint64_t, std::span<const int64_t>)>& visit, size_t chunk) const {
  std::vector<int64_t> entries(chunk);
  const auto sequences = static_cast<int64_t>(header_.sequence_count);
  int64_t previous = 0;
  for (uint64_t first = 0; first < header_.document_index_count; first += chunk) {
    CheckInterrupt();
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(chunk, header_.document_index_count - first));
    ReadDocumentIndices(first, std::span<int64_t>(entries.data(), n));
    for (size_t j = 0; j < n; ++j) {
      const uint64_t k = first + j;
      const int64_t v = entries[j];
      if (k == 0 && v != 0) {
        throw CorruptionError(idx_path_ + ": the document index starts with " + std::to_string(v) +
                              " instead of 0");
      }
      if (v < previous || v > sequences) {
        throw CorruptionError(idx_path_ + ": document index entry " + std::to_string(k) + " is " +
                              std::to_string(v) + " (previous " + std::to_string(previous) + ", " +
                              std::to_string(sequences) + " sequences)");
      }
      previous = v;
    }
    visit(first, std::span<const int64_t>(entries.data(), n));
  }
  if (previous != sequences) {
    throw CorruptionError(idx_path_ + ": the document index ends at " + std::to_string(previous) +
                          " but there are " + std::to_string(sequences) + " sequences");
  }
}

}  // namespace corpusflow
