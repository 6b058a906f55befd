// Columnar batches of records. A Batch holds a few MB of records as named columns; each column
// is a handful of contiguous buffers plus offsets, so 10^5 records cost a few allocations:
//   string       bytes + offsets                       (text, src, tgt)
//   string-list  bytes + item offsets + record offsets (tokens, sentences)
//   int32-list   values + offsets                      (src_ids, tgt_ids)
//   int32-list-list values + item offsets + record offsets (sentences_ids: ids per sentence)
//   json-members bytes + offsets, like string          (read --all-fields: one JSON object each)
// A batch carries a sequence number (order restored after parallel stages) and the ordinal of
// its first record in the stream (set by the executor for stages that ask for it).
// Thread safety: a Batch is owned by one stage at a time; no internal synchronisation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/schema.h"

namespace corpusflow {

/// One string per record: all bytes concatenated, record i is bytes[offsets[i], offsets[i+1]).
class StringColumn {
 public:
  size_t size() const { return offsets_.size() - 1; }
  std::string_view operator[](size_t i) const {
    return std::string_view(bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  void Append(std::string_view s) {
    bytes_.append(s);
    offsets_.push_back(bytes_.size());
  }
  /// Close a record whose bytes were appended to bytes() directly.
  void EndRecord() { offsets_.push_back(bytes_.size()); }
  void Reserve(size_t records, size_t bytes);
  void Clear();
  /// Bytes of string data (without offsets).
  size_t DataBytes() const { return bytes_.size(); }
  /// Memory held, capacity included.
  size_t MemoryBytes() const;

  std::string& bytes() { return bytes_; }
  const std::string& bytes() const { return bytes_; }
  std::vector<uint64_t>& offsets() { return offsets_; }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  std::string bytes_;
  std::vector<uint64_t> offsets_{0};
};

/// A list of strings per record: record r holds items [record_offsets[r], record_offsets[r+1]),
/// item j is bytes[item_offsets[j], item_offsets[j+1]).
class StringListColumn {
 public:
  size_t size() const { return record_offsets_.size() - 1; }
  size_t ItemCount(size_t record) const {
    return record_offsets_[record + 1] - record_offsets_[record];
  }
  std::string_view Item(size_t record, size_t j) const {
    const size_t item = record_offsets_[record] + j;
    return std::string_view(bytes_.data() + item_offsets_[item],
                            item_offsets_[item + 1] - item_offsets_[item]);
  }
  /// Append an item to the record being built; EndRecord() closes it.
  void AppendItem(std::string_view s) {
    bytes_.append(s);
    item_offsets_.push_back(bytes_.size());
  }
  void EndRecord() { record_offsets_.push_back(item_offsets_.size() - 1); }
  void Reserve(size_t records, size_t items, size_t bytes);
  void Clear();
  size_t DataBytes() const { return bytes_.size(); }
  size_t MemoryBytes() const;

  std::string& bytes() { return bytes_; }
  const std::string& bytes() const { return bytes_; }
  std::vector<uint64_t>& item_offsets() { return item_offsets_; }
  const std::vector<uint64_t>& item_offsets() const { return item_offsets_; }
  std::vector<uint64_t>& record_offsets() { return record_offsets_; }
  const std::vector<uint64_t>& record_offsets() const { return record_offsets_; }

 private:
  std::string bytes_;
  std::vector<uint64_t> item_offsets_{0};
  std::vector<uint64_t> record_offsets_{0};
};

/// A list of int32 values per record (token ids).
class Int32ListColumn {
 public:
  size_t size() const { return offsets_.size() - 1; }
  std::span<const int32_t> operator[](size_t i) const {
    return std::span<const int32_t>(values_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  void Append(std::span<const int32_t> ids) {
    values_.insert(values_.end(), ids.begin(), ids.end());
    offsets_.push_back(values_.size());
  }
  /// Append one value to the record being built; EndRecord() closes it.
  void AppendValue(int32_t v) { values_.push_back(v); }
  void EndRecord() { offsets_.push_back(values_.size()); }
  void Reserve(size_t records, size_t values);
  void Clear();
  size_t DataBytes() const { return values_.size() * sizeof(int32_t); }
  size_t MemoryBytes() const;

  std::vector<int32_t>& values() { return values_; }
  const std::vector<int32_t>& values() const { return values_; }
  std::vector<uint64_t>& offsets() { return offsets_; }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  std::vector<int32_t> values_;
  std::vector<uint64_t> offsets_{0};
};

/// A list of int32 lists per record (the token ids of each sentence of a document): record r
/// holds items [record_offsets[r], record_offsets[r+1]), item j is values[item_offsets[j],
/// item_offsets[j+1]).
class Int32ListListColumn {
 public:
  size_t size() const { return record_offsets_.size() - 1; }
  size_t ItemCount(size_t record) const {
    return record_offsets_[record + 1] - record_offsets_[record];
  }
  std::span<const int32_t> Item(size_t record, size_t j) const {
    const size_t item = record_offsets_[record] + j;
    return std::span<const int32_t>(values_.data() + item_offsets_[item],
                                    item_offsets_[item + 1] - item_offsets_[item]);
  }
  /// Append an item to the record being built; EndRecord() closes it.
  void AppendItem(std::span<const int32_t> ids) {
    values_.insert(values_.end(), ids.begin(), ids.end());
    item_offsets_.push_back(values_.size());
  }
  void EndRecord() { record_offsets_.push_back(item_offsets_.size() - 1); }
  void Reserve(size_t records, size_t items, size_t values);
  void Clear();
  size_t DataBytes() const { return values_.size() * sizeof(int32_t); }
  size_t MemoryBytes() const;

  std::vector<int32_t>& values() { return values_; }
  const std::vector<int32_t>& values() const { return values_; }
  std::vector<uint64_t>& item_offsets() { return item_offsets_; }
  const std::vector<uint64_t>& item_offsets() const { return item_offsets_; }
  std::vector<uint64_t>& record_offsets() { return record_offsets_; }
  const std::vector<uint64_t>& record_offsets() const { return record_offsets_; }

 private:
  std::vector<int32_t> values_;
  std::vector<uint64_t> item_offsets_{0};
  std::vector<uint64_t> record_offsets_{0};
};

/// A named column: its field description and its data.
struct Column {
  Field field;
  std::variant<StringColumn, StringListColumn, Int32ListColumn, Int32ListListColumn> data;

  size_t size() const;
  size_t DataBytes() const;
  size_t MemoryBytes() const;
  void Clear();
  /// Append record `i` of `src`. REQUIRES: `src` has this column's type.
  void AppendRecordFrom(const Column& src, size_t i);
};

/// A batch of records stored column by column.
class Batch {
 public:
  /// Order of this batch in its stream (0, 1, 2, ... from the source).
  uint64_t sequence() const { return sequence_; }
  void set_sequence(uint64_t s) { sequence_ = s; }
  /// Ordinal of record 0 in the stream at the current stage. Valid only in stages whose
  /// operator asks for it (Operator::NeedsRecordIndex); the executor numbers batches in order.
  uint64_t first_record() const { return first_record_; }
  void set_first_record(uint64_t r) { first_record_ = r; }
  /// Where the executor's numbering of this batch's records starts when the batch before it had
  /// another origin: a source sets the identity of its slice's first record (engine/slices.h),
  /// so record numbers are (slice, ordinal in slice); 0 by default.
  uint64_t origin() const { return origin_; }
  void set_origin(uint64_t origin) { origin_ = origin; }

  /// Records in the batch (all columns have this many). 0 when there are no columns.
  size_t num_records() const { return columns_.empty() ? 0 : columns_.front().size(); }
  bool empty() const { return num_records() == 0; }

  /// Add an empty column, or clear and return the existing one of that name and type.
  /// The reference is invalidated by adding another column: add all columns first, then fill.
  StringColumn& AddString(std::string_view name);
  StringListColumn& AddStringList(std::string_view name);
  Int32ListColumn& AddInt32List(std::string_view name, int64_t vocab_size = 0);
  Int32ListListColumn& AddInt32ListList(std::string_view name, int64_t vocab_size = 0);
  /// Add an empty column of `field`'s name, type and vocabulary size (as the three above).
  Column& AddField(const Field& field);

  /// Column lookups. The typed getters fail a CF_CHECK (abort) when the column is missing or of
  /// another type: the planner's schema check makes that a programming error.
  const Column* Find(std::string_view name) const;
  Column* Find(std::string_view name);
  const StringColumn& GetString(std::string_view name) const;
  StringColumn& GetString(std::string_view name);
  const StringListColumn& GetStringList(std::string_view name) const;
  StringListColumn& GetStringList(std::string_view name);
  const Int32ListColumn& GetInt32List(std::string_view name) const;
  Int32ListColumn& GetInt32List(std::string_view name);
  const Int32ListListColumn& GetInt32ListList(std::string_view name) const;
  Int32ListListColumn& GetInt32ListList(std::string_view name);
  void Remove(std::string_view name);

  std::vector<Column>& columns() { return columns_; }
  const std::vector<Column>& columns() const { return columns_; }
  Schema schema() const;

  /// Empty every column, keeping columns and their capacity (for reuse from a pool).
  void ClearRecords();
  /// Drop all columns. Their buffers stay with the batch as spares (a few at most), which later
  /// Add* calls of the same storage take back: a pooled batch that a source lays out anew keeps
  /// the capacity the stages after it grew (a tokenizer's ids), instead of allocating (and
  /// faulting in) megabytes for every batch.
  void Reset();
  /// Drop all columns and spares, giving their memory back.
  void Release();
  /// Make this batch an empty batch with the same columns (names, types, metadata) as `other`.
  void CopyLayoutFrom(const Batch& other);
  /// Append record `i` of `src`. REQUIRES: same columns in the same order (CopyLayoutFrom).
  void AppendRecordFrom(const Batch& src, size_t i);
  /// Keep only the records whose flag is true (a stable, in-place compaction).
  void KeepRecords(const std::vector<bool>& keep);

  /// Bytes of record data (strings and ids), the figure counters report.
  size_t DataBytes() const;
  /// Memory held by the batch, capacity and spare columns included.
  size_t MemoryBytes() const;

 private:
  static constexpr size_t kMaxSpareColumns = 8;
  Column& AddColumn(std::string_view name, FieldType type, int64_t vocab_size);
  /// Keep `column`, emptied, for a later AddColumn of its storage (or free it when enough are
  /// kept).
  void Spare(Column column);

  uint64_t sequence_ = 0;
  uint64_t first_record_ = 0;
  uint64_t origin_ = 0;
  std::vector<Column> columns_;
  std::vector<Column> spare_;
};

}  // namespace corpusflow
