// Serialisation of whole records of any Batch layout, for spill files. A record is encoded field by
// field in the order of the layout (the batch's columns):
//   string       varint(length) bytes   (json-members likewise)
//   string-list  varint(items) { varint(length) bytes }*
//   int32-list   varint(count) { int32 little-endian }*
//   int32-list-list varint(lists) { varint(count) { int32 little-endian }* }*
// Varints and fixed-width integers are engine/coding.h's. The encoding is not self-describing: the
// reader needs the same layout (the spill files of one run share it). A RecordCodec is immutable
// and thread-safe; its RecordEncoder / RecordDecoder views bind to one batch and belong to one
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/batch.h"
#include "engine/coding.h"
#include "engine/schema.h"

namespace corpusflow {

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
