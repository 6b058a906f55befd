#include "operators/megatron/format.h"

#include <bit>
#include <cstring>

#include "engine/coding.h"
#include "engine/error.h"

namespace corpusflow {

static_assert(std::endian::native == std::endian::little,
              "the Megatron format is little-endian; big-endian hosts need byte swapping");

bool IsValidMegatronDTypeCode(uint8_t code) { return code >= 1 && code <= 8; }

std::string_view MegatronDTypeName(MegatronDType dtype) {
  switch (dtype) {
    case MegatronDType::kUInt8:
      return "uint8";
    case MegatronDType::kInt8:
      return "int8";
    case MegatronDType::kInt16:
      return "int16";
    case MegatronDType::kInt32:
      return "int32";
    case MegatronDType::kInt64:
      return "int64";
    case MegatronDType::kFloat64:
      return "float64";
    case MegatronDType::kFloat32:
      return "float32";
    case MegatronDType::kUInt16:
      return "uint16";
  }
  return "?";
}

size_t MegatronDTypeSize(MegatronDType dtype) {
  switch (dtype) {
    case MegatronDType::kUInt8:
    case MegatronDType::kInt8:
      return 1;
    case MegatronDType::kInt16:
    case MegatronDType::kUInt16:
      return 2;
    case MegatronDType::kInt32:
    case MegatronDType::kFloat32:
      return 4;
    case MegatronDType::kInt64:
    case MegatronDType::kFloat64:
      return 8;
  }
  return 0;
}

bool IsIntegerMegatronDType(MegatronDType dtype) {
  return dtype != MegatronDType::kFloat32 && dtype != MegatronDType::kFloat64;
}

MegatronDType MegatronDTypeForVocabSize(int64_t vocab_size) {
  return vocab_size > 0 && vocab_size < kMegatronUInt16VocabLimit ? MegatronDType::kUInt16
                                                                  : MegatronDType::kInt32;
}

int64_t LoadMegatronId(MegatronDType dtype, const char* p) {
  switch (dtype) {
    case MegatronDType::kUInt8:
      return DecodeFixed<uint8_t>(p);
    case MegatronDType::kInt8:
      return DecodeFixed<int8_t>(p);
    case MegatronDType::kInt16:
      return DecodeFixed<int16_t>(p);
    case MegatronDType::kUInt16:
      return DecodeFixed<uint16_t>(p);
    case MegatronDType::kInt32:
      return DecodeFixed<int32_t>(p);
    case MegatronDType::kInt64:
      return DecodeFixed<int64_t>(p);
    default:
      return 0;
  }
}

std::string_view MegatronLevelName(MegatronLevel level) {
  return level == MegatronLevel::kDocument ? "document" : "sentence";
}

std::string MegatronDatasetPrefix(std::string_view output_prefix, std::string_view field,
                                  MegatronLevel level) {
  return std::string(output_prefix) + "_" + std::string(field) + "_" +
         std::string(MegatronLevelName(level));
}

std::string MegatronBinPath(std::string_view prefix) { return std::string(prefix) + ".bin"; }
std::string MegatronIdxPath(std::string_view prefix) { return std::string(prefix) + ".idx"; }

std::string NormalizeMegatronPrefix(std::string_view path) {
  if (path.ends_with(".idx") || path.ends_with(".bin")) path.remove_suffix(4);
  return std::string(path);
}

uint64_t MegatronIndexHeader::IndexFileBytes() const {
  return kMegatronHeaderBytes + 12 * sequence_count + 8 * document_index_count;
}

void EncodeMegatronIndexHeader(const MegatronIndexHeader& header, char* out) {
  std::memset(out, 0, kMegatronHeaderBytes);
  std::memcpy(out, kMegatronIndexMagic.data(), kMegatronIndexMagic.size());
  std::memcpy(out + kMegatronVersionOffset, &header.version, sizeof(uint64_t));
  out[kMegatronDTypeOffset] = static_cast<char>(header.dtype);
  std::memcpy(out + kMegatronSequenceCountOffset, &header.sequence_count, sizeof(uint64_t));
  std::memcpy(out + kMegatronDocumentCountOffset, &header.document_index_count, sizeof(uint64_t));
}

MegatronIndexHeader DecodeMegatronIndexHeader(const char* in, const std::string& idx_path) {
  if (std::string_view(in, kMegatronIndexMagic.size()) != kMegatronIndexMagic) {
    throw CorruptionError(idx_path +
                          ": not a Megatron index (the file does not start with MMIDIDX)");
  }
  MegatronIndexHeader header;
  header.version = DecodeFixed<uint64_t>(in + kMegatronVersionOffset);
  if (header.version != kMegatronIndexVersion) {
    throw CorruptionError(idx_path + ": unsupported index version " +
                          std::to_string(header.version) + " (expected 1)");
  }
  const auto code = static_cast<uint8_t>(in[kMegatronDTypeOffset]);
  if (!IsValidMegatronDTypeCode(code)) {
    throw CorruptionError(idx_path + ": unknown dtype code " + std::to_string(code));
  }
  header.dtype = static_cast<MegatronDType>(code);
  header.sequence_count = DecodeFixed<uint64_t>(in + kMegatronSequenceCountOffset);
  header.document_index_count = DecodeFixed<uint64_t>(in + kMegatronDocumentCountOffset);
  return header;
}

}  // namespace corpusflow
