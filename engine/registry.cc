#include "engine/registry.h"

#include <algorithm>
#include <sstream>

#include "engine/check.h"
#include "engine/error.h"

namespace po = boost::program_options;

namespace corpusflow {

OperatorRegistry& OperatorRegistry::Global() {
  static OperatorRegistry registry;
  return registry;
}

void OperatorRegistry::Register(OperatorDef def) {
  CF_CHECK(Find(def.name) == nullptr, "operator registered twice: " + def.name);
  defs_.push_back(std::move(def));
}

const OperatorDef* OperatorRegistry::Find(std::string_view name) const {
  for (const OperatorDef& d : defs_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<const OperatorDef*> OperatorRegistry::List() const {
  std::vector<const OperatorDef*> out;
  for (const OperatorDef& d : defs_) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

namespace {

const OperatorDef& RequireDef(const OperatorRegistry& registry, std::string_view name) {
  if (const OperatorDef* def = registry.Find(name)) return *def;
  std::vector<std::string> names;
  for (const OperatorDef* d : registry.List()) names.push_back(d->name);
  std::string message = "unknown operator '" + std::string(name) + "'";
  const std::string nearest = NearestName(name, names);
  if (!nearest.empty()) message += " (did you mean '" + nearest + "'?)";
  message += "; `corpusflow ops` lists them";
  throw InvalidArgument(message);
}

std::vector<std::string> OptionNames(const OptionSet& options) {
  std::vector<std::string> names;
  for (const auto& opt : options.named.options()) names.push_back("--" + opt->long_name());
  return names;
}

}  // namespace

std::unique_ptr<Operator> OperatorRegistry::Create(std::string_view name,
                                                   const std::vector<std::string>& args) const {
  const OperatorDef& def = RequireDef(*this, name);
  OptionSet options;
  if (def.describe) def.describe(options);
  po::options_description all;
  all.add(options.named).add(options.hidden);
  OptionValues values;
  const std::string who = std::string(name) + ": ";
  if (def.raw_args) {
    values.insert({"args", po::variable_value(boost::any(args), false)});
  } else {
    try {
      po::store(po::command_line_parser(args)
                    .options(all)
                    .positional(options.positional)
                    .style(po::command_line_style::default_style &
                           ~po::command_line_style::allow_guessing)
                    .run(),
                values);
      po::notify(values);
    } catch (const po::unknown_option& e) {
      std::string option = e.get_option_name();
      std::string message = who + "unknown option '" + option + "'";
      const std::string nearest = NearestName(option, OptionNames(options));
      if (!nearest.empty()) message += " (did you mean '" + nearest + "'?)";
      message += "; `corpusflow help " + std::string(name) + "` lists its options";
      throw InvalidArgument(message);
    } catch (const po::too_many_positional_options_error&) {
      throw InvalidArgument(who + "too many arguments; usage: " + def.synopsis);
    } catch (const po::error& e) {
      throw InvalidArgument(who + e.what());
    }
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
  const OperatorDef& def = RequireDef(*this, name);
  OptionSet options;
  if (def.describe) def.describe(options);
  std::ostringstream out;
  out << "usage: " << def.synopsis << "\n\n" << def.summary << " (" << RoleName(def.role) << ")\n";
  if (!def.details.empty()) out << "\n" << def.details << "\n";
  if (!options.named.options().empty()) out << "\n" << options.named;
  return out.str();
}

OperatorRegistrar::OperatorRegistrar(OperatorDef def) {
  OperatorRegistry::Global().Register(std::move(def));
}

std::string NearestName(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    // Levenshtein distance, two rows.
    std::vector<size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t subst = prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
      }
      std::swap(prev, cur);
    }
    const size_t d = prev[c.size()];
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : std::string();
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
