#include "engine/resource_cache.h"

#include <filesystem>

namespace corpusflow {

std::string ResourceCache::FileKey(std::string_view kind, const std::vector<std::string>& files) {
  std::string key(kind);
  key += ':';
  for (size_t i = 0; i < files.size(); ++i) {
    if (i > 0) key += '|';
    std::error_code ec;
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(files[i], ec);
    key += ec ? files[i] : canonical.string();
  }
  return key;
}

std::shared_ptr<const void> ResourceCache::GetErased(
    const std::string& key, std::type_index type,
    const std::function<std::shared_ptr<const void>()>& load) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Entry>& slot = entries_[key];
    if (!slot) slot = std::make_shared<Entry>();
    entry = slot;
  }
  // Only callers of this key wait here while it loads.
  std::lock_guard lock(entry->mu);
  if (entry->object) {
    CF_CHECK(entry->type == type, "resource '" + key + "' asked for as two different types");
    return entry->object;
  }
  std::shared_ptr<const void> object = load();
  CF_CHECK(object != nullptr, "the loader of resource '" + key + "' returned nothing");
  entry->type = type;
  entry->object = std::move(object);
  ++loads_;
  return entry->object;
}

}  // namespace corpusflow
