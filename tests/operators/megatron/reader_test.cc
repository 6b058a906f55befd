// Tests of the validating dataset reader: every corruption of the index or the .bin it must
// name, and missing files.
#include "operators/megatron/reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::HexBytes;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;
using testing::WriteMegatronDocuments;

class MegatronReaderErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = dir_.File("d");
    WriteMegatronDocuments(prefix_, MegatronDType::kUInt16, {{{1, 2, 3}}, {{4}, {5, 6}}},
                           dir_.path());
    idx_ = ReadFile(prefix_ + ".idx");
    bin_ = ReadFile(prefix_ + ".bin");
  }
  /// The message of the CorruptionError thrown by opening and fully verifying the dataset.
  std::string OpenError() {
    try {
      MegatronDatasetReader reader(prefix_);
      reader.ForEachSequenceChunk([](uint64_t, auto, auto) {});
      reader.ForEachDocumentChunk([](uint64_t, auto) {});
    } catch (const CorruptionError& e) {
      return e.what();
    }
    return "(no error)";
  }
  void PatchIdx(size_t offset, const std::string& bytes) {
    std::string idx = idx_;
    idx.replace(offset, bytes.size(), bytes);
    WriteFile(prefix_ + ".idx", idx);
  }

  ScopedTempDir dir_;
  std::string prefix_;
  std::string idx_;
  std::string bin_;
};

TEST_F(MegatronReaderErrorTest, IntactDatasetVerifies) { EXPECT_EQ(OpenError(), "(no error)"); }

TEST_F(MegatronReaderErrorTest, TruncatedIndex) {
  WriteFile(prefix_ + ".idx", idx_.substr(0, idx_.size() - 1));
  const std::string e = OpenError();
  EXPECT_NE(e.find(prefix_ + ".idx: truncated index: 93 bytes"), std::string::npos) << e;
  WriteFile(prefix_ + ".idx", idx_.substr(0, 20));
  EXPECT_NE(OpenError().find("shorter than the 34-byte header"), std::string::npos);
  WriteFile(prefix_ + ".idx", "");
  EXPECT_NE(OpenError().find("truncated index: 0 bytes"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, ImplausibleCountsAreTruncationNotOverflow) {
  PatchIdx(18, HexBytes("ffffffffffffff7f"));  // S = 2^63 - 1
  EXPECT_NE(OpenError().find("truncated index"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, TrailingBytes) {
  WriteFile(prefix_ + ".idx", idx_ + "xyz");
  EXPECT_NE(OpenError().find("3 bytes after its end"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, BadMagicVersionDType) {
  PatchIdx(0, "MMIDIDY");
  EXPECT_NE(OpenError().find("not a Megatron index"), std::string::npos);
  PatchIdx(9, HexBytes("02"));
  EXPECT_NE(OpenError().find("unsupported index version 2"), std::string::npos);
  PatchIdx(17, HexBytes("09"));
  EXPECT_NE(OpenError().find("unknown dtype code 9"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, PointerMismatch) {
  PatchIdx(34 + 4 * 3 + 8, HexBytes("0800000000000000"));  // pointer of sequence 1: 6 -> 8
  EXPECT_NE(OpenError().find("sequence 1 starts at byte 8 but the lengths before it end at byte 6"),
            std::string::npos)
      << OpenError();
}

TEST_F(MegatronReaderErrorTest, NegativeLength) {
  PatchIdx(34 + 4, HexBytes("ffffffff"));
  EXPECT_NE(OpenError().find("sequence 1 has a negative length -1"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, TruncatedBin) {
  WriteFile(prefix_ + ".bin", bin_.substr(0, bin_.size() - 2));
  const std::string e = OpenError();
  EXPECT_NE(e.find("describes 12 bytes of tokens but the file has 10"), std::string::npos) << e;
  MegatronDatasetReader reader(prefix_);
  std::vector<int64_t> ids;
  EXPECT_THROW(reader.ReadSequence(2, &ids), CorruptionError);
}

TEST_F(MegatronReaderErrorTest, DocumentIndexChecks) {
  const size_t docs = 34 + 12 * 3;
  PatchIdx(docs, HexBytes("0100000000000000"));
  EXPECT_NE(OpenError().find("starts with 1 instead of 0"), std::string::npos);
  PatchIdx(docs + 16, HexBytes("0200000000000000"));  // last entry 3 -> 2
  EXPECT_NE(OpenError().find("ends at 2 but there are 3 sequences"), std::string::npos);
  PatchIdx(docs + 8, HexBytes("0500000000000000"));  // entry 1 -> 5 > S
  EXPECT_NE(OpenError().find("document index entry 1 is 5"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, MissingFiles) {
  std::filesystem::remove(prefix_ + ".bin");
  EXPECT_THROW(MegatronDatasetReader reader(prefix_), IoError);
  EXPECT_THROW(MegatronDatasetReader reader(dir_.File("nothing")), IoError);
}

/// A dataset of one document holding one sequence of `bin` (raw elements of `dtype`).
void WriteRawDataset(const std::string& prefix, MegatronDType dtype, const std::string& bin) {
  MegatronIndexHeader header;
  header.dtype = dtype;
  header.sequence_count = 1;
  header.document_index_count = 2;
  std::string idx(kMegatronHeaderBytes, '\0');
  EncodeMegatronIndexHeader(header, idx.data());
  const auto length = static_cast<int32_t>(bin.size() / MegatronDTypeSize(dtype));
  idx.append(reinterpret_cast<const char*>(&length), sizeof length);
  idx.append(std::string(8, '\0'));  // pointer 0
  const int64_t documents[2] = {0, 1};
  idx.append(reinterpret_cast<const char*>(documents), sizeof documents);
  WriteFile(prefix + ".idx", idx);
  WriteFile(prefix + ".bin", bin);
}

TEST(MegatronReaderTest, ReadsEveryIntegerDtypeSignExtended) {
  ScopedTempDir dir;
  const struct {
    MegatronDType dtype;
    std::string bin;
    std::vector<int64_t> ids;
  } cases[] = {
      {MegatronDType::kUInt8, HexBytes("00 ff 07"), {0, 255, 7}},
      {MegatronDType::kInt8, HexBytes("00 ff 07"), {0, -1, 7}},
      {MegatronDType::kInt16, HexBytes("ffff 0080 3412"), {-1, -32768, 0x1234}},
      {MegatronDType::kUInt16, HexBytes("ffff 0080"), {65535, 32768}},
      {MegatronDType::kInt32, HexBytes("feffffff 70110100"), {-2, 70000}},
      {MegatronDType::kInt64, HexBytes("ffffffffffffffff 0000000001000000"), {-1, 1LL << 32}},
  };
  for (const auto& c : cases) {
    const std::string prefix = dir.File(std::string(MegatronDTypeName(c.dtype)));
    WriteRawDataset(prefix, c.dtype, c.bin);
    MegatronDatasetReader reader(prefix);
    reader.ForEachSequenceChunk([](uint64_t, auto, auto) {});
    std::vector<int64_t> ids;
    reader.ReadSequence(0, &ids);
    EXPECT_EQ(ids, c.ids) << MegatronDTypeName(c.dtype);
  }
}

TEST(MegatronReaderTest, FloatDatasetsHoldNoTokenIds) {
  ScopedTempDir dir;
  WriteRawDataset(dir.File("f"), MegatronDType::kFloat32, std::string(8, '\0'));
  MegatronDatasetReader reader(dir.File("f"));
  EXPECT_EQ(reader.sequences(), 1u);
  std::vector<int64_t> ids;
  EXPECT_THROW(reader.ReadSequence(0, &ids), DataError);
}

}  // namespace
}  // namespace corpusflow
