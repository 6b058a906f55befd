#include "cli/pipeline_template.h"

#include <set>
#include <sstream>

#include "cli/command.h"
#include "engine/check.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {

ShortcutCommandLine::ShortcutCommandLine(std::string command, std::string synopsis)
    : command_(std::move(command)), synopsis_(std::move(synopsis)), own_(command_ + " options") {
  AddRunOptions(run_);
}

void ShortcutCommandLine::TakePositionals(const std::string& name) { positional_name_ = name; }

void ShortcutCommandLine::Forward(const std::string& op) {
  OperatorRegistry::Global().Get(op);
  forwarded_.push_back(Forwarded{.op = op, .args = {}});
}

std::vector<po::options_description> ShortcutCommandLine::ForwardedOptions() const {
  std::set<std::string> taken;
  auto names_of = [](const po::option_description& option) {
    std::vector<std::string> names{"--" + option.long_name()};
    const std::string short_name =
        option.canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (short_name.size() == 2 && short_name[0] == '-') names.push_back(short_name);
    return names;
  };
  auto take = [&](const po::option_description& option) {
    for (const std::string& name : names_of(option)) taken.insert(name);
  };
  for (const auto& option : own_.options()) take(*option);
  for (const auto& option : run_.options()) take(*option);
  if (!positional_name_.empty()) taken.insert("--" + positional_name_);
  std::vector<po::options_description> groups;
  for (const Forwarded& f : forwarded_) {
    po::options_description group("options of the " + f.op + " operator (`corpusflow help " + f.op +
                                  "`)");
    const OptionSet declared = OperatorRegistry::Global().Get(f.op).Options();
    for (const auto& option : declared.named.options()) {
      bool free = true;
      for (const std::string& name : names_of(*option)) free = free && taken.count(name) == 0;
      if (!free) continue;
      take(*option);
      group.add(option);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

po::options_description ShortcutCommandLine::Visible() const {
  po::options_description visible;
  visible.add(own_);
  for (const po::options_description& group : ForwardedOptions()) {
    if (!group.options().empty()) visible.add(group);
  }
  visible.add(run_);
  return visible;
}

void ShortcutCommandLine::Parse(const std::vector<std::string>& args) {
  const std::vector<po::options_description> groups = ForwardedOptions();
  OptionSet options;
  options.named.add(own_);
  for (const po::options_description& group : groups) options.named.add(group);
  options.named.add(run_);
  if (!positional_name_.empty()) {
    options.hidden.add_options()(positional_name_.c_str(), po::value<std::vector<std::string>>());
    options.positional.add(positional_name_.c_str(), -1);
  }
  values_.clear();
  for (Forwarded& f : forwarded_) f.args.clear();
  const po::parsed_options parsed = ParseOptions(
      options, args,
      OptionErrors{.who = command_,
                   .unknown_hint = "`corpusflow " + command_ + " --help` lists its options",
                   .usage = "corpusflow " + synopsis_},
      &values_);
  for (const po::option& option : parsed.options) {
    if (option.position_key >= 0) continue;
    for (size_t i = 0; i < groups.size(); ++i) {
      if (groups[i].find_nothrow(option.string_key, false) != nullptr) {
        std::vector<std::string>& to = forwarded_[i].args;
        to.insert(to.end(), option.original_tokens.begin(), option.original_tokens.end());
        break;
      }
    }
  }
}

const std::vector<std::string>& ShortcutCommandLine::ArgsFor(std::string_view op) const {
  for (const Forwarded& f : forwarded_) {
    if (f.op == op) return f.args;
  }
  CF_CHECK(false, "ShortcutCommandLine: '" + std::string(op) + "' is not forwarded");
}

std::string ShortcutCommandLine::Help(std::string_view description) const {
  std::ostringstream options;
  options << Visible();
  // Boost opens every group with a blank line; the first follows the description's own.
  std::string text = options.str();
  if (!text.empty() && text[0] == '\n') text.erase(0, 1);
  return "usage: corpusflow " + synopsis_ + "\n\n" + std::string(description) + "\n\n" + text;
}

}  // namespace corpusflow
