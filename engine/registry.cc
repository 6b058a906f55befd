#include "engine/registry.h"

#include <sstream>

#include "engine/error.h"

namespace po = boost::program_options;

namespace corpusflow {

OptionSet OperatorDef::Options() const {
  OptionSet options;
  if (describe) describe(options);
  return options;
}

OperatorRegistry::OperatorRegistry() : NameRegistry("operator", "`corpusflow ops` lists them") {}

OperatorRegistry& OperatorRegistry::Global() {
  static OperatorRegistry registry;
  return registry;
}

std::unique_ptr<Operator> OperatorRegistry::Create(std::string_view name,
                                                   const std::vector<std::string>& args) const {
  const OperatorDef& def = Get(name);
  const std::string who = std::string(name) + ": ";
  OptionValues values;
  if (def.raw_args) {
    values.insert({"args", po::variable_value(boost::any(args), false)});
  } else {
    ParseOptions(
        def.Options(), args,
        OptionErrors{
            .who = std::string(name),
            .unknown_hint = "`corpusflow help " + std::string(name) + "` lists its options",
            .usage = def.synopsis,
        },
        &values);
  }
  std::unique_ptr<Operator> op;
  try {
    op = def.create(values);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(who + e.what());
  } catch (const boost::bad_any_cast&) {
    throw InvalidArgument(who + "missing or malformed option; usage: " + def.synopsis);
  }
  op->set_name(def.name);
  return op;
}

std::string OperatorRegistry::Help(std::string_view name) const {
  const OperatorDef& def = Get(name);
  const OptionSet options = def.Options();
  std::ostringstream out;
  out << "usage: " << def.synopsis << "\n\n" << def.summary << " (" << RoleName(def.role) << ")\n";
  if (!def.details.empty()) out << "\n" << def.details << "\n";
  if (!options.named.options().empty()) out << "\n" << options.named;
  return out.str();
}

OperatorRegistrar::OperatorRegistrar(OperatorDef def) {
  OperatorRegistry::Global().Register(std::move(def));
}

std::string_view RoleName(OperatorRole role) {
  switch (role) {
    case OperatorRole::kSource:
      return "source";
    case OperatorRole::kTransform:
      return "transform";
    case OperatorRole::kSink:
      return "sink";
    case OperatorRole::kBreaker:
      return "pipeline breaker";
  }
  return "?";
}

}  // namespace corpusflow
