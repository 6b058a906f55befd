// Tests of the format's shared facts: dtype rules, file naming, and the 34-byte header.
#include "operators/megatron/format.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/error.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::HexBytes;

TEST(MegatronFormatTest, DTypeRules) {
  EXPECT_EQ(MegatronDTypeForVocabSize(21128), MegatronDType::kUInt16);
  EXPECT_EQ(MegatronDTypeForVocabSize(65499), MegatronDType::kUInt16);
  EXPECT_EQ(MegatronDTypeForVocabSize(65500), MegatronDType::kInt32);
  EXPECT_EQ(MegatronDTypeForVocabSize(250112), MegatronDType::kInt32);
  EXPECT_EQ(MegatronDTypeForVocabSize(0), MegatronDType::kInt32);  // unknown: the safe choice
  EXPECT_EQ(MegatronDTypeSize(MegatronDType::kUInt16), 2u);
  EXPECT_EQ(MegatronDTypeSize(MegatronDType::kInt64), 8u);
  EXPECT_EQ(MegatronDTypeSize(MegatronDType::kUInt8), 1u);
  EXPECT_EQ(MegatronDTypeName(MegatronDType::kFloat32), "float32");
  EXPECT_FALSE(IsIntegerMegatronDType(MegatronDType::kFloat64));
  EXPECT_TRUE(IsIntegerMegatronDType(MegatronDType::kInt8));
  EXPECT_FALSE(IsValidMegatronDTypeCode(0));
  EXPECT_TRUE(IsValidMegatronDTypeCode(8));
  EXPECT_FALSE(IsValidMegatronDTypeCode(9));
}

TEST(MegatronFormatTest, FileNames) {
  EXPECT_EQ(MegatronDatasetPrefix("out/train", "src_ids", MegatronLevel::kDocument),
            "out/train_src_ids_document");
  EXPECT_EQ(MegatronDatasetPrefix("out/t", "text_ids", MegatronLevel::kSentence),
            "out/t_text_ids_sentence");
  EXPECT_EQ(MegatronBinPath("a/b"), "a/b.bin");
  EXPECT_EQ(MegatronIdxPath("a/b"), "a/b.idx");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document.idx"), "a/b_document");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document.bin"), "a/b_document");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document"), "a/b_document");
}

TEST(MegatronFormatTest, LoadsIdsOfEveryIntegerDtype) {
  const std::string bytes = HexBytes("feffffffffffffff");
  EXPECT_EQ(LoadMegatronId(MegatronDType::kUInt8, bytes.data()), 254);
  EXPECT_EQ(LoadMegatronId(MegatronDType::kInt8, bytes.data()), -2);
  EXPECT_EQ(LoadMegatronId(MegatronDType::kInt16, bytes.data()), -2);
  EXPECT_EQ(LoadMegatronId(MegatronDType::kUInt16, bytes.data()), 65534);
  EXPECT_EQ(LoadMegatronId(MegatronDType::kInt32, bytes.data()), -2);
  EXPECT_EQ(LoadMegatronId(MegatronDType::kInt64, bytes.data()), -2);
}

// The header of docs/megatron.md's worked example: uint16, S = 4, D = 5.
TEST(MegatronFormatTest, HeaderGoldenBytesRoundTrip) {
  MegatronIndexHeader header;
  header.dtype = MegatronDType::kUInt16;
  header.sequence_count = 4;
  header.document_index_count = 5;
  EXPECT_EQ(header.documents(), 4u);
  EXPECT_EQ(header.IndexFileBytes(), 122u);
  std::string bytes(kMegatronHeaderBytes, 'x');
  EncodeMegatronIndexHeader(header, bytes.data());
  EXPECT_EQ(bytes, HexBytes("4d4d49444944580000 0100000000000000 08 0400000000000000"
                            "0500000000000000"));
  const MegatronIndexHeader decoded = DecodeMegatronIndexHeader(bytes.data(), "x.idx");
  EXPECT_EQ(decoded.version, 1u);
  EXPECT_EQ(decoded.dtype, MegatronDType::kUInt16);
  EXPECT_EQ(decoded.sequence_count, 4u);
  EXPECT_EQ(decoded.document_index_count, 5u);
}

/// The message of the CorruptionError that decoding `bytes` throws.
std::string DecodeError(const std::string& bytes) {
  try {
    DecodeMegatronIndexHeader(bytes.data(), "d.idx");
  } catch (const CorruptionError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MegatronFormatTest, HeaderDecodingChecksMagicVersionAndDtype) {
  MegatronIndexHeader header;
  std::string good(kMegatronHeaderBytes, '\0');
  EncodeMegatronIndexHeader(header, good.data());
  EXPECT_EQ(DecodeError(good), "(no error)");
  std::string bad = good;
  bad[6] = 'Y';
  EXPECT_EQ(DecodeError(bad), "d.idx: not a Megatron index (the file does not start with MMIDIDX)");
  bad = good;
  bad[kMegatronVersionOffset] = 2;
  EXPECT_EQ(DecodeError(bad), "d.idx: unsupported index version 2 (expected 1)");
  bad = good;
  bad[kMegatronDTypeOffset] = 9;
  EXPECT_EQ(DecodeError(bad), "d.idx: unknown dtype code 9");
}

}  // namespace
}  // namespace corpusflow
