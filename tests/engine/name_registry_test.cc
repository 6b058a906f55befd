// Tests of NameRegistry, NearestName and DidYouMean: the one registry and the one "did you mean"
// behind operators and commands.
#include "engine/name_registry.h"

#include <gtest/gtest.h>

#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;

struct ToyDef {
  std::string name;
  int value = 0;
};

class ToyRegistry : public NameRegistry<ToyDef> {
 public:
  ToyRegistry() : NameRegistry("toy", "`toys` lists them") {}
};

TEST(NameRegistryTest, FindsByExactName) {
  ToyRegistry registry;
  registry.Register(ToyDef{.name = "head", .value = 1});
  registry.Register(ToyDef{.name = "read", .value = 2});
  ASSERT_NE(registry.Find("head"), nullptr);
  EXPECT_EQ(registry.Find("head")->value, 1);
  EXPECT_EQ(registry.Get("read").value, 2);
  EXPECT_EQ(registry.Find("hea"), nullptr);
  EXPECT_EQ(registry.Find("Head"), nullptr);
  EXPECT_EQ(registry.Find(""), nullptr);
}

TEST(NameRegistryDeathTest, DuplicateAndEmptyNamesAreBugs) {
  ToyRegistry registry;
  registry.Register(ToyDef{.name = "head", .value = 1});
  EXPECT_DEATH(registry.Register(ToyDef{.name = "head"}),
               "check failed at .*name_registry.h:[0-9]+: added: toy registered twice: head");
  EXPECT_DEATH(registry.Register(ToyDef{.name = ""}),
               "check failed at .*name_registry.h:[0-9]+: .*toy registered without a name");
  EXPECT_EQ(registry.Get("head").value, 1);
  EXPECT_EQ(registry.List().size(), 1u);
}

TEST(NameRegistryTest, ListsSortedByName) {
  ToyRegistry registry;
  for (const char* name : {"write", "gen", "shuffle", "filter", "head"}) {
    registry.Register(ToyDef{.name = name});
  }
  std::vector<std::string> listed;
  for (const ToyDef* def : registry.List()) listed.push_back(def->name);
  const std::vector<std::string> expected{"filter", "gen", "head", "shuffle", "write"};
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(registry.Names(), expected);
}

TEST(NameRegistryTest, PointersStayValidAsEntriesAreAdded) {
  ToyRegistry registry;
  registry.Register(ToyDef{.name = "m", .value = 7});
  const ToyDef* m = registry.Find("m");
  for (int i = 0; i < 100; ++i) registry.Register(ToyDef{.name = "n" + std::to_string(i)});
  EXPECT_EQ(registry.Find("m"), m);
  EXPECT_EQ(m->value, 7);
}

TEST(NameRegistryTest, UnknownNameSuggestsTheNearest) {
  ToyRegistry registry;
  for (const char* name : {"head", "read", "write"}) registry.Register(ToyDef{.name = name});
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] { registry.Get("heda"); }),
            "unknown toy 'heda' (did you mean 'head'?); `toys` lists them");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] { registry.Get("tokenize"); }),
            "unknown toy 'tokenize'; `toys` lists them");
}

TEST(NearestNameTest, PicksTheClosestWithinALimit) {
  const std::vector<std::string> names{"--seed", "--shards", "--spill-level",
                                       "--spill-compression"};
  EXPECT_EQ(NearestName("--seeed", names), "--seed");
  EXPECT_EQ(NearestName("--shard", names), "--shards");
  EXPECT_EQ(NearestName("--spill-levle", names), "--spill-level");
  EXPECT_EQ(NearestName("--spill-compresion", names), "--spill-compression");
  // max(2, |word|/3) edits at most.
  EXPECT_EQ(NearestName("ab", {"abcd"}), "abcd");
  EXPECT_EQ(NearestName("ab", {"abcde"}), "");
  EXPECT_EQ(NearestName("abcdefghi", {"abcdefxyz"}), "abcdefxyz");
  EXPECT_EQ(NearestName("abcdefghi", {"abcdewxyz"}), "");
  EXPECT_EQ(NearestName("anything", {}), "");
  // Ties go to the first candidate.
  EXPECT_EQ(NearestName("bat", {"cat", "hat"}), "cat");
  EXPECT_EQ(NearestName("bat", {"hat", "cat"}), "hat");
  // Field names ask for max(1, |word|/3): `tgt` is not a misspelt `text`, `txt` is.
  EXPECT_EQ(NearestName("tgt", {"text"}), "text");
  EXPECT_EQ(NearestName("tgt", {"text"}, 1), "");
  EXPECT_EQ(NearestName("txt", {"text"}, 1), "text");
  EXPECT_EQ(NearestName("lables", {"labels"}, 1), "labels");
}

TEST(NearestNameTest, DidYouMeanWordsTheSuggestion) {
  EXPECT_EQ(DidYouMean("rnu", {"help", "run", "shuffle"}), " (did you mean 'run'?)");
  EXPECT_EQ(DidYouMean("zzzzzz", {"help", "run", "shuffle"}), "");
}

}  // namespace
}  // namespace corpusflow
