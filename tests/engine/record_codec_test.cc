// Tests of the record codec: every column type round-trips byte for byte, sizes are exact, and
// malformed encodings are errors.
#include "engine/record_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "engine/error.h"

namespace corpusflow {
namespace {

Batch MixedBatch() {
  Batch batch;
  batch.AddString("text");
  batch.AddStringList("tokens");
  batch.AddInt32List("src_ids", 50000);
  // References after every column exists (adding a column may move the others).
  StringColumn& text = batch.GetString("text");
  StringListColumn& tokens = batch.GetStringList("tokens");
  Int32ListColumn& ids = batch.GetInt32List("src_ids");
  const std::vector<std::string> texts = {"hello", "", std::string("\0\xff\r\n", 4),
                                          std::string(300, 'x'), "語料"};
  for (size_t r = 0; r < texts.size(); ++r) {
    text.Append(texts[r]);
    for (size_t j = 0; j < r; ++j) tokens.AppendItem(std::string(j, static_cast<char>('a' + r)));
    tokens.EndRecord();
    for (size_t j = 0; j < r * 3; ++j) {
      ids.AppendValue(j % 2 == 0 ? static_cast<int32_t>(j * 1000003)
                                 : std::numeric_limits<int32_t>::min() + static_cast<int32_t>(j));
    }
    ids.EndRecord();
  }
  return batch;
}

TEST(RecordCodecTest, RoundTripsEveryColumnType) {
  const Batch in = MixedBatch();
  const RecordCodec codec = RecordCodec::ForBatch(in);
  EXPECT_TRUE(codec.Matches(in));
  EXPECT_EQ(codec.layout().fields().size(), 3u);
  RecordEncoder encoder(in);
  Batch out;
  codec.PrepareBatch(&out);
  RecordDecoder decoder(&out);
  // Decode in reverse order to show records are independent.
  for (size_t i = in.num_records(); i-- > 0;) {
    std::string bytes;
    encoder.Append(i, &bytes);
    EXPECT_EQ(bytes.size(), encoder.EncodedSize(i));
    decoder.DecodeAppend(bytes);
  }
  ASSERT_EQ(out.num_records(), in.num_records());
  const size_t n = in.num_records();
  for (size_t i = 0; i < n; ++i) {
    const size_t j = n - 1 - i;
    EXPECT_EQ(out.GetString("text")[j], in.GetString("text")[i]);
    ASSERT_EQ(out.GetStringList("tokens").ItemCount(j), in.GetStringList("tokens").ItemCount(i));
    for (size_t k = 0; k < in.GetStringList("tokens").ItemCount(i); ++k) {
      EXPECT_EQ(out.GetStringList("tokens").Item(j, k), in.GetStringList("tokens").Item(i, k));
    }
    const auto a = in.GetInt32List("src_ids")[i];
    const auto b = out.GetInt32List("src_ids")[j];
    EXPECT_EQ(std::vector<int32_t>(a.begin(), a.end()), std::vector<int32_t>(b.begin(), b.end()));
  }
  EXPECT_EQ(out.Find("src_ids")->field.vocab_size, 50000);
}

TEST(RecordCodecTest, EncodingIsTheDocumentedLayout) {
  Batch batch;
  batch.AddString("text");
  batch.AddStringList("tokens");
  batch.AddInt32List("ids");
  batch.GetString("text").Append("ab");
  batch.GetStringList("tokens").AppendItem("c");
  batch.GetStringList("tokens").EndRecord();
  Int32ListColumn& ids = batch.GetInt32List("ids");
  ids.AppendValue(258);
  ids.AppendValue(-1);
  ids.EndRecord();
  RecordEncoder encoder(batch);
  std::string bytes;
  encoder.Append(0, &bytes);
  EXPECT_EQ(bytes, std::string("\x02"
                               "ab"
                               "\x01\x01"
                               "c"
                               "\x02\x02\x01\0\0\xff\xff\xff\xff",
                               15));
}

TEST(RecordCodecTest, IdListsOfSentencesRoundTripInTheDocumentedLayout) {
  Batch in;
  Int32ListListColumn& lists = in.AddInt32ListList("sentences_ids", 300);
  lists.AppendItem(std::vector<int32_t>{258, -1});
  lists.AppendItem(std::vector<int32_t>{});
  lists.AppendItem(std::vector<int32_t>{7});
  lists.EndRecord();
  lists.EndRecord();  // a record without lists
  RecordEncoder encoder(in);
  std::string first, second;
  encoder.Append(0, &first);
  encoder.Append(1, &second);
  EXPECT_EQ(first, std::string("\x03"
                               "\x02\x02\x01\0\0\xff\xff\xff\xff"
                               "\x00"
                               "\x01\x07\0\0\0",
                               16));
  EXPECT_EQ(second, std::string("\x00", 1));
  EXPECT_EQ(first.size(), encoder.EncodedSize(0));
  const RecordCodec codec = RecordCodec::ForBatch(in);
  Batch out;
  codec.PrepareBatch(&out);
  RecordDecoder decoder(&out);
  decoder.DecodeAppend(second);
  decoder.DecodeAppend(first);
  const Int32ListListColumn& got = out.GetInt32ListList("sentences_ids");
  EXPECT_EQ(out.Find("sentences_ids")->field.vocab_size, 300);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.ItemCount(0), 0u);
  ASSERT_EQ(got.ItemCount(1), 3u);
  EXPECT_EQ(std::vector<int32_t>(got.Item(1, 0).begin(), got.Item(1, 0).end()),
            (std::vector<int32_t>{258, -1}));
  EXPECT_TRUE(got.Item(1, 1).empty());
  EXPECT_EQ(got.Item(1, 2)[0], 7);
  // A list longer than the record is malformed.
  Batch bad;
  bad.AddInt32ListList("ids");
  RecordDecoder bad_decoder(&bad);
  EXPECT_THROW(bad_decoder.DecodeAppend(std::string("\x01\x02\x01\0\0\0", 6)), CorruptionError);
}

TEST(RecordCodecTest, PrepareBatchReusesOrRebuildsTheLayout) {
  const Batch in = MixedBatch();
  const RecordCodec codec = RecordCodec::ForBatch(in);
  Batch out;
  out.AddString("other").Append("x");
  EXPECT_FALSE(codec.Matches(out));
  codec.PrepareBatch(&out);
  EXPECT_TRUE(codec.Matches(out));
  EXPECT_EQ(out.num_records(), 0u);
  EXPECT_EQ(out.schema(), in.schema());
}

TEST(RecordCodecTest, RejectsMalformedEncodings) {
  Batch out;
  out.AddString("text");
  out.AddInt32List("ids");
  RecordDecoder decoder(&out);
  EXPECT_THROW(decoder.DecodeAppend(std::string("\x05"
                                                "ab",
                                                3)),
               CorruptionError);
  EXPECT_THROW(decoder.DecodeAppend(std::string("\x01"
                                                "a"
                                                "\x02\x01\0\0\0",
                                                7)),
               CorruptionError);
  EXPECT_THROW(decoder.DecodeAppend(std::string("\x01"
                                                "a"
                                                "\x00"
                                                "z",
                                                4)),
               CorruptionError);
  EXPECT_THROW(decoder.DecodeAppend(std::string("\x80", 1)), CorruptionError);
  Batch good;
  good.AddString("text");
  good.AddInt32List("ids");
  RecordDecoder ok(&good);
  ok.DecodeAppend(
      std::string("\x01"
                  "a"
                  "\x01\x07\0\0\0",
                  7));
  EXPECT_EQ(good.GetString("text")[0], "a");
  EXPECT_EQ(good.GetInt32List("ids")[0][0], 7);
}

}  // namespace
}  // namespace corpusflow
