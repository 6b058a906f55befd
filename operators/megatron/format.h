// The Megatron indexed dataset format ("MMIDIDX"): a `.bin` file of token ids and an `.idx` file
// of sequence lengths, byte offsets and document boundaries, byte-compatible with Megatron-LM's
// reader (REFERENCE.md section 5, docs/megatron.md). This file holds what every part of the
// format agrees on: the magic and header layout, the dtype codes, and the names of the files of
// a dataset. The writer, reader, merge and inspection build on it (writer.h, reader.h, merge.h,
// inspect.h).
// Thread safety: constants and pure functions only; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corpusflow {

/// The `.idx` magic: "MMIDIDX" followed by two NUL bytes.
inline constexpr std::string_view kMegatronIndexMagic{"MMIDIDX\0\0", 9};
inline constexpr uint64_t kMegatronIndexVersion = 1;
/// Bytes before the sequence lengths: magic, version, dtype code, sequence and document counts.
inline constexpr uint64_t kMegatronHeaderBytes = 34;
/// Offsets of the header fields: version (u64), dtype code (u8), S and D (u64 each).
inline constexpr uint64_t kMegatronVersionOffset = 9;
inline constexpr uint64_t kMegatronDTypeOffset = 17;
inline constexpr uint64_t kMegatronSequenceCountOffset = 18;
inline constexpr uint64_t kMegatronDocumentCountOffset = 26;
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
/// The token id stored in the element at `p`, widened. REQUIRES: an integer dtype.
int64_t LoadMegatronId(MegatronDType dtype, const char* p);

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

/// Write the 34 header bytes of `header` to `out`.
void EncodeMegatronIndexHeader(const MegatronIndexHeader& header, char* out);
/// Parse the 34 header bytes at `in`, checking the magic, the version and the dtype code (not
/// the counts: they need the file size). Throws CorruptionError naming `idx_path`.
MegatronIndexHeader DecodeMegatronIndexHeader(const char* in, const std::string& idx_path);

}  // namespace corpusflow
