#include "engine/token_names.h"

#include "engine/name_registry.h"

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

}  // namespace corpusflow
