// MosaicML streaming's MDS format (Mosaic Data Shard), as its MDSWriter writes it and its
// StreamingDataset reads it: a folder holding shards `shard.00000.mds`, `shard.00001.mds`, ...
// and `index.json`, every integer little-endian.
//   shard:  u32 n (samples), u32 offsets[n + 1] (byte offset in the shard of each sample's
//           start, then of the end), the shard's configuration as JSON (json.dumps(.., sort_keys=
//           True): column_encodings, column_names, column_sizes, compression, format, hashes,
//           size_limit, version), then the samples;
//   sample: a u32 size for each variable-size column (here: all), in column order, then each
//           column's bytes in column order;
//   column `ndarray:int32` (a dtype, no fixed shape): one byte (ndim << 2 | shape dtype code:
//           0 uint8, 1 uint16, 2 uint32, 3 uint64, the smallest that holds the shape), the shape
//           in that dtype, then the values (int32). An empty array cannot be encoded.
//   index.json: {"shards": [each shard's configuration plus "raw_data": {"basename", "bytes",
//           "hashes": {}}, "samples", "zip_data": null], "version": 2}.
// Columns are sorted by name, as MDSWriter sorts them. A new shard starts when the next sample
// would make the shard larger than the size limit (counting 4 more bytes per sample and the
// header), as MDSWriter decides; a sample larger than the limit is a shard alone.
// docs/formats.md has a worked example. This file holds the encoding and a validating reader.
// Thread safety: pure functions; an MdsReader is used by one thread at a time.
// Errors: CorruptionError naming the file, the shard and the sample, IoError.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace corpusflow {

/// The encoding corpusflow writes for every column.
inline constexpr const char* kMdsInt32Encoding = "ndarray:int32";
/// MDSWriter's default size limit (1 << 26).
inline constexpr uint64_t kMdsDefaultSizeLimit = uint64_t{1} << 26;

/// `shard.%05d.mds`.
std::string MdsShardName(uint64_t shard);

/// The configuration JSON of a shard (and, with its counts, of its index.json entry) for
/// `columns` (sorted) all encoded as ndarray:int32.
std::string MdsConfigJson(const std::vector<std::string>& columns, uint64_t size_limit);
/// One entry of index.json's "shards".
std::string MdsShardEntryJson(const std::vector<std::string>& columns, uint64_t size_limit,
                              const std::string& basename, uint64_t bytes, uint64_t samples);
/// The index.json text for the `entries` (MdsShardEntryJson).
std::string MdsIndexJson(const std::vector<std::string>& entries);

/// Append the encoding of one int32 array (ndarray:int32) to `out`. REQUIRES: !values.empty().
void AppendMdsInt32Array(std::span<const int32_t> values, std::string* out);
/// The size of that encoding.
uint64_t MdsInt32ArraySize(size_t n);

/// A validating reader of an MDS folder written with ndarray:int32 (or int64/uint16/uint32/
/// uint8 arrays, and `int` scalars) columns.
class MdsReader {
 public:
  /// `name` is the folder or its index.json. Reads and checks index.json; throws
  /// CorruptionError for a malformed index, unsupported formats (compressed shards, non-MDS).
  explicit MdsReader(const std::string& name);

  const std::string& folder() const { return folder_; }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::string>& encodings() const { return encodings_; }
  uint64_t shards() const { return shards_.size(); }
  uint64_t samples() const { return samples_; }
  uint64_t shard_bytes() const;
  uint64_t size_limit() const { return size_limit_; }

  /// Call `fn(sample, columns)` for each sample in order, each column decoded to int64 values.
  /// Checks every shard's header, offsets and configuration against index.json and every
  /// sample's column sizes; throws CorruptionError naming the shard file and the sample.
  void ForEachSample(
      const std::function<void(uint64_t, const std::vector<std::vector<int64_t>>&)>& fn) const;

 private:
  struct Shard {
    std::string basename;
    uint64_t bytes = 0;
    uint64_t samples = 0;
  };
  std::string folder_;
  std::vector<std::string> columns_;
  std::vector<std::string> encodings_;
  std::vector<Shard> shards_;
  uint64_t samples_ = 0;
  uint64_t size_limit_ = 0;
};

}  // namespace corpusflow
