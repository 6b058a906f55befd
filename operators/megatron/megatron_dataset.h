// Megatron indexed datasets ("MMIDIDX"): a `.bin` file of token ids and an `.idx` file of
// sequence lengths, byte offsets and document boundaries, byte-compatible with Megatron-LM's
// reader (REFERENCE.md section 5, docs/megatron.md). This file holds the format and three
// facilities built on it:
//   MegatronDatasetWriter  streams sequences to `PREFIX.bin.tmp` / `PREFIX.idx.tmp` in bounded
//                          memory (lengths go straight into the index file, document indices to
//                          a scratch file) and renames both on Publish();
//   MegatronDatasetReader  opens a dataset, validates the header against the file sizes, and
//                          reads index entries and sequences by chunks (pread, no mmap);
//   MegatronMerger         concatenates datasets by streaming, verifying every index entry.
// Thread safety: none of these objects is synchronised; each is used by one thread at a time.
// Errors are corpusflow::Error subclasses naming the file (and the entry for corrupt indexes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

/// The `.idx` magic: "MMIDIDX" followed by two NUL bytes.
inline constexpr std::string_view kMegatronIndexMagic{"MMIDIDX\0\0", 9};
inline constexpr uint64_t kMegatronIndexVersion = 1;
/// Bytes before the sequence lengths: magic, version, dtype code, sequence and document counts.
inline constexpr uint64_t kMegatronHeaderBytes = 34;
/// Megatron picks uint16 for vocabularies smaller than this, int32 otherwise.
inline constexpr int64_t kMegatronUInt16VocabLimit = 65500;

/// Element type of the `.bin` file; the values are Megatron's dtype codes.
enum class MegatronDType : uint8_t {
  kUInt8 = 1,
  kInt8 = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kFloat64 = 6,
  kFloat32 = 7,
  kUInt16 = 8,
};

/// Whether `code` is one of the dtype codes above.
bool IsValidMegatronDTypeCode(uint8_t code);
/// "uint16", "int32", ...
std::string_view MegatronDTypeName(MegatronDType dtype);
/// Bytes per element.
size_t MegatronDTypeSize(MegatronDType dtype);
/// Whether token ids can be read from the type (integer dtypes).
bool IsIntegerMegatronDType(MegatronDType dtype);
/// Megatron's choice: uint16 when 0 < vocab_size < 65500, int32 otherwise (also when unknown).
MegatronDType MegatronDTypeForVocabSize(int64_t vocab_size);

/// Granularity of the sequences of a dataset (the last word of its file names).
enum class MegatronLevel { kDocument, kSentence };
/// "document" or "sentence".
std::string_view MegatronLevelName(MegatronLevel level);

/// `{output_prefix}_{field}_{document|sentence}`: the prefix of one field's dataset.
std::string MegatronDatasetPrefix(std::string_view output_prefix, std::string_view field,
                                  MegatronLevel level);
/// `prefix + ".bin"` and `prefix + ".idx"`.
std::string MegatronBinPath(std::string_view prefix);
std::string MegatronIdxPath(std::string_view prefix);
/// A dataset prefix from what a user typed: "x", "x.idx" and "x.bin" all give "x".
std::string NormalizeMegatronPrefix(std::string_view path);

/// The fixed-size head of an `.idx` file.
struct MegatronIndexHeader {
  uint64_t version = kMegatronIndexVersion;
  MegatronDType dtype = MegatronDType::kInt32;
  /// S: number of sequences.
  uint64_t sequence_count = 0;
  /// D: entries of the document index, i.e. documents + 1 (the leading 0).
  uint64_t document_index_count = 1;

  uint64_t documents() const { return document_index_count - 1; }
  /// The exact `.idx` size this header implies: 34 + 12 S + 8 D.
  uint64_t IndexFileBytes() const;
};

/// A sequential writer of one dataset. Sequences are appended in order; EndDocument() closes
/// the current document (a document may hold zero sequences). Memory use is a few fixed
/// buffers, whatever the size of the dataset. Destroying the writer before Publish() removes
/// every file it created.
class MegatronDatasetWriter {
 public:
  static constexpr size_t kDefaultBufferBytes = 4 << 20;

  /// Create `prefix.bin.tmp`, `prefix.idx.tmp` and a scratch file for document indices in
  /// `scratch_dir`. `buffer_bytes` is the `.bin` write buffer; the index and scratch files get
  /// an eighth of it each (at least 16 KiB). Throws IoError.
  MegatronDatasetWriter(std::string prefix, MegatronDType dtype,
                        const std::filesystem::path& scratch_dir,
                        size_t buffer_bytes = kDefaultBufferBytes);
  ~MegatronDatasetWriter();
  MegatronDatasetWriter(const MegatronDatasetWriter&) = delete;
  MegatronDatasetWriter& operator=(const MegatronDatasetWriter&) = delete;

  /// Append one sequence: `ids` followed by `tail` (e.g. an end-of-document id).
  /// REQUIRES: every id fits the dtype (callers check, naming the record); dtype uint16 or
  /// int32.
  void AddSequence(std::span<const int32_t> ids, std::span<const int32_t> tail = {});
  /// Close the current document.
  void EndDocument();
  /// Complete both files under their `.tmp` names: compute the pointers, append the document
  /// index, write the counts into the header. No sequence may be added afterwards.
  void Finalize();
  /// Rename the `.tmp` files to their final names (`.bin` first). REQUIRES: Finalize().
  void Publish();
  /// Finalize() and Publish().
  void Commit() {
    Finalize();
    Publish();
  }

  const std::string& prefix() const { return prefix_; }
  MegatronDType dtype() const { return dtype_; }
  uint64_t sequences() const { return sequences_; }
  /// Documents closed so far.
  uint64_t documents() const { return documents_; }
  uint64_t tokens() const { return tokens_; }
  uint64_t bin_bytes() const { return tokens_ * MegatronDTypeSize(dtype_); }

 private:
  class File;

  std::string prefix_;
  MegatronDType dtype_;
  std::unique_ptr<File> bin_;
  std::unique_ptr<File> idx_;
  std::unique_ptr<File> documents_file_;
  uint64_t sequences_ = 0;
  uint64_t documents_ = 0;
  /// Sequences covered by closed documents.
  uint64_t last_document_end_ = 0;
  uint64_t tokens_ = 0;
  bool finalized_ = false;
  bool published_ = false;
};

/// A validating reader of one dataset. Open() checks the magic, version, dtype code and that
/// the `.idx` size is exactly what the header implies, and that the `.bin` file exists; deeper
/// checks (pointers against lengths, document indices) stream through ForEachSequenceChunk /
/// ForEachDocumentChunk. Reads use pread: memory stays at the caller's chunk size.
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
  int idx_fd_ = -1;
  int bin_fd_ = -1;
  MegatronIndexHeader header_;
  uint64_t bin_bytes_ = 0;
};

/// The datasets that `name` designates: the dataset `name` itself when `name.idx` exists
/// (after NormalizeMegatronPrefix), otherwise every `name_*_document` / `name_*_sentence`
/// dataset (the output of `write-megatron name`), sorted. Empty when there is none.
std::vector<std::string> FindMegatronDatasets(std::string_view name);

/// Figures of one dataset, gathered by streaming (InspectMegatronDataset).
struct MegatronDatasetStats {
  uint64_t tokens = 0;
  int32_t min_length = 0;
  int32_t max_length = 0;
  uint64_t empty_sequences = 0;
  /// Bucket 0: empty sequences; bucket b >= 1: lengths in [2^(b-1), 2^b).
  std::vector<uint64_t> length_histogram;
  uint64_t min_sequences_per_document = 0;
  uint64_t max_sequences_per_document = 0;
  uint64_t documents_without_sequences = 0;
  /// Whether the `.bin` was scanned for the id range (the fields below).
  bool scanned_tokens = false;
  int64_t min_id = 0;
  int64_t max_id = -1;
  /// Ids < 0 or >= the vocabulary size (when one was given).
  uint64_t ids_out_of_range = 0;
  /// The sequence holding the first such id.
  uint64_t first_out_of_range_sequence = 0;
};

/// Verify the whole index (ForEachSequenceChunk, ForEachDocumentChunk) and gather figures;
/// with `scan_tokens`, also read the whole `.bin` for the id range, counting ids outside
/// [0, vocab_size) when vocab_size > 0. Throws CorruptionError on a damaged dataset.
MegatronDatasetStats InspectMegatronDataset(const MegatronDatasetReader& reader, bool scan_tokens,
                                            int64_t vocab_size);

/// What a merge wrote.
struct MegatronMergeSummary {
  MegatronDType dtype = MegatronDType::kInt32;
  uint64_t sequences = 0;
  uint64_t documents = 0;
  uint64_t bin_bytes = 0;
};

/// A merge of datasets into one, in two steps so that several merges can be committed together:
/// Write() streams everything into `OUT.bin.tmp` / `OUT.idx.tmp`, Publish() renames them. The
/// `.bin` files are appended and pointers and document indices offset, exactly as Megatron's
/// builder merges shards; memory is constant and every input entry is verified as it is copied.
/// Destroying the merger before Publish() removes its `.tmp` files.
class MegatronMerger {
 public:
  /// Open and check every input (headers, sizes, equal dtypes) before anything is written.
  /// Throws InvalidArgument (no inputs, the output is an input), DataError (dtypes differ),
  /// CorruptionError or IoError.
  MegatronMerger(std::string output_prefix, const std::vector<std::string>& input_prefixes);
  ~MegatronMerger();
  MegatronMerger(const MegatronMerger&) = delete;
  MegatronMerger& operator=(const MegatronMerger&) = delete;

  /// The totals of the output (known once the inputs are open).
  const MegatronMergeSummary& summary() const { return summary_; }
  const std::string& output_prefix() const { return output_prefix_; }
  /// Write the merged dataset under `.tmp` names. Throws CorruptionError (a damaged input) or
  /// IoError.
  void Write();
  /// Rename the `.tmp` files (`.bin` first). REQUIRES: Write().
  void Publish();

 private:
  std::string output_prefix_;
  std::vector<std::unique_ptr<MegatronDatasetReader>> inputs_;
  MegatronMergeSummary summary_;
  bool written_ = false;
  bool published_ = false;
};

/// Merge `input_prefixes` into `output_prefix`: MegatronMerger's Write() and Publish().
MegatronMergeSummary MergeMegatronDatasets(const std::string& output_prefix,
                                           const std::vector<std::string>& input_prefixes);

}  // namespace corpusflow
