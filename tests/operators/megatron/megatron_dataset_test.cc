// Tests of the Megatron indexed dataset library: golden bytes computed by hand from the layout
// of REFERENCE.md section 5, the validating reader, and streaming merge.
#include "operators/megatron/megatron_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Bytes from a string of hex pairs; spaces and newlines are ignored.
std::string Hex(std::string_view text) {
  std::string out;
  int pending = -1;
  for (const char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<char>(pending * 16 + v));
      pending = -1;
    }
  }
  return out;
}

using Document = testing::MegatronDocument;

/// Write documents (each a list of sequences) to `prefix`.
void WriteDataset(const std::string& prefix, MegatronDType dtype,
                  const std::vector<Document>& documents, const std::filesystem::path& scratch) {
  MegatronDatasetWriter writer(prefix, dtype, scratch);
  for (const Document& d : documents) {
    for (const auto& s : d) writer.AddSequence(s);
    writer.EndDocument();
  }
  writer.Commit();
}

/// Read a dataset back as documents of sequences, after verifying the whole index in small
/// chunks (7 sequences, 5 document-index entries) so that chunk boundaries are crossed.
std::vector<Document> ReadDataset(const std::string& prefix) {
  return testing::ReadMegatronDocuments(prefix, /*dtype=*/nullptr, /*sequence_chunk=*/7,
                                        /*document_chunk=*/5);
}

/// Random documents: some empty, some with empty sequences, ids below `max_id`.
std::vector<Document> RandomDocuments(uint64_t seed, size_t count, int32_t max_id) {
  std::mt19937_64 rng(seed);
  std::vector<Document> documents(count);
  for (Document& d : documents) {
    const size_t sequences = rng() % 4;  // 0..3, so some documents have no sequence
    for (size_t s = 0; s < sequences; ++s) {
      std::vector<int32_t> ids(rng() % 50);  // some empty sequences
      for (int32_t& id : ids)
        id = static_cast<int32_t>(rng() % (static_cast<uint64_t>(max_id) + 1));
      d.push_back(std::move(ids));
    }
  }
  return documents;
}

// Three documents and an empty one, uint16: lengths 3,1,2,0; pointers 0,6,8,12;
// document index 0,1,3,4,4 (S = 4, D = 5); .idx = 34 + 48 + 40 = 122 bytes.
TEST(MegatronDatasetTest, GoldenUInt16Bytes) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("golden");
  WriteDataset(prefix, MegatronDType::kUInt16, {{{1, 2, 3}}, {{4}, {65535, 0}}, {{}}, {}},
               dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), Hex("0100 0200 0300 0400 ffff 0000"));
  const std::string idx = ReadFile(prefix + ".idx");
  EXPECT_EQ(idx.size(), 122u);
  EXPECT_EQ(idx, Hex("4d4d49444944580000"                   // MMIDIDX\0\0
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
TEST(MegatronDatasetTest, GoldenInt32Bytes) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("golden32");
  WriteDataset(prefix, MegatronDType::kInt32, {{{1, 2, 3}}, {{70000}}}, dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), Hex("01000000 02000000 03000000 70110100"));
  EXPECT_EQ(ReadFile(prefix + ".idx"),
            Hex("4d4d49444944580000 0100000000000000 04 0200000000000000 0300000000000000"
                "03000000 01000000"
                "0000000000000000 0c00000000000000"
                "0000000000000000 0100000000000000 0200000000000000"));
}

TEST(MegatronDatasetTest, EmptyDatasetIsValid) {
  ScopedTempDir dir;
  const std::string prefix = dir.File("empty");
  WriteDataset(prefix, MegatronDType::kUInt16, {}, dir.path());
  EXPECT_EQ(ReadFile(prefix + ".bin"), "");
  EXPECT_EQ(ReadFile(prefix + ".idx"),
            Hex("4d4d49444944580000 0100000000000000 08 0000000000000000 0100000000000000"
                "0000000000000000"));
  MegatronDatasetReader reader(prefix);
  EXPECT_EQ(reader.sequences(), 0u);
  EXPECT_EQ(reader.documents(), 0u);
  EXPECT_TRUE(ReadDataset(prefix).empty());
}

TEST(MegatronDatasetTest, SequencesAfterLastDocumentFormADocument) {
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

TEST(MegatronDatasetTest, AbandonedWriterLeavesNothing) {
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

TEST(MegatronDatasetTest, RoundTripsRandomDocumentsBothDtypes) {
  ScopedTempDir dir;
  for (const auto& [dtype, max_id] :
       {std::pair{MegatronDType::kUInt16, 65535}, std::pair{MegatronDType::kInt32, 2147483647}}) {
    const auto documents = RandomDocuments(42, 3000, max_id);
    const std::string prefix = dir.File(std::string(MegatronDTypeName(dtype)));
    WriteDataset(prefix, dtype, documents, dir.path());
    EXPECT_EQ(ReadDataset(prefix), documents);
    MegatronDatasetReader reader(prefix);
    EXPECT_EQ(reader.dtype(), dtype);
    EXPECT_EQ(reader.documents(), documents.size());
  }
}

TEST(MegatronDatasetTest, SequencesLongerThanTheBufferRoundTrip) {
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

TEST(MegatronDatasetTest, DTypeRules) {
  EXPECT_EQ(MegatronDTypeForVocabSize(21128), MegatronDType::kUInt16);
  EXPECT_EQ(MegatronDTypeForVocabSize(65499), MegatronDType::kUInt16);
  EXPECT_EQ(MegatronDTypeForVocabSize(65500), MegatronDType::kInt32);
  EXPECT_EQ(MegatronDTypeForVocabSize(250112), MegatronDType::kInt32);
  EXPECT_EQ(MegatronDTypeForVocabSize(0), MegatronDType::kInt32);  // unknown: the safe choice
  EXPECT_EQ(MegatronDTypeSize(MegatronDType::kUInt16), 2u);
  EXPECT_EQ(MegatronDTypeSize(MegatronDType::kInt64), 8u);
  EXPECT_EQ(MegatronDatasetPrefix("out/train", "src_ids", MegatronLevel::kDocument),
            "out/train_src_ids_document");
  EXPECT_EQ(MegatronDatasetPrefix("out/t", "text_ids", MegatronLevel::kSentence),
            "out/t_text_ids_sentence");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document.idx"), "a/b_document");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document.bin"), "a/b_document");
  EXPECT_EQ(NormalizeMegatronPrefix("a/b_document"), "a/b_document");
}

// --- the validating reader -------------------------------------------------------------------

class MegatronReaderErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = dir_.File("d");
    WriteDataset(prefix_, MegatronDType::kUInt16, {{{1, 2, 3}}, {{4}, {5, 6}}}, dir_.path());
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
  PatchIdx(18, Hex("ffffffffffffff7f"));  // S = 2^63 - 1
  EXPECT_NE(OpenError().find("truncated index"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, TrailingBytes) {
  WriteFile(prefix_ + ".idx", idx_ + "xyz");
  EXPECT_NE(OpenError().find("3 bytes after its end"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, BadMagicVersionDType) {
  PatchIdx(0, "MMIDIDY");
  EXPECT_NE(OpenError().find("not a Megatron index"), std::string::npos);
  PatchIdx(9, Hex("02"));
  EXPECT_NE(OpenError().find("unsupported index version 2"), std::string::npos);
  PatchIdx(17, Hex("09"));
  EXPECT_NE(OpenError().find("unknown dtype code 9"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, PointerMismatch) {
  PatchIdx(34 + 4 * 3 + 8, Hex("0800000000000000"));  // pointer of sequence 1: 6 -> 8
  EXPECT_NE(OpenError().find("sequence 1 starts at byte 8 but the lengths before it end at byte 6"),
            std::string::npos)
      << OpenError();
}

TEST_F(MegatronReaderErrorTest, NegativeLength) {
  PatchIdx(34 + 4, Hex("ffffffff"));
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
  PatchIdx(docs, Hex("0100000000000000"));
  EXPECT_NE(OpenError().find("starts with 1 instead of 0"), std::string::npos);
  PatchIdx(docs + 16, Hex("0200000000000000"));  // last entry 3 -> 2
  EXPECT_NE(OpenError().find("ends at 2 but there are 3 sequences"), std::string::npos);
  PatchIdx(docs + 8, Hex("0500000000000000"));  // entry 1 -> 5 > S
  EXPECT_NE(OpenError().find("document index entry 1 is 5"), std::string::npos);
}

TEST_F(MegatronReaderErrorTest, MissingFiles) {
  std::filesystem::remove(prefix_ + ".bin");
  EXPECT_THROW(MegatronDatasetReader reader(prefix_), IoError);
  EXPECT_THROW(MegatronDatasetReader reader(dir_.File("nothing")), IoError);
}

// --- merge -----------------------------------------------------------------------------------

TEST(MegatronMergeTest, MergeOfPartsEqualsSingleWrite) {
  ScopedTempDir dir;
  const auto documents = RandomDocuments(7, 2000, 65535);
  WriteDataset(dir.File("all"), MegatronDType::kUInt16, documents, dir.path());
  // Uneven parts, one of them empty.
  const std::vector<size_t> cuts = {0, 1, 700, 700, 1999, 2000};
  std::vector<std::string> parts;
  for (size_t p = 0; p + 1 < cuts.size(); ++p) {
    parts.push_back(dir.File("part" + std::to_string(p)));
    WriteDataset(parts.back(), MegatronDType::kUInt16,
                 std::vector<Document>(documents.begin() + static_cast<ptrdiff_t>(cuts[p]),
                                       documents.begin() + static_cast<ptrdiff_t>(cuts[p + 1])),
                 dir.path());
  }
  const MegatronMergeSummary summary = MergeMegatronDatasets(dir.File("merged"), parts);
  EXPECT_EQ(summary.documents, documents.size());
  EXPECT_EQ(summary.dtype, MegatronDType::kUInt16);
  EXPECT_EQ(ReadFile(dir.File("merged.bin")), ReadFile(dir.File("all.bin")));
  EXPECT_EQ(ReadFile(dir.File("merged.idx")), ReadFile(dir.File("all.idx")));
}

TEST(MegatronMergeTest, SingleInputIsACopy) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kInt32, RandomDocuments(3, 100, 1000000), dir.path());
  MergeMegatronDatasets(dir.File("b"), {dir.File("a")});
  EXPECT_EQ(ReadFile(dir.File("b.bin")), ReadFile(dir.File("a.bin")));
  EXPECT_EQ(ReadFile(dir.File("b.idx")), ReadFile(dir.File("a.idx")));
}

TEST(MegatronMergeTest, DifferentDtypesAreAnError) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  WriteDataset(dir.File("b"), MegatronDType::kInt32, {{{2}}}, dir.path());
  try {
    MergeMegatronDatasets(dir.File("m"), {dir.File("a"), dir.File("b")});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("holds int32 tokens but"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.bin", "a.idx", "b.bin", "b.idx"}));
}

TEST(MegatronMergeTest, CorruptInputLeavesNoOutput) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1, 2}}, {{3}}}, dir.path());
  WriteDataset(dir.File("b"), MegatronDType::kUInt16, {{{4}}}, dir.path());
  const std::string bin = ReadFile(dir.File("b.bin"));
  WriteFile(dir.File("b.bin"), bin + "zz");  // the index no longer covers the .bin
  EXPECT_THROW(MergeMegatronDatasets(dir.File("m"), {dir.File("a"), dir.File("b")}),
               CorruptionError);
  const std::string idx = ReadFile(dir.File("a.idx"));
  WriteFile(dir.File("a.idx"), idx.substr(0, idx.size() - 8));
  EXPECT_THROW(MergeMegatronDatasets(dir.File("m"), {dir.File("a")}), CorruptionError);
  for (const std::string& name : ListDir(dir.path())) EXPECT_NE(name[0], 'm') << name;
}

TEST(MegatronMergeTest, OutputMustNotBeAnInput) {
  ScopedTempDir dir;
  WriteDataset(dir.File("a"), MegatronDType::kUInt16, {{{1}}}, dir.path());
  EXPECT_THROW(MergeMegatronDatasets(dir.File("a"), {dir.File("a")}), InvalidArgument);
  EXPECT_THROW(MergeMegatronDatasets(dir.File("a"), {}), InvalidArgument);
  EXPECT_EQ(ReadDataset(dir.File("a")), (std::vector<Document>{{{1}}}));
}

}  // namespace
}  // namespace corpusflow
