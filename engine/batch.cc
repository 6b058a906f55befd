#include "engine/batch.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "engine/check.h"

namespace corpusflow {

void StringColumn::Reserve(size_t records, size_t bytes) {
  offsets_.reserve(records + 1);
  bytes_.reserve(bytes);
}

void StringColumn::Clear() {
  bytes_.clear();
  offsets_.resize(1);
}

size_t StringColumn::MemoryBytes() const {
  return bytes_.capacity() + offsets_.capacity() * sizeof(uint64_t);
}

void StringListColumn::Reserve(size_t records, size_t items, size_t bytes) {
  record_offsets_.reserve(records + 1);
  item_offsets_.reserve(items + 1);
  bytes_.reserve(bytes);
}

void StringListColumn::Clear() {
  bytes_.clear();
  item_offsets_.resize(1);
  record_offsets_.resize(1);
}

size_t StringListColumn::MemoryBytes() const {
  return bytes_.capacity() + (item_offsets_.capacity() + record_offsets_.capacity()) * 8;
}

void Int32ListColumn::Reserve(size_t records, size_t values) {
  offsets_.reserve(records + 1);
  values_.reserve(values);
}

void Int32ListColumn::Clear() {
  values_.clear();
  offsets_.resize(1);
}

size_t Int32ListColumn::MemoryBytes() const {
  return values_.capacity() * sizeof(int32_t) + offsets_.capacity() * sizeof(uint64_t);
}

void Int32ListListColumn::Reserve(size_t records, size_t items, size_t values) {
  record_offsets_.reserve(records + 1);
  item_offsets_.reserve(items + 1);
  values_.reserve(values);
}

void Int32ListListColumn::Clear() {
  values_.clear();
  item_offsets_.resize(1);
  record_offsets_.resize(1);
}

size_t Int32ListListColumn::MemoryBytes() const {
  return values_.capacity() * sizeof(int32_t) +
         (item_offsets_.capacity() + record_offsets_.capacity()) * sizeof(uint64_t);
}

size_t Column::size() const {
  return std::visit([](const auto& c) { return c.size(); }, data);
}
size_t Column::DataBytes() const {
  return std::visit([](const auto& c) { return c.DataBytes(); }, data);
}
size_t Column::MemoryBytes() const {
  return std::visit([](const auto& c) { return c.MemoryBytes(); }, data);
}
void Column::Clear() {
  std::visit([](auto& c) { c.Clear(); }, data);
}

namespace {
/// The column storage a field type uses (the alternative of Column::data).
int StorageOf(FieldType type) {
  switch (type) {
    case FieldType::kString:
    case FieldType::kJsonMembers:
      return 0;
    case FieldType::kStringList:
      return 1;
    case FieldType::kInt32List:
      return 2;
    case FieldType::kInt32ListList:
      return 3;
  }
  return -1;
}
}  // namespace

Column& Batch::AddField(const Field& field) {
  return AddColumn(field.name, field.type, field.vocab_size);
}

Column& Batch::AddColumn(std::string_view name, FieldType type, int64_t vocab_size) {
  for (Column& c : columns_) {
    if (c.field.name == name && c.field.type == type) {
      c.Clear();
      c.field.vocab_size = vocab_size;
      return c;
    }
  }
  Remove(name);
  // A spare column of the same storage keeps its capacity (a pooled batch refilled by a source
  // gets back the buffers its last trip's stages added): the one of the same name first, whose
  // capacity fits the field (a batch that a stage lays out anew, as pack does, takes back each
  // field's buffer rather than a smaller one that would grow).
  auto spare = std::find_if(spare_.begin(), spare_.end(), [&](const Column& c) {
    return c.field.name == name && StorageOf(c.field.type) == StorageOf(type);
  });
  if (spare == spare_.end()) {
    spare = std::find_if(spare_.begin(), spare_.end(), [&](const Column& c) {
      return StorageOf(c.field.type) == StorageOf(type);
    });
  }
  if (spare != spare_.end()) {
    Column column = std::move(*spare);
    spare_.erase(spare);
    column.field = Field{std::string(name), type, vocab_size};
    columns_.push_back(std::move(column));
    return columns_.back();
  }
  Column column;
  column.field = Field{std::string(name), type, vocab_size};
  switch (type) {
    case FieldType::kString:
    case FieldType::kJsonMembers:
      column.data = StringColumn();
      break;
    case FieldType::kStringList:
      column.data = StringListColumn();
      break;
    case FieldType::kInt32List:
      column.data = Int32ListColumn();
      break;
    case FieldType::kInt32ListList:
      column.data = Int32ListListColumn();
      break;
  }
  columns_.push_back(std::move(column));
  return columns_.back();
}

StringColumn& Batch::AddString(std::string_view name) {
  return std::get<StringColumn>(AddColumn(name, FieldType::kString, 0).data);
}
StringListColumn& Batch::AddStringList(std::string_view name) {
  return std::get<StringListColumn>(AddColumn(name, FieldType::kStringList, 0).data);
}
Int32ListColumn& Batch::AddInt32List(std::string_view name, int64_t vocab_size) {
  return std::get<Int32ListColumn>(AddColumn(name, FieldType::kInt32List, vocab_size).data);
}
Int32ListListColumn& Batch::AddInt32ListList(std::string_view name, int64_t vocab_size) {
  return std::get<Int32ListListColumn>(AddColumn(name, FieldType::kInt32ListList, vocab_size).data);
}

const Column* Batch::Find(std::string_view name) const {
  for (const Column& c : columns_) {
    if (c.field.name == name) return &c;
  }
  return nullptr;
}
Column* Batch::Find(std::string_view name) {
  for (Column& c : columns_) {
    if (c.field.name == name) return &c;
  }
  return nullptr;
}

namespace {
template <typename T, typename C>
auto& GetTyped(C* column, std::string_view name) {
  CF_CHECK(column != nullptr, "batch has no column '" + std::string(name) + "'");
  auto* typed = std::get_if<T>(&column->data);
  CF_CHECK(typed != nullptr, "column '" + std::string(name) + "' has type " +
                                 std::string(FieldTypeName(column->field.type)));
  return *typed;
}
}  // namespace

const StringColumn& Batch::GetString(std::string_view name) const {
  return GetTyped<StringColumn>(Find(name), name);
}
StringColumn& Batch::GetString(std::string_view name) {
  return GetTyped<StringColumn>(Find(name), name);
}
const StringListColumn& Batch::GetStringList(std::string_view name) const {
  return GetTyped<StringListColumn>(Find(name), name);
}
StringListColumn& Batch::GetStringList(std::string_view name) {
  return GetTyped<StringListColumn>(Find(name), name);
}
const Int32ListColumn& Batch::GetInt32List(std::string_view name) const {
  return GetTyped<Int32ListColumn>(Find(name), name);
}
Int32ListColumn& Batch::GetInt32List(std::string_view name) {
  return GetTyped<Int32ListColumn>(Find(name), name);
}
const Int32ListListColumn& Batch::GetInt32ListList(std::string_view name) const {
  return GetTyped<Int32ListListColumn>(Find(name), name);
}
Int32ListListColumn& Batch::GetInt32ListList(std::string_view name) {
  return GetTyped<Int32ListListColumn>(Find(name), name);
}

void Batch::Remove(std::string_view name) {
  for (auto it = columns_.begin(); it != columns_.end(); ++it) {
    if (it->field.name != name) continue;
    Spare(std::move(*it));
    columns_.erase(it);
    return;
  }
}

void Batch::Spare(Column column) {
  if (spare_.size() >= kMaxSpareColumns) return;  // freed
  column.Clear();
  spare_.push_back(std::move(column));
}

Schema Batch::schema() const {
  Schema s;
  for (const Column& c : columns_) s.Set(c.field);
  return s;
}

void Batch::ClearRecords() {
  for (Column& c : columns_) c.Clear();
  sequence_ = 0;
  first_record_ = 0;
  origin_ = 0;
}

void Batch::Reset() {
  for (Column& c : columns_) Spare(std::move(c));
  columns_.clear();
  sequence_ = 0;
  first_record_ = 0;
  origin_ = 0;
}

void Batch::Release() {
  columns_.clear();
  columns_.shrink_to_fit();
  spare_.clear();
  spare_.shrink_to_fit();
  sequence_ = 0;
  first_record_ = 0;
  origin_ = 0;
}

void Batch::CopyLayoutFrom(const Batch& other) {
  if (columns_.size() == other.columns_.size()) {
    bool same = true;
    for (size_t i = 0; i < columns_.size() && same; ++i) {
      same = columns_[i].field == other.columns_[i].field;
    }
    if (same) {
      ClearRecords();
      return;
    }
  }
  Reset();
  for (const Column& c : other.columns_) AddField(c.field);
}

void Column::AppendRecordFrom(const Column& src, size_t i) {
  std::visit(
      [&](auto& dst) {
        using T = std::decay_t<decltype(dst)>;
        const T& from = std::get<T>(src.data);
        if constexpr (std::is_same_v<T, StringListColumn> ||
                      std::is_same_v<T, Int32ListListColumn>) {
          const size_t n = from.ItemCount(i);
          for (size_t j = 0; j < n; ++j) dst.AppendItem(from.Item(i, j));
          dst.EndRecord();
        } else {
          dst.Append(from[i]);
        }
      },
      data);
}

void Batch::AppendRecordFrom(const Batch& src, size_t i) {
  for (size_t c = 0; c < columns_.size(); ++c) columns_[c].AppendRecordFrom(src.columns_[c], i);
}

namespace {

/// Keep, in place and in order, the spans of `data` whose flag is true; span i is
/// [offsets[i], offsets[i + 1]).
template <typename Buffer>
void KeepSpans(Buffer& data, std::vector<uint64_t>& offsets, const std::vector<bool>& keep) {
  using Value = typename Buffer::value_type;
  uint64_t write = 0;
  size_t out = 0;
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (!keep[i]) continue;
    const uint64_t begin = offsets[i], len = offsets[i + 1] - offsets[i];
    if (write != begin) std::memmove(data.data() + write, data.data() + begin, len * sizeof(Value));
    write += len;
    offsets[++out] = write;
  }
  data.resize(write);
  offsets.resize(out + 1);
}

}  // namespace

void Batch::KeepRecords(const std::vector<bool>& keep) {
  for (Column& column : columns_) {
    std::visit(
        [&](auto& col) {
          using T = std::decay_t<decltype(col)>;
          if constexpr (std::is_same_v<T, StringColumn>) {
            KeepSpans(col.bytes(), col.offsets(), keep);
          } else if constexpr (std::is_same_v<T, StringListColumn> ||
                               std::is_same_v<T, Int32ListListColumn>) {
            // The items of kept records, then the records' item counts.
            auto& records = col.record_offsets();
            std::vector<bool> keep_items(col.item_offsets().size() - 1, false);
            for (size_t i = 0; i + 1 < records.size(); ++i) {
              if (keep[i])
                std::fill(keep_items.begin() + records[i], keep_items.begin() + records[i + 1],
                          true);
            }
            if constexpr (std::is_same_v<T, StringListColumn>) {
              KeepSpans(col.bytes(), col.item_offsets(), keep_items);
            } else {
              KeepSpans(col.values(), col.item_offsets(), keep_items);
            }
            size_t out = 0;
            for (size_t i = 0; i + 1 < records.size(); ++i) {
              if (!keep[i]) continue;
              const uint64_t items = records[i + 1] - records[i];
              records[out + 1] = records[out] + items;
              ++out;
            }
            records.resize(out + 1);
          } else {
            KeepSpans(col.values(), col.offsets(), keep);
          }
        },
        column.data);
  }
}

size_t Batch::DataBytes() const {
  size_t total = 0;
  for (const Column& c : columns_) total += c.DataBytes();
  return total;
}

size_t Batch::MemoryBytes() const {
  size_t total = sizeof(Batch);
  for (const Column& c : columns_) total += c.MemoryBytes();
  for (const Column& c : spare_) total += c.MemoryBytes();
  return total;
}

}  // namespace corpusflow
