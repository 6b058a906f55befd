// Tests of operators/io/json_text.h: members split exactly as written (nested values, strings with
// escaped quotes and brackets, duplicates), RFC 8259 number lengths, and number blanking that
// keeps the length and leaves strings and invalid numbers alone.
#include "operators/io/json_text.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace corpusflow {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

Members Split(std::string_view json) {
  std::vector<RawMember> raw;
  SplitJsonMembers(json, &raw);
  Members out;
  for (const RawMember& m : raw) out.emplace_back(m.key, m.value);
  return out;
}

TEST(JsonTextTest, SplitsMembersExactlyAsWritten) {
  EXPECT_EQ(Split(R"( { "a" : 1.50 , "b":[1, {"c":"}]"}] ,"a":"x\"y,}", "t\u0065":null} )"),
            (Members{{R"("a")", "1.50"},
                     {R"("b")", R"([1, {"c":"}]"}])"},
                     {R"("a")", R"("x\"y,}")"},
                     {R"("t\u0065")", "null"}}));
  EXPECT_EQ(Split("{}"), Members{});
  EXPECT_EQ(Split(R"({"o":{"p":{"q":[]}},"f":false})"),
            (Members{{R"("o")", R"({"p":{"q":[]}})"}, {R"("f")", "false"}}));
}

TEST(JsonTextTest, NumberLengthFollowsRfc8259) {
  EXPECT_EQ(JsonNumberLength("1e400"), 5u);
  EXPECT_EQ(JsonNumberLength("-0.5E-9,"), 7u);
  EXPECT_EQ(JsonNumberLength("123456789012345678901234567890]"), 30u);
  EXPECT_EQ(JsonNumberLength("01"), 1u);  // "0", then a second token the parser refuses
  EXPECT_EQ(JsonNumberLength("1."), 0u);
  EXPECT_EQ(JsonNumberLength("1e"), 0u);
  EXPECT_EQ(JsonNumberLength("+1"), 0u);
  EXPECT_EQ(JsonNumberLength("-"), 0u);
  EXPECT_EQ(JsonNumberLength(".5"), 0u);
}

TEST(JsonTextTest, BlankingKeepsTheLengthAndLeavesStringsAndInvalidNumbers) {
  std::string json = R"({"n":1e400,"s":"1e400 \"2\"","l":[-2,3.5e+999]})";
  const size_t size = json.size();
  EXPECT_TRUE(BlankJsonNumbers(json.data(), json.size()));
  EXPECT_EQ(json, R"({"n":0    ,"s":"1e400 \"2\"","l":[0 ,0       ]})");
  EXPECT_EQ(json.size(), size);

  std::string strings = R"({"s":"-1","t":"2"})";
  EXPECT_FALSE(BlankJsonNumbers(strings.data(), strings.size()));
  EXPECT_EQ(strings, R"({"s":"-1","t":"2"})");

  std::string invalid = R"({"a":01,"b":1.,"c":+1})";
  EXPECT_FALSE(BlankJsonNumbers(invalid.data(), invalid.size()));
  EXPECT_EQ(invalid, R"({"a":01,"b":1.,"c":+1})");
}

}  // namespace
}  // namespace corpusflow
