#include "engine/options.h"

#include <charconv>
#include <functional>
#include <optional>
#include <type_traits>

#include "engine/error.h"
#include "engine/name_registry.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// A typed option value whose text goes through `parse`, which returns the value or the reason
/// it is refused ("is not a whole number from 1 to 10"); Boost adds the option's name.
template <typename T>
class CheckedValue : public po::typed_value<T> {
 public:
  using Parse = std::function<std::optional<T>(const std::string& text, std::string* why)>;
  explicit CheckedValue(Parse parse) : po::typed_value<T>(nullptr), parse_(std::move(parse)) {}

  void xparse(boost::any& value_store, const std::vector<std::string>& new_tokens) const override {
    po::validators::check_first_occurrence(value_store);
    const std::string& text = po::validators::get_single_string(new_tokens, true);
    std::string why;
    const std::optional<T> value = parse_(text, &why);
    // The template's only placeholder is the option's name, so a '%' the user typed is kept.
    if (!value) throw po::error_with_option_name("%canonical_option%: '" + text + "' " + why);
    value_store = boost::any(*value);
  }

 private:
  Parse parse_;
};

/// Parse all of `text` as a T: digits, and a leading '-' for a signed T.
template <typename T>
std::optional<T> ParseWhole(const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

template <typename T>
std::string RangeText(const char* what, T min, T max) {
  if (max == std::numeric_limits<T>::max()) {
    if (min == 0 && std::is_unsigned_v<T>) return what;
    return std::string(what) + " of at least " + std::to_string(min);
  }
  return std::string(what) + " from " + std::to_string(min) + " to " + std::to_string(max);
}

/// A whole number of type T in [min, max], refused with "is not WHAT ..." otherwise.
template <typename T>
po::typed_value<T>* WholeNumberValue(const char* what, T min, T max) {
  const std::string expected = "is not " + RangeText(what, min, max);
  return new CheckedValue<T>([=](const std::string& text, std::string* why) -> std::optional<T> {
    const std::optional<T> value = ParseWhole<T>(text);
    if (!value || *value < min || *value > max) {
      *why = expected;
      return std::nullopt;
    }
    return value;
  });
}

}  // namespace

po::typed_value<uint64_t>* CountValue(uint64_t min, uint64_t max) {
  return WholeNumberValue<uint64_t>("a whole number", min, max);
}

po::typed_value<int64_t>* IntegerValue(int64_t min, int64_t max) {
  return WholeNumberValue<int64_t>("an integer", min, max);
}

po::typed_value<uint64_t>* ByteSizeValue(uint64_t min, uint64_t max) {
  std::string range;
  if (min > 0) range += " of at least " + FormatBytes(static_cast<double>(min));
  if (max != std::numeric_limits<uint64_t>::max()) {
    range +=
        (min > 0 ? " and" : "") + std::string(" at most ") + FormatBytes(static_cast<double>(max));
  }
  const std::string expected =
      "is not a size" + range + " (a number with an optional K, M, G or T suffix, e.g. 256M)";
  return new CheckedValue<uint64_t>(
      [=](const std::string& text, std::string* why) -> std::optional<uint64_t> {
        try {
          const uint64_t value = ParseByteSize(text);
          if (value >= min && value <= max) return value;
        } catch (const InvalidArgument&) {
        }
        *why = expected;
        return std::nullopt;
      });
}

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
