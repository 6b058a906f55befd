// Serialisation of whole records of any Batch layout, for spill files. A record is encoded field by
// field in the order of the layout (the batch's columns):
//   string       varint(length) bytes
//   string-list  varint(items) { varint(length) bytes }*
//   int32-list   varint(count) { int32 little-endian }*
// Varints are unsigned LEB128. The encoding is not self-describing: the reader needs the same
// layout (the spill files of one run share it). A RecordCodec is immutable and thread-safe; its
// RecordEncoder / RecordDecoder views bind to one batch and belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/batch.h"
#include "engine/schema.h"

namespace corpusflow {

/// Bytes of the LEB128 encoding of `v` (1 to 10).
inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Write `v` as LEB128 at `dst`; returns the byte after it.
inline char* PutVarint(char* dst, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}

/// Read a LEB128 value from [p, end); returns the byte after it, or nullptr when the varint is
/// truncated or longer than 10 bytes.
inline const char* GetVarint(const char* p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

/// The record layout shared by every batch of a stream: its fields, in column order.
class RecordCodec {
 public:
  RecordCodec() = default;
  explicit RecordCodec(Schema layout) : layout_(std::move(layout)) {}

  /// The layout of `batch` (its columns in order).
  static RecordCodec ForBatch(const Batch& batch);

  const Schema& layout() const { return layout_; }
  /// Whether `batch` has exactly this layout (same fields, same order).
  bool Matches(const Batch& batch) const;
  /// Make `out` an empty batch with this layout, reusing its buffers when it already has it.
  void PrepareBatch(Batch* out) const;

 private:
  Schema layout_;
};

/// Encodes the records of one batch. REQUIRES: the batch matches the codec's layout.
class RecordEncoder {
 public:
  explicit RecordEncoder(const Batch& batch);
  /// Bytes of the encoding of record `i`.
  size_t EncodedSize(size_t i) const;
  /// Write the encoding of record `i` at `dst` (EncodedSize(i) bytes); returns the byte after it.
  char* Encode(size_t i, char* dst) const;
  /// Append the encoding of record `i` to `out`.
  void Append(size_t i, std::string* out) const;

 private:
  std::vector<const Column*> columns_;
};

/// Decodes records into one batch. REQUIRES: the batch has the codec's layout (PrepareBatch).
class RecordDecoder {
 public:
  explicit RecordDecoder(Batch* out);
  /// Decode one record that occupies exactly `data` and append it to the batch. Throws
  /// CorruptionError when `data` is not a well-formed encoding for this layout.
  void DecodeAppend(std::string_view data);

 private:
  std::vector<Column*> columns_;
};

}  // namespace corpusflow
