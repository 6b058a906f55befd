#include "engine/registry.h"

#include <algorithm>
#include <sstream>

#include "engine/error.h"

namespace po = boost::program_options;

namespace corpusflow {

OptionSet OperatorDef::Options() const {
  OptionSet options;
  if (describe) describe(options);
  if (!outputs.empty()) {
    std::string names;
    for (const DeclaredOutput& output : outputs) {
      names += (names.empty() ? "" : ", ") + output.option;
    }
    options.named.add_options()("overwrite", po::bool_switch(),
                                ("replace a field of the same name that upstream already has "
                                 "(otherwise an error; or rename the output: " +
                                 names + ")")
                                    .c_str());
  }
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
  if (!def.outputs.empty()) op->set_overwrite(values["overwrite"].as<bool>());
  return op;
}

std::string OperatorRegistry::Help(std::string_view name) const {
  const OperatorDef& def = Get(name);
  const OptionSet options = def.Options();
  std::ostringstream out;
  out << "usage: " << def.synopsis << "\n\n" << def.summary << " (" << RoleName(def.role) << ")\n";
  if (!def.details.empty()) out << "\n" << def.details << "\n";
  if (!def.outputs.empty()) {
    out << "\nAdds fields:";
    for (const DeclaredOutput& output : def.outputs) {
      out << " " << (output.name.starts_with('*') ? "FIELD" + output.name.substr(1) : output.name)
          << " (" << output.option << ")";
    }
    out << "; a field of that name from upstream is an error unless --overwrite.\n";
  }
  if (!options.named.options().empty()) out << "\n" << options.named;
  return out.str();
}

std::vector<std::string> OperatorRegistry::ProducersOf(std::string_view field) const {
  std::vector<std::string> exact, derived;
  for (const OperatorDef* def : List()) {
    for (const DeclaredOutput& output : def->outputs) {
      if (!output.name.starts_with('*')) {
        if (output.name == field) exact.push_back(def->name);
        continue;
      }
      const std::string_view suffix = std::string_view(output.name).substr(1);
      if (field.size() > suffix.size() && field.ends_with(suffix)) {
        derived.push_back(def->name + " --field " +
                          std::string(field.substr(0, field.size() - suffix.size())));
      }
    }
  }
  return exact.empty() ? derived : exact;
}

std::string OperatorRegistry::FieldOrigin(std::string_view field) const {
  const std::vector<std::string> producers = ProducersOf(field);
  if (producers.empty()) return "";
  std::string text = "'" + std::string(field) + "' comes from ";
  for (size_t i = 0; i < producers.size(); ++i) {
    if (i > 0) text += i + 1 == producers.size() ? " or " : ", ";
    text += producers[i];
  }
  return text;
}

std::vector<std::string> OperatorRegistry::DeclaredFieldNames() const {
  std::vector<std::string> names;
  for (const OperatorDef* def : List()) {
    for (const DeclaredOutput& output : def->outputs) {
      if (!output.name.starts_with('*')) names.push_back(output.name);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
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
