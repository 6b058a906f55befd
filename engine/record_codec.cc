#include "engine/record_codec.h"

#include <cstring>

#include "engine/error.h"

namespace corpusflow {

RecordCodec RecordCodec::ForBatch(const Batch& batch) {
  std::vector<Field> fields;
  fields.reserve(batch.columns().size());
  for (const Column& c : batch.columns()) fields.push_back(c.field);
  return RecordCodec(Schema(std::move(fields)));
}

bool RecordCodec::Matches(const Batch& batch) const {
  const auto& fields = layout_.fields();
  if (batch.columns().size() != fields.size()) return false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!(batch.columns()[i].field == fields[i])) return false;
  }
  return true;
}

void RecordCodec::PrepareBatch(Batch* out) const {
  if (Matches(*out)) {
    out->ClearRecords();
    return;
  }
  out->Reset();
  for (const Field& f : layout_.fields()) {
    switch (f.type) {
      case FieldType::kString:
        out->AddString(f.name);
        break;
      case FieldType::kStringList:
        out->AddStringList(f.name);
        break;
      case FieldType::kInt32List:
        out->AddInt32List(f.name, f.vocab_size);
        break;
      case FieldType::kJsonMembers:
      case FieldType::kInt32ListList:
        out->AddField(f);
        break;
    }
  }
}

RecordEncoder::RecordEncoder(const Batch& batch) {
  columns_.reserve(batch.columns().size());
  for (const Column& c : batch.columns()) columns_.push_back(&c);
}

size_t RecordEncoder::EncodedSize(size_t i) const {
  size_t total = 0;
  for (const Column* column : columns_) {
    if (const auto* s = std::get_if<StringColumn>(&column->data)) {
      const size_t len = (*s)[i].size();
      total += VarintLength(len) + len;
    } else if (const auto* list = std::get_if<StringListColumn>(&column->data)) {
      const size_t items = list->ItemCount(i);
      total += VarintLength(items);
      for (size_t j = 0; j < items; ++j) {
        const size_t len = list->Item(i, j).size();
        total += VarintLength(len) + len;
      }
    } else if (const auto* lists = std::get_if<Int32ListListColumn>(&column->data)) {
      const size_t items = lists->ItemCount(i);
      total += VarintLength(items);
      for (size_t j = 0; j < items; ++j) {
        const size_t n = lists->Item(i, j).size();
        total += VarintLength(n) + n * sizeof(int32_t);
      }
    } else {
      const auto ids = std::get<Int32ListColumn>(column->data)[i];
      total += VarintLength(ids.size()) + ids.size() * sizeof(int32_t);
    }
  }
  return total;
}

char* RecordEncoder::Encode(size_t i, char* dst) const {
  for (const Column* column : columns_) {
    if (const auto* s = std::get_if<StringColumn>(&column->data)) {
      const std::string_view value = (*s)[i];
      dst = EncodeVarint64(dst, value.size());
      std::memcpy(dst, value.data(), value.size());
      dst += value.size();
    } else if (const auto* list = std::get_if<StringListColumn>(&column->data)) {
      const size_t items = list->ItemCount(i);
      dst = EncodeVarint64(dst, items);
      for (size_t j = 0; j < items; ++j) {
        const std::string_view item = list->Item(i, j);
        dst = EncodeVarint64(dst, item.size());
        std::memcpy(dst, item.data(), item.size());
        dst += item.size();
      }
    } else if (const auto* lists = std::get_if<Int32ListListColumn>(&column->data)) {
      const size_t items = lists->ItemCount(i);
      dst = EncodeVarint64(dst, items);
      for (size_t j = 0; j < items; ++j) {
        const auto ids = lists->Item(i, j);
        dst = EncodeVarint64(dst, ids.size());
        dst = EncodeFixed32Array(dst, ids.data(), ids.size());
      }
    } else {
      const auto ids = std::get<Int32ListColumn>(column->data)[i];
      dst = EncodeVarint64(dst, ids.size());
      dst = EncodeFixed32Array(dst, ids.data(), ids.size());
    }
  }
  return dst;
}

void RecordEncoder::Append(size_t i, std::string* out) const {
  const size_t old = out->size();
  out->resize(old + EncodedSize(i));
  Encode(i, out->data() + old);
}

RecordDecoder::RecordDecoder(Batch* out) {
  columns_.reserve(out->columns().size());
  for (Column& c : out->columns()) columns_.push_back(&c);
}

namespace {

[[noreturn]] void ThrowMalformed(const char* what) {
  throw CorruptionError(std::string("malformed record encoding: ") + what);
}

/// Read a varint length that must fit in the remaining bytes.
const char* GetLength(const char* p, const char* end, uint64_t* len, const char* what) {
  p = GetVarint64Ptr(p, end, len);
  if (p == nullptr) ThrowMalformed(what);
  return p;
}

}  // namespace

void RecordDecoder::DecodeAppend(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  for (Column* column : columns_) {
    uint64_t n = 0;
    if (auto* s = std::get_if<StringColumn>(&column->data)) {
      p = GetLength(p, end, &n, "truncated string length");
      if (n > static_cast<uint64_t>(end - p)) ThrowMalformed("string longer than the record");
      s->Append(std::string_view(p, n));
      p += n;
    } else if (auto* list = std::get_if<StringListColumn>(&column->data)) {
      p = GetLength(p, end, &n, "truncated item count");
      if (n > static_cast<uint64_t>(end - p)) ThrowMalformed("item count larger than the record");
      for (uint64_t j = 0; j < n; ++j) {
        uint64_t len = 0;
        p = GetLength(p, end, &len, "truncated item length");
        if (len > static_cast<uint64_t>(end - p)) ThrowMalformed("item longer than the record");
        list->AppendItem(std::string_view(p, len));
        p += len;
      }
      list->EndRecord();
    } else if (auto* lists = std::get_if<Int32ListListColumn>(&column->data)) {
      p = GetLength(p, end, &n, "truncated list count");
      if (n > static_cast<uint64_t>(end - p)) ThrowMalformed("list count larger than the record");
      auto& values = lists->values();
      for (uint64_t j = 0; j < n; ++j) {
        uint64_t count = 0;
        p = GetLength(p, end, &count, "truncated id count");
        if (count > static_cast<uint64_t>(end - p) / sizeof(int32_t)) {
          ThrowMalformed("id list longer than the record");
        }
        const size_t old = values.size();
        values.resize(old + count);
        DecodeFixed32Array(p, count, values.data() + old);
        p += count * sizeof(int32_t);
        lists->item_offsets().push_back(values.size());
      }
      lists->EndRecord();
    } else {
      auto& ids = std::get<Int32ListColumn>(column->data);
      p = GetLength(p, end, &n, "truncated id count");
      if (n > static_cast<uint64_t>(end - p) / sizeof(int32_t)) {
        ThrowMalformed("id list longer than the record");
      }
      auto& values = ids.values();
      const size_t old = values.size();
      values.resize(old + n);
      DecodeFixed32Array(p, n, values.data() + old);
      p += n * sizeof(int32_t);
      ids.EndRecord();
    }
  }
  if (p != end) ThrowMalformed("trailing bytes after the last field");
}

}  // namespace corpusflow
