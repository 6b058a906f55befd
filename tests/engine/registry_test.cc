// Tests of the operator registry: creation through the one option parser with its error
// wording, help text, and the global registry that every operator fills.
#include "engine/registry.h"

#include <gtest/gtest.h>

#include "engine/error.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

using testing::ErrorMessage;
using testing::PredicateFilter;

/// `keep N [--min-length N]`: a filter whose create() checks its values.
OperatorDef KeepDef() {
  return OperatorDef{
      .name = "keep",
      .role = OperatorRole::kTransform,
      .synopsis = "keep N [--min-length N]",
      .summary = "Keep some records",
      .details = "A test operator.",
      .describe =
          [](OptionSet& o) {
            o.named.add_options()("min-length", po::value<int>()->default_value(0),
                                  "shortest record kept");
            o.hidden.add_options()("count", po::value<int>()->required(), "records");
            o.positional.add("count", 1);
          },
      .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
        if (v["min-length"].as<int>() < 0) throw InvalidArgument("--min-length must be >= 0");
        if (v["count"].as<int>() == 13) (void)v["absent"].as<std::string>();  // bad_any_cast
        return std::make_unique<PredicateFilter>([](std::string_view) { return true; });
      },
  };
}

TEST(OperatorRegistryTest, CreatesNamedOperatorsFromArguments) {
  OperatorRegistry registry;
  registry.Register(KeepDef());
  const std::unique_ptr<Operator> op = registry.Create("keep", {"3", "--min-length", "2"});
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->name(), "keep");
}

TEST(OperatorRegistryDeathTest, ASecondOperatorOfTheSameNameIsABug) {
  OperatorRegistry registry;
  registry.Register(KeepDef());
  EXPECT_DEATH(registry.Register(KeepDef()), "check failed at .*: operator registered twice: keep");
}

TEST(OperatorRegistryTest, ErrorsNameTheOperator) {
  OperatorRegistry registry;
  registry.Register(KeepDef());
  auto create_error = [&](std::string_view name, const std::vector<std::string>& args) {
    return ErrorMessage<InvalidArgument>([&] { registry.Create(name, args); });
  };
  EXPECT_EQ(create_error("kepe", {"3"}),
            "unknown operator 'kepe' (did you mean 'keep'?); `corpusflow ops` lists them");
  EXPECT_EQ(create_error("keep", {"3", "--min-lenght", "1"}),
            "keep: unknown option '--min-lenght' (did you mean '--min-length'?); `corpusflow help "
            "keep` lists its options");
  EXPECT_EQ(create_error("keep", {"3", "4"}),
            "keep: too many arguments; usage: keep N [--min-length N]");
  EXPECT_EQ(create_error("keep", {"x"}),
            "keep: the argument ('x') for option '--count' is invalid");
  EXPECT_EQ(create_error("keep", {"3", "--min-length"}),
            "keep: the required argument for option '--min-length' is missing");
  EXPECT_EQ(create_error("keep", {}), "keep: the option '--count' is required but missing");
  // Errors of create() are prefixed too; a value it cannot find is a usage error.
  EXPECT_EQ(create_error("keep", {"3", "--min-length", "-1"}), "keep: --min-length must be >= 0");
  EXPECT_EQ(create_error("keep", {"13"}),
            "keep: missing or malformed option; usage: keep N [--min-length N]");
}

TEST(OperatorRegistryTest, HelpShowsUsageRoleDetailsAndNamedOptions) {
  OperatorRegistry registry;
  registry.Register(KeepDef());
  const std::string help = registry.Help("keep");
  EXPECT_EQ(help.rfind("usage: keep N [--min-length N]\n\nKeep some records (transform)\n\n"
                       "A test operator.\n\noptions:\n  --min-length arg (=0)",
                       0),
            0u)
      << help;
  EXPECT_EQ(help.find("--count"), std::string::npos) << "hidden options stay hidden: " << help;
  EXPECT_THROW(registry.Help("nope"), InvalidArgument);
}

TEST(OperatorRegistryTest, GlobalRegistryHoldsEveryOperatorSorted) {
  const OperatorRegistry& registry = OperatorRegistry::Global();
  const std::vector<std::string> names = registry.Names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* name : {"read", "write", "gen", "head", "shuffle", "vocab", "tee", "tokenize"}) {
    EXPECT_NE(registry.Find(name), nullptr) << name;
  }
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] { registry.Create("heda", {"3"}); }),
            "unknown operator 'heda' (did you mean 'head'?); `corpusflow ops` lists them");
  EXPECT_EQ(registry.Create("head", {"3"})->name(), "head");
}

TEST(OperatorRegistryTest, DeclaredOutputsGiveOverwriteHelpAndProducers) {
  OperatorRegistry registry;
  OperatorDef def = KeepDef();
  def.outputs = {{"kept", "--output"}, {"*_len", "--lengths"}};
  registry.Register(std::move(def));
  const std::string help = registry.Help("keep");
  EXPECT_NE(help.find("\nAdds fields: kept (--output) FIELD_len (--lengths); a field of that name "
                      "from upstream is an error unless --overwrite.\n"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("  --overwrite "), std::string::npos) << help;
  EXPECT_FALSE(registry.Create("keep", {"3"})->overwrite());
  EXPECT_TRUE(registry.Create("keep", {"3", "--overwrite"})->overwrite());
  EXPECT_EQ(registry.ProducersOf("kept"), std::vector<std::string>{"keep"});
  EXPECT_EQ(registry.ProducersOf("text_len"), std::vector<std::string>{"keep --field text"});
  EXPECT_EQ(registry.ProducersOf("_len"), std::vector<std::string>{});
  EXPECT_EQ(registry.DeclaredFieldNames(), std::vector<std::string>{"kept"});
  EXPECT_EQ(registry.FieldOrigin("kept"), "'kept' comes from keep");
  EXPECT_EQ(registry.FieldOrigin("other"), "");
  // An operator that declares no outputs has no --overwrite.
  OperatorRegistry plain;
  plain.Register(KeepDef());
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              plain.Create("keep", {"3", "--overwrite"});
            }),
            "keep: unknown option '--overwrite'; `corpusflow help keep` lists its options");
}

TEST(OperatorRegistryTest, EveryOperatorAddsTheFieldsItDeclares) {
  // The registry's declared outputs are what the operators add with their default options.
  const OperatorRegistry& registry = OperatorRegistry::Global();
  EXPECT_EQ(registry.ProducersOf("src"), (std::vector<std::string>{"gsg", "pseudo-summary"}));
  EXPECT_EQ(registry.FieldOrigin("tgt"), "'tgt' comes from gsg or pseudo-summary");
  EXPECT_EQ(registry.ProducersOf("src_ids"), std::vector<std::string>{"tokenize --field src"});
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"pseudo-summary", {}},      {"gsg", {}}, {"sentences", {}}, {"parse-ids", {}},
      {"mlm", {"--mask-id", "4"}},
  };
  for (const auto& [name, args] : cases) {
    std::vector<AddedField> declared;
    for (const DeclaredOutput& output : registry.Get(name).outputs) {
      declared.push_back(AddedField{output.name, output.option});
    }
    EXPECT_EQ(registry.Create(name, args)->AddedFields(), declared) << name;
  }
}

}  // namespace
}  // namespace corpusflow
