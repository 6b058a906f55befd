#include "engine/options.h"

#include "engine/error.h"
#include "engine/name_registry.h"

namespace po = boost::program_options;

namespace corpusflow {

std::vector<std::string> OptionNames(const po::options_description& desc) {
  std::vector<std::string> names;
  for (const auto& option : desc.options()) names.push_back("--" + option->long_name());
  return names;
}

po::parsed_options ParseOptions(const OptionSet& options, const std::vector<std::string>& args,
                                const OptionErrors& errors, OptionValues* values) {
  po::options_description all;
  all.add(options.named).add(options.hidden);
  const std::string who = errors.who + ": ";
  try {
    po::parsed_options parsed =
        po::command_line_parser(args)
            .options(all)
            .positional(options.positional)
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .run();
    po::store(parsed, *values);
    po::notify(*values);
    // The parse points at `all`, which ends here; callers read only its options.
    parsed.description = nullptr;
    return parsed;
  } catch (const po::unknown_option& e) {
    const std::string option = e.get_option_name();
    std::string message =
        who + "unknown option '" + option + "'" + DidYouMean(option, OptionNames(options.named));
    if (!errors.unknown_hint.empty()) message += "; " + errors.unknown_hint;
    throw InvalidArgument(message);
  } catch (const po::too_many_positional_options_error& e) {
    if (errors.usage.empty()) throw InvalidArgument(who + e.what());
    throw InvalidArgument(who + "too many arguments; usage: " + errors.usage);
  } catch (const po::error& e) {
    throw InvalidArgument(who + e.what());
  }
}

}  // namespace corpusflow
