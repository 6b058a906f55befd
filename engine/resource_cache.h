// The run-wide cache of read-only resources: jieba dictionaries, vocabularies, SentencePiece
// models, stopword lists. Operators load every resource here, in Open() and nowhere else, so a
// resource loads once per run however many stages use it (two `tokenize` stages with one
// vocab.txt share one Vocabulary), and never at plan time (`--dry-run` loads nothing; Validate
// only checks that the files exist and are readable).
//
// A resource is identified by a key that names its kind and its source, e.g.
// "vocabulary:/data/vocab.txt"; the object is immutable once loaded and shared (const) by every
// stage and worker that asked for it; it lives as long as the last holder.
//
// Thread safety: Get may be called from any thread. The loader of a key runs at most once at a
// time: concurrent callers of the same key wait for it, callers of other keys do not. A loader
// may Get other keys (a tokenizer loading its vocabulary), never its own. A loader that throws
// leaves the key unloaded (the next Get tries again) and its exception reaches the caller.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "engine/check.h"

namespace corpusflow {

class ResourceCache {
 public:
  ResourceCache() = default;
  ResourceCache(const ResourceCache&) = delete;
  ResourceCache& operator=(const ResourceCache&) = delete;

  /// Return the resource of `key`, calling `loader` (which returns std::unique_ptr<T> or
  /// std::shared_ptr<T>) when it is not loaded yet.
  /// REQUIRES: every Get of one key asks for the same T.
  template <typename T, typename Loader>
  std::shared_ptr<const T> Get(const std::string& key, Loader&& loader) {
    std::shared_ptr<const void> object = GetErased(
        key, std::type_index(typeid(T)),
        [&]() -> std::shared_ptr<const void> { return std::shared_ptr<const T>(loader()); });
    return std::static_pointer_cast<const T>(std::move(object));
  }

  /// The key of a resource of `kind` made from `files`: the kind and the files' canonical paths
  /// (symlinks and "./" resolved, so two spellings of one file share one key).
  static std::string FileKey(std::string_view kind, const std::vector<std::string>& files);

  /// Loaders run so far (a key loads once; counted for stats and tests).
  uint64_t loads() const { return loads_.load(); }

 private:
  struct Entry {
    std::mutex mu;
    std::type_index type{typeid(void)};
    std::shared_ptr<const void> object;
  };

  std::shared_ptr<const void> GetErased(const std::string& key, std::type_index type,
                                        const std::function<std::shared_ptr<const void>()>& load);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
  std::atomic<uint64_t> loads_{0};
};

}  // namespace corpusflow
