// Tests of the streaming dataset writer: golden bytes computed by hand from the layout of
// REFERENCE.md section 5 (docs/megatron.md's worked example), round trips through the reader,
// and cleanup of abandoned writers.
#include "operators/megatron/writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/megatron/reader.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::HexBytes;
using testing::ListDir;
using testing::RandomMegatronDocuments;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteMegatronDocuments;
using Document = testing::MegatronDocument;

/// Read a dataset back as documents of sequences, after verifying the whole index in small
/// chunks (7 sequences, 5 document-index entries) so that chunk boundaries are crossed.
std::vector<Document> ReadDataset(const std::string& prefix) {
  return testing::ReadMegatronDocuments(prefix, /*dtype=*/nullptr, /*sequence_chunk=*/7,
                                        /*document_chunk=*/5);
}

// Three documents and an empty one, uint16: lengths 3,1,2,0; pointers 0,6,8,12;
// document index 0,1,3,4,4 (S = 4, D = 5); .idx = 34 + 48 + 40 = 122 bytes.
TEST(MegatronWriterTest, GoldenUInt16Bytes) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("golden");
  WriteMegatronDocuments(prefix, MegatronDType::kUInt16, {{{1, 2, 3}}, {{4}, {65535, 0}}, {{}}, {}},
                         dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), HexBytes("0100 0200 0300 0400 ffff 0000"));
  const std::string idx = ReadFile(prefix + ".idx");
  EXPECT_EQ(idx.size(), 122u);
  EXPECT_EQ(idx, HexBytes("4d4d49444944580000"                   // MMIDIDX\0\0
                          "0100000000000000"                     // version 1
                          "08"                                   // dtype uint16
                          "0400000000000000"                     // S = 4
                          "0500000000000000"                     // D = 5
                          "03000000 01000000 02000000 00000000"  // lengths
                          "0000000000000000 0600000000000000 0800000000000000 0c00000000000000"
                          "0000000000000000 0100000000000000 0300000000000000 0400000000000000"
                          "0400000000000000"));
  // Nothing else is left in the folder: no .tmp, no scratch file.
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"golden.bin", "golden.idx"}));
}

// int32: [1, 2, 3] [70000] as two documents; pointers 0, 12.
TEST(MegatronWriterTest, GoldenInt32Bytes) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("golden32");
  WriteMegatronDocuments(prefix, MegatronDType::kInt32, {{{1, 2, 3}}, {{70000}}}, dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), HexBytes("01000000 02000000 03000000 70110100"));
  EXPECT_EQ(ReadFile(prefix + ".idx"),
            HexBytes("4d4d49444944580000 0100000000000000 04 0200000000000000 0300000000000000"
                     "03000000 01000000"
                     "0000000000000000 0c00000000000000"
                     "0000000000000000 0100000000000000 0200000000000000"));
}

TEST(MegatronWriterTest, EmptyDatasetIsValid) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("empty");
  WriteMegatronDocuments(prefix, MegatronDType::kUInt16, {}, dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), "");
  EXPECT_EQ(ReadFile(prefix + ".idx"),
            HexBytes("4d4d49444944580000 0100000000000000 08 0000000000000000 0100000000000000"
                     "0000000000000000"));
  MegatronDatasetReader reader(prefix);
  EXPECT_EQ(reader.sequences(), 0u);
  EXPECT_EQ(reader.documents(), 0u);
  EXPECT_TRUE(ReadDataset(prefix).empty());
}

TEST(MegatronWriterTest, SequencesAfterLastDocumentFormADocument) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("open");
  {
    MegatronDatasetWriter writer(prefix, MegatronDType::kInt32, dir.path());
    writer.AddSequence(std::vector<int32_t>{5});
    writer.EndDocument();
    writer.AddSequence(std::vector<int32_t>{6}, std::vector<int32_t>{7});
    writer.Commit();
    EXPECT_EQ(writer.documents(), 2u);
    EXPECT_EQ(writer.tokens(), 3u);
  }
  EXPECT_EQ(ReadDataset(prefix), (std::vector<Document>{{{5}}, {{6, 7}}}));
}

TEST(MegatronWriterTest, AbandonedWriterLeavesNothing) {
  ScopedTempDir dir;
  {
    MegatronDatasetWriter writer(dir.File("gone"), MegatronDType::kUInt16, dir.path());
    writer.AddSequence(std::vector<int32_t>{1, 2});
    writer.EndDocument();
    EXPECT_FALSE(ListDir(dir.path()).empty());
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
  {
    MegatronDatasetWriter writer(dir.File("gone"), MegatronDType::kUInt16, dir.path());
    writer.Finalize();  // finalized but never published
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(MegatronWriterTest, RoundTripsRandomDocumentsBothDtypes) {
  ScopedTempDir dir;
  for (const auto& [dtype, max_id] :
       {std::pair{MegatronDType::kUInt16, 65535}, std::pair{MegatronDType::kInt32, 2147483647}}) {
    const auto documents = RandomMegatronDocuments(42, 3000, max_id);
    const std::string prefix = dir.File(std::string(MegatronDTypeName(dtype)));
    WriteMegatronDocuments(prefix, dtype, documents, dir.path());
    EXPECT_EQ(ReadDataset(prefix), documents);
    MegatronDatasetReader reader(prefix);
    EXPECT_EQ(reader.dtype(), dtype);
    EXPECT_EQ(reader.documents(), documents.size());
  }
}

TEST(MegatronWriterTest, SequencesLongerThanTheBufferRoundTrip) {
  ScopedTempDir dir;
  std::mt19937_64 rng(5);
  std::vector<Document> documents;
  for (const size_t length : {size_t{100000}, size_t{3}, size_t{8192}, size_t{8193}, size_t{0}}) {
    std::vector<int32_t> ids(length);
    for (int32_t& id : ids) id = static_cast<int32_t>(rng() % 65536);
    documents.push_back({ids});
  }
  for (const MegatronDType dtype : {MegatronDType::kUInt16, MegatronDType::kInt32}) {
    const std::string prefix = dir.File("long" + std::string(MegatronDTypeName(dtype)));
    {
      MegatronDatasetWriter writer(prefix, dtype, dir.path(), 16 << 10);  // the smallest buffer
      for (const Document& d : documents) {
        writer.AddSequence(d[0], std::vector<int32_t>{7});
        writer.EndDocument();
      }
      writer.Commit();
    }
    std::vector<Document> expected = documents;
    for (Document& d : expected) d[0].push_back(7);
    EXPECT_EQ(ReadDataset(prefix), expected);
  }
}

}  // namespace
}  // namespace corpusflow
