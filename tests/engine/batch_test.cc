#include "engine/batch.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace corpusflow {
namespace {

/// A batch with the three column types: text (string), tokens (string-list), ids (int32-list).
/// Record i has text "doc<i>", i+1 tokens "t<i>.<j>" (record 2 has none) and ids {i, i*10}.
Batch MakeMixedBatch(int records) {
  Batch batch;
  // Adding a column may move the others: take the references once all are added.
  batch.AddString("text");
  batch.AddStringList("tokens");
  batch.AddInt32List("ids", 50000);
  StringColumn& text = batch.GetString("text");
  StringListColumn& tokens = batch.GetStringList("tokens");
  Int32ListColumn& ids = batch.GetInt32List("ids");
  for (int i = 0; i < records; ++i) {
    text.Append("doc" + std::to_string(i));
    if (i != 2) {
      for (int j = 0; j <= i; ++j)
        tokens.AppendItem("t" + std::to_string(i) + "." + std::to_string(j));
    }
    tokens.EndRecord();
    const std::vector<int32_t> values = {i, i * 10};
    ids.Append(values);
  }
  return batch;
}

std::vector<std::string> Items(const StringListColumn& column, size_t record) {
  std::vector<std::string> out;
  for (size_t j = 0; j < column.ItemCount(record); ++j) out.emplace_back(column.Item(record, j));
  return out;
}

std::vector<int32_t> Ids(const Int32ListColumn& column, size_t record) {
  const auto span = column[record];
  return std::vector<int32_t>(span.begin(), span.end());
}

TEST(StringColumnTest, AppendsAndIndexesBinaryStrings) {
  StringColumn column;
  EXPECT_EQ(column.size(), 0u);
  column.Append("abc");
  column.Append("");
  column.Append(std::string("a\0b\xff", 4));
  column.bytes().append("direct");
  column.EndRecord();
  ASSERT_EQ(column.size(), 4u);
  EXPECT_EQ(column[0], "abc");
  EXPECT_EQ(column[1], "");
  EXPECT_EQ(column[2], std::string_view("a\0b\xff", 4));
  EXPECT_EQ(column[3], "direct");
  EXPECT_EQ(column.DataBytes(), 3u + 0u + 4u + 6u);
  EXPECT_GE(column.MemoryBytes(), column.DataBytes());
  column.Clear();
  EXPECT_EQ(column.size(), 0u);
  EXPECT_EQ(column.DataBytes(), 0u);
}

TEST(StringListColumnTest, RecordsHoldItemLists) {
  StringListColumn column;
  column.AppendItem("a");
  column.AppendItem("bc");
  column.EndRecord();
  column.EndRecord();  // an empty list
  column.AppendItem("");
  column.EndRecord();  // one empty item
  ASSERT_EQ(column.size(), 3u);
  EXPECT_EQ(Items(column, 0), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(column.ItemCount(1), 0u);
  EXPECT_EQ(Items(column, 2), (std::vector<std::string>{""}));
  EXPECT_EQ(column.DataBytes(), 3u);
}

TEST(Int32ListColumnTest, RecordsHoldIdLists) {
  Int32ListColumn column;
  const std::vector<int32_t> first = {1, -2, 2147483647};
  column.Append(first);
  column.EndRecord();
  column.AppendValue(7);
  column.EndRecord();
  ASSERT_EQ(column.size(), 3u);
  EXPECT_EQ(Ids(column, 0), first);
  EXPECT_TRUE(Ids(column, 1).empty());
  EXPECT_EQ(Ids(column, 2), (std::vector<int32_t>{7}));
  EXPECT_EQ(column.DataBytes(), 4u * sizeof(int32_t));
}

TEST(BatchTest, ColumnsOfEveryType) {
  Batch batch = MakeMixedBatch(4);
  EXPECT_EQ(batch.num_records(), 4u);
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(batch.GetString("text")[3], "doc3");
  EXPECT_EQ(Items(batch.GetStringList("tokens"), 1), (std::vector<std::string>{"t1.0", "t1.1"}));
  EXPECT_EQ(batch.GetStringList("tokens").ItemCount(2), 0u);
  EXPECT_EQ(Ids(batch.GetInt32List("ids"), 3), (std::vector<int32_t>{3, 30}));
  EXPECT_EQ(batch.schema().ToString(),
            "text:string, tokens:string-list, ids:int32-list[vocab 50000]");
  ASSERT_NE(batch.Find("ids"), nullptr);
  EXPECT_EQ(batch.Find("ids")->field.vocab_size, 50000);
  EXPECT_EQ(batch.Find("missing"), nullptr);
}

TEST(BatchTest, EmptyBatchHasNoRecords) {
  Batch batch;
  EXPECT_EQ(batch.num_records(), 0u);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.DataBytes(), 0u);
  batch.AddString("text");
  EXPECT_TRUE(batch.empty());
}

TEST(BatchDeathTest, TypedGettersAbortOnMissingOrMistypedColumns) {
  Batch batch = MakeMixedBatch(1);
  EXPECT_DEATH(batch.GetString("nope"),
               "check failed at .*batch.cc:[0-9]+: .*batch has no column 'nope'");
  EXPECT_DEATH(batch.GetString("ids"), "column 'ids' has type int32-list");
  EXPECT_DEATH(batch.GetInt32List("text"), "column 'text' has type string");
  EXPECT_DEATH(batch.GetStringList("text"), "column 'text' has type string");
}

TEST(BatchTest, AddingAnExistingColumnClearsOrReplacesIt) {
  Batch batch = MakeMixedBatch(3);
  // Same name and type: cleared in place, position kept.
  StringColumn& text = batch.AddString("text");
  EXPECT_EQ(text.size(), 0u);
  EXPECT_EQ(batch.columns().front().field.name, "text");
  // Same name, other type: replaced.
  batch.AddInt32List("tokens");
  EXPECT_EQ(batch.Find("tokens")->field.type, FieldType::kInt32List);
  EXPECT_EQ(batch.columns().size(), 3u);
  batch.Remove("tokens");
  EXPECT_EQ(batch.Find("tokens"), nullptr);
  EXPECT_EQ(batch.columns().size(), 2u);
}

// A pooled batch that a source lays out anew (Reset, then its own fields) gets back the buffers
// of the columns later stages added: the next stage's column of that storage reuses them instead
// of allocating (and faulting in) megabytes per batch. Release gives everything back.
TEST(BatchTest, ResetKeepsColumnBuffersForTheNextLayoutAndReleaseFreesThem) {
  Batch batch;
  batch.AddString("text").Append(std::string(1 << 16, 'x'));
  Int32ListColumn& ids = batch.AddInt32List("text_ids", 100);
  ids.Append(std::vector<int32_t>(1 << 16, 7));
  const int32_t* ids_buffer = ids.values().data();
  const size_t ids_capacity = ids.values().capacity();
  const size_t memory = batch.MemoryBytes();
  batch.Reset();
  EXPECT_EQ(batch.columns().size(), 0u);
  EXPECT_EQ(batch.num_records(), 0u);
  EXPECT_EQ(batch.MemoryBytes(), memory);  // the buffers are kept as spares
  batch.AddString("text");
  Int32ListColumn& again = batch.AddInt32List("other_ids", 5);
  EXPECT_EQ(again.size(), 0u);
  EXPECT_EQ(again.values().data(), ids_buffer);
  EXPECT_EQ(again.values().capacity(), ids_capacity);
  EXPECT_EQ(batch.Find("other_ids")->field.vocab_size, 5);
  EXPECT_EQ(batch.Find("text_ids"), nullptr);
  batch.Release();
  EXPECT_EQ(batch.columns().size(), 0u);
  EXPECT_LT(batch.MemoryBytes(), 1024u);
}

TEST(BatchTest, DataBytesCountsStringsItemsAndIds) {
  Batch batch = MakeMixedBatch(4);
  // text: "doc0".."doc3" = 16 bytes; tokens: t0.0 | t1.0 t1.1 | - | t3.0..t3.3 = 7 items x 4;
  // ids: 8 values x 4 bytes.
  EXPECT_EQ(batch.DataBytes(), 16u + 28u + 32u);
  EXPECT_GE(batch.MemoryBytes(), batch.DataBytes());
}

TEST(BatchTest, CopyLayoutFromMakesAnEmptyBatchWithTheSameColumns) {
  const Batch source = MakeMixedBatch(3);
  Batch copy;
  copy.AddString("stale");
  copy.set_sequence(9);
  copy.CopyLayoutFrom(source);
  EXPECT_EQ(copy.num_records(), 0u);
  EXPECT_EQ(copy.schema(), source.schema());
  EXPECT_EQ(copy.Find("ids")->field.vocab_size, 50000);

  // Reusing a batch that already has the layout keeps it (and clears the records).
  copy.AppendRecordFrom(source, 0);
  copy.CopyLayoutFrom(source);
  EXPECT_EQ(copy.num_records(), 0u);
  EXPECT_EQ(copy.schema(), source.schema());
}

TEST(BatchTest, AppendRecordFromCopiesEveryColumn) {
  const Batch source = MakeMixedBatch(4);
  Batch copy;
  copy.CopyLayoutFrom(source);
  copy.AppendRecordFrom(source, 3);
  copy.AppendRecordFrom(source, 2);
  copy.AppendRecordFrom(source, 3);
  ASSERT_EQ(copy.num_records(), 3u);
  EXPECT_EQ(copy.GetString("text")[0], "doc3");
  EXPECT_EQ(copy.GetString("text")[1], "doc2");
  EXPECT_EQ(Items(copy.GetStringList("tokens"), 0), Items(source.GetStringList("tokens"), 3));
  EXPECT_EQ(copy.GetStringList("tokens").ItemCount(1), 0u);
  EXPECT_EQ(Ids(copy.GetInt32List("ids"), 2), (std::vector<int32_t>{3, 30}));
}

TEST(BatchTest, KeepRecordsCompactsEveryColumnStably) {
  Batch batch = MakeMixedBatch(6);
  const Batch original = batch;
  const std::vector<bool> keep = {false, true, true, false, true, false};
  batch.KeepRecords(keep);
  ASSERT_EQ(batch.num_records(), 3u);
  const std::vector<size_t> kept = {1, 2, 4};
  for (size_t k = 0; k < kept.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(batch.GetString("text")[k], original.GetString("text")[kept[k]]);
    EXPECT_EQ(Items(batch.GetStringList("tokens"), k),
              Items(original.GetStringList("tokens"), kept[k]));
    EXPECT_EQ(Ids(batch.GetInt32List("ids"), k), Ids(original.GetInt32List("ids"), kept[k]));
  }
  // The byte figures follow the kept records exactly.
  Batch expected;
  expected.CopyLayoutFrom(original);
  for (size_t i : kept) expected.AppendRecordFrom(original, i);
  EXPECT_EQ(batch.DataBytes(), expected.DataBytes());
  EXPECT_EQ(batch.GetString("text").bytes(), expected.GetString("text").bytes());
  EXPECT_EQ(batch.GetString("text").offsets(), expected.GetString("text").offsets());
}

/// The id lists of record `record`.
std::vector<std::vector<int32_t>> Lists(const Int32ListListColumn& column, size_t record) {
  std::vector<std::vector<int32_t>> out;
  for (size_t j = 0; j < column.ItemCount(record); ++j) {
    const auto span = column.Item(record, j);
    out.emplace_back(span.begin(), span.end());
  }
  return out;
}

TEST(Int32ListListColumnTest, KeepAndCopyRecordsOfIdListsOfSentences) {
  Batch batch;
  Int32ListListColumn& lists = batch.AddInt32ListList("sentences_ids", 100);
  // Record i has i lists; list j of record i is {i, j} (record 0 has none).
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < i; ++j) lists.AppendItem(std::vector<int32_t>{i, j});
    lists.EndRecord();
  }
  EXPECT_EQ(batch.num_records(), 5u);
  EXPECT_EQ(batch.DataBytes(), 10 * 2 * sizeof(int32_t));
  EXPECT_EQ(batch.schema().fields()[0].type, FieldType::kInt32ListList);
  EXPECT_EQ(FieldTypeName(FieldType::kInt32ListList), "int32-list-list");
  Batch copy;
  copy.CopyLayoutFrom(batch);
  copy.AppendRecordFrom(batch, 3);
  EXPECT_EQ(Lists(copy.GetInt32ListList("sentences_ids"), 0),
            (std::vector<std::vector<int32_t>>{{3, 0}, {3, 1}, {3, 2}}));
  batch.KeepRecords({true, false, true, false, true});
  const Int32ListListColumn& kept = batch.GetInt32ListList("sentences_ids");
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_TRUE(Lists(kept, 0).empty());
  EXPECT_EQ(Lists(kept, 1), (std::vector<std::vector<int32_t>>{{2, 0}, {2, 1}}));
  EXPECT_EQ(Lists(kept, 2), (std::vector<std::vector<int32_t>>{{4, 0}, {4, 1}, {4, 2}, {4, 3}}));
  EXPECT_EQ(batch.DataBytes(), 6 * 2 * sizeof(int32_t));
}

TEST(BatchTest, KeepRecordsAllOrNone) {
  Batch batch = MakeMixedBatch(4);
  const Batch original = batch;
  batch.KeepRecords(std::vector<bool>(4, true));
  EXPECT_EQ(batch.num_records(), 4u);
  EXPECT_EQ(batch.DataBytes(), original.DataBytes());
  batch.KeepRecords(std::vector<bool>(4, false));
  EXPECT_EQ(batch.num_records(), 0u);
  EXPECT_EQ(batch.DataBytes(), 0u);
  EXPECT_EQ(batch.columns().size(), 3u);
}

TEST(BatchTest, ClearRecordsKeepsColumnsAndResetDropsThem) {
  Batch batch = MakeMixedBatch(3);
  batch.set_sequence(5);
  batch.set_first_record(100);
  batch.ClearRecords();
  EXPECT_EQ(batch.num_records(), 0u);
  EXPECT_EQ(batch.columns().size(), 3u);
  EXPECT_EQ(batch.sequence(), 0u);
  EXPECT_EQ(batch.first_record(), 0u);
  batch.Reset();
  EXPECT_TRUE(batch.columns().empty());
}

}  // namespace
}  // namespace corpusflow
