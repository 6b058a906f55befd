// Tests of engine/json_writer.h: the escaping (against a byte-at-a-time oracle at every offset
// of the word-at-a-time loop), both layouts with their separators and breaks, exact integers and
// the double format.
#include "engine/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace corpusflow {
namespace {

/// The obvious one-byte-at-a-time escaping, as an oracle for the word-at-a-time one.
std::string SimpleJsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(JsonWriterTest, EscapesAtEveryOffset) {
  for (int special = 0; special < 256; ++special) {
    for (size_t length = 1; length <= 19; ++length) {
      for (size_t at = 0; at < length; ++at) {
        std::string s(length, static_cast<char>(0xE4 - (at % 3)));  // high bytes around it
        s[at] = static_cast<char>(special);
        std::string out = "prefix";
        AppendJsonString(s, &out);
        ASSERT_EQ(out, "prefix" + SimpleJsonString(s)) << special << " at " << at << "/" << length;
      }
    }
  }
}

TEST(JsonWriterTest, NamedEscapesAndUnicodeEscapes) {
  EXPECT_EQ(JsonQuote(std::string("a\"b\\c\b\f\n\r\t\x01\x1f\x7f/\0", 15)),
            "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\\u0000\"");
  // UTF-8 passes through as it is.
  EXPECT_EQ(JsonQuote("语料 ü \xF0\x9F\x98\x80"), "\"语料 ü \xF0\x9F\x98\x80\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

TEST(JsonWriterTest, CompactLayout) {
  std::string out = "x";
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("text");
  json.String("hi");
  json.Key(JsonKey("tok\"ens"));
  json.BeginArray();
  json.String("a");
  json.String("b");
  json.EndArray();
  json.Key("ids");
  json.BeginArray();
  json.Int(-1);
  json.Int(0);
  json.Uint(7);
  json.EndArray();
  json.Key("empty");
  json.BeginArray();
  json.EndArray();
  json.Key("obj");
  json.BeginObject();
  json.EndObject();
  json.Key("flags");
  json.BeginArray();
  json.Bool(true);
  json.Bool(false);
  json.Null();
  json.EndArray();
  json.EndObject();
  EXPECT_EQ(out,
            "x{\"text\":\"hi\",\"tok\\\"ens\":[\"a\",\"b\"],\"ids\":[-1,0,7],\"empty\":[],"
            "\"obj\":{},\"flags\":[true,false,null]}");
}

TEST(JsonWriterTest, RawMembersGoInAsTheyAreWithTheirCommas) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.RawMembers("\"id\":7,\"x\": [1, 2.50]");
  json.Key("text");
  json.String("a");
  json.RawMembers("");
  json.RawMembers("\"ok\":true");
  json.EndObject();
  EXPECT_EQ(out, "{\"id\":7,\"x\": [1, 2.50],\"text\":\"a\",\"ok\":true}");
  out.clear();
  JsonWriter empty(&out);
  empty.BeginObject();
  empty.RawMembers("");
  empty.Key("a");
  empty.Int(1);
  empty.EndObject();
  EXPECT_EQ(out, "{\"a\":1}");
}

TEST(JsonWriterTest, SpacedLayoutWithBreaks) {
  std::string out;
  JsonWriter json(&out, JsonWriter::Style::kSpaced);
  json.BeginObject();
  json.Break("\n  ");
  json.Key("a");
  json.Uint(1);
  json.Break("\n  ");
  json.Key("list");
  json.BeginArray();
  for (int i = 0; i < 2; ++i) {
    json.Break("\n    ");
    json.BeginObject();
    json.Key("i");
    json.Int(i);
    json.Key("j");
    json.BeginArray();
    json.Int(1);
    json.Int(2);
    json.EndArray();
    json.EndObject();
  }
  json.Break("\n  ");
  json.EndArray();
  json.Break("\n");
  json.EndObject();
  EXPECT_EQ(out,
            "{\n  \"a\": 1,\n  \"list\": [\n    {\"i\": 0, \"j\": [1, 2]},\n"
            "    {\"i\": 1, \"j\": [1, 2]}\n  ]\n}");
}

TEST(JsonWriterTest, IntegersAreExact) {
  std::string out;
  JsonWriter json(&out);
  json.BeginArray();
  json.Int(std::numeric_limits<int64_t>::min());
  json.Int(std::numeric_limits<int64_t>::max());
  json.Uint(std::numeric_limits<uint64_t>::max());
  json.Uint(51380224);
  json.EndArray();
  EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807,18446744073709551615,51380224]");
}

TEST(JsonWriterTest, DoublesHaveSixDigitsAndIntegersStayExact) {
  EXPECT_EQ(JsonNumber(0.1234567), "0.123457");
  EXPECT_EQ(JsonNumber(1.5), "1.5");
  EXPECT_EQ(JsonNumber(0), "0");
  EXPECT_EQ(JsonNumber(-0.0), "-0");
  EXPECT_EQ(JsonNumber(999999), "999999");
  EXPECT_EQ(JsonNumber(1234567.5), "1.23457e+06");
  EXPECT_EQ(JsonNumber(1e-7), "1e-07");
  // Integers never get an exponent (printf's %.6g would write 5.13802e+07).
  EXPECT_EQ(JsonNumber(51380224), "51380224");
  EXPECT_EQ(JsonNumber(-51380224), "-51380224");
  EXPECT_EQ(JsonNumber(9007199254740991.0), "9007199254740991");
  // From 2^53 on a double is not an exact integer: six digits again.
  EXPECT_EQ(JsonNumber(9007199254740992.0), "9.0072e+15");
  EXPECT_EQ(JsonNumber(std::nan("")), "null");
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::infinity()), "null");
  std::string out;
  JsonWriter json(&out);
  json.Double(2.5);
  EXPECT_EQ(out, "2.5");
}

// Decimal never writes an exponent (Double writes 5.13802e+07 and 1e-06): the --stats-json
// document's numbers.
TEST(JsonWriterTest, DecimalsHaveNoExponent) {
  auto decimal = [](double v) {
    std::string out;
    AppendJsonDecimal(v, &out);
    return out;
  };
  EXPECT_EQ(decimal(51380200.5), "51380200.5");
  EXPECT_EQ(decimal(51380200), "51380200");
  EXPECT_EQ(decimal(0.000001), "0.000001");
  EXPECT_EQ(decimal(1e-9), "0");
  EXPECT_EQ(decimal(-1e-9), "0");
  EXPECT_EQ(decimal(2.5), "2.5");
  EXPECT_EQ(decimal(0.123456789), "0.123457");
  EXPECT_EQ(decimal(1e20), "100000000000000000000");
  EXPECT_EQ(decimal(std::nan("")), "null");
  std::string out;
  JsonWriter json(&out);
  json.BeginArray();
  json.Decimal(1.25e-3);
  json.Decimal(-7.5);
  json.EndArray();
  EXPECT_EQ(out, "[0.00125,-7.5]");
}

}  // namespace
}  // namespace corpusflow
