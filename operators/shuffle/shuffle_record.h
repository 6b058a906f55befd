// A record as the shuffle holds it in chunks and spill blocks: its sort key (u64 little-endian),
// varint(length), then the record's encoding (engine/record_codec.h). docs/spill_format.md
// describes the blocks around such records.
//
// Thread safety: pure functions over the bytes they are given.
#pragma once

#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/coding.h"
#include "engine/record_codec.h"
#include "operators/shuffle/shuffle_layout.h"

namespace corpusflow {

/// Store `key` in the first kShuffleKeyBytes bytes at `p`.
inline void PutShuffleKey(char* p, uint64_t key) { EncodeFixed64(p, key); }

/// The bytes the shuffle holds a record of `size` encoded bytes in: key, varint(size), encoding.
inline size_t ShuffleRecordBytes(size_t size) {
  return kShuffleKeyBytes + VarintLength(size) + size;
}

/// Write record `i` of `encoder`'s batch (its encoding `size` bytes, RecordEncoder::EncodedSize)
/// at `p` as the shuffle holds it, with `key` (ShuffleRecordBytes(size) bytes).
inline void PutShuffleRecord(char* p, uint64_t key, const RecordEncoder& encoder, size_t i,
                             size_t size) {
  PutShuffleKey(p, key);
  encoder.Encode(i, EncodeVarint64(p + kShuffleKeyBytes, size));
}

/// Append record `i` of `encoder`'s batch to `out` as PutShuffleRecord writes it; returns the
/// bytes appended.
inline size_t AppendShuffleRecord(std::string* out, uint64_t key, const RecordEncoder& encoder,
                                  size_t i, size_t size) {
  const size_t at = out->size();
  const size_t whole = ShuffleRecordBytes(size);
  out->resize(at + whole);
  PutShuffleRecord(out->data() + at, key, encoder, i, size);
  return whole;
}

/// Read the key stored at `p`.
inline uint64_t GetShuffleKey(const char* p) { return DecodeFixed64(p); }

/// Return the end of the record at `p` in [p, end), or null when it is malformed.
inline const char* ShuffleRecordEnd(const char* p, const char* end) {
  uint64_t length = 0;
  const char* after = end - p > static_cast<ptrdiff_t>(kShuffleKeyBytes)
                          ? GetVarint64Ptr(p + 8, end, &length)
                          : nullptr;
  if (after == nullptr || length > static_cast<uint64_t>(end - after)) return nullptr;
  return after + length;
}

/// A record indexed for sorting: its key and the record after it (varint(length) + encoding).
struct ShuffleIndexEntry {
  uint64_t key;
  const char* record;
};
static_assert(sizeof(ShuffleIndexEntry) == kShuffleIndexEntryBytes);

/// Append an entry for each record in [p, end) to `index`; false when one is malformed.
inline bool IndexShuffleRecords(const char* p, const char* end,
                                std::vector<ShuffleIndexEntry>& index) {
  while (p < end) {
    const char* next = ShuffleRecordEnd(p, end);
    if (next == nullptr) return false;
    index.push_back(ShuffleIndexEntry{GetShuffleKey(p), p + kShuffleKeyBytes});
    p = next;
  }
  return true;
}

/// Sort [first, last) by key (in parallel when there are many).
inline void SortShuffleIndex(std::vector<ShuffleIndexEntry>::iterator first,
                             std::vector<ShuffleIndexEntry>::iterator last) {
  auto by_key = [](const ShuffleIndexEntry& a, const ShuffleIndexEntry& b) {
    return a.key < b.key;
  };
  if (last - first < (1 << 16)) {
    std::sort(first, last, by_key);
  } else {
    tbb::parallel_sort(first, last, by_key);
  }
}

/// Decode the records of `index` from `*cursor` on into `out` (through `decoder`, made for it)
/// until `out` holds `batch_bytes` of data or the index ends; `*cursor` moves past them.
inline void DecodeShuffleIndex(const std::vector<ShuffleIndexEntry>& index, size_t* cursor,
                               uint64_t batch_bytes, RecordDecoder& decoder, const Batch& out) {
  while (*cursor < index.size() && out.DataBytes() < batch_bytes) {
    const char* record = index[(*cursor)++].record;
    uint64_t length = 0;
    const char* encoded = GetVarint64Ptr(record, record + kMaxVarint64Bytes, &length);
    decoder.DecodeAppend(std::string_view(encoded, length));
  }
}

}  // namespace corpusflow
