#include "engine/token_names.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "engine/error.h"
#include "engine/name_registry.h"
#include "engine/schema.h"

namespace corpusflow {

void TokenNames::Load() const {
  std::call_once(loaded_, [this] {
    for (auto& [name, id] : load_()) {
      if (ids_.emplace(name, id).second) names_.push_back(std::move(name));
    }
  });
}

std::optional<int32_t> TokenNames::Find(std::string_view token) const {
  Load();
  const auto it = ids_.find(std::string(token));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string TokenNames::DidYouMean(std::string_view token) const {
  Load();
  return corpusflow::DidYouMean(token, names_);
}

namespace {

/// Whether `text` looks like an integer (an optional sign, then digits).
bool LooksLikeInteger(std::string_view text) {
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

TokenRef TokenRef::Parse(const std::string& text, const std::string& option) {
  TokenRef ref{text, std::nullopt};
  if (!LooksLikeInteger(text)) {
    if (text.empty()) throw InvalidArgument(option + ": empty token");
    return ref;
  }
  int64_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 ||
      value > std::numeric_limits<int32_t>::max()) {
    throw InvalidArgument(option + ": '" + text +
                          "' is not a token id (an integer in [0, 2^31)) nor a token name");
  }
  ref.id = static_cast<int32_t>(value);
  return ref;
}

int32_t ResolveToken(const TokenRef& ref, const Field& field, const std::string& option,
                     const std::string& who) {
  if (ref.id) return *ref.id;
  if (field.token_names == nullptr) {
    throw InvalidArgument(who + ": " + option + " '" + ref.text + "': field '" + field.name +
                          "' has no token names (its ids do not come from tokenize, e.g. from "
                          "parse-ids); give the token's id instead");
  }
  const std::optional<int32_t> id = field.token_names->Find(ref.text);
  if (!id) {
    throw InvalidArgument(who + ": " + option + " '" + ref.text + "' is not a token of field '" +
                          field.name + "' (vocabulary " + field.token_names->source() + ")" +
                          field.token_names->DidYouMean(ref.text));
  }
  return *id;
}

}  // namespace corpusflow
