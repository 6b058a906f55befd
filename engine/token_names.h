// The names of the ids of an id field: the tokenizer's vocabulary as planning sees it, so that an
// option can name a token ('[SEP]', '</s>', '<|endoftext|>') where an id is expected
// (`write-megatron --append-eod`, `--sentence-end`). The producer of the field (tokenize) gives a
// loader of (name, id) pairs; the table is read on the first lookup only, so a plan that names no
// token reads no vocabulary. The first pair of a name wins (a special-token map before the
// vocabulary's lines).
// Thread safety: immutable after construction; the lazy load is synchronised (std::call_once),
// so lookups may run from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corpusflow {

class TokenNames {
 public:
  using Pairs = std::vector<std::pair<std::string, int32_t>>;
  /// `source` names the vocabulary in messages ("vocab.txt", "spm.model with ids above 1 + 103");
  /// `load` returns its (name, id) pairs and may throw IoError or DataError.
  TokenNames(std::string source, std::function<Pairs()> load)
      : source_(std::move(source)), load_(std::move(load)) {}

  const std::string& source() const { return source_; }

  /// The id named `token`, or nullopt. Throws what the loader throws.
  std::optional<int32_t> Find(std::string_view token) const;

  /// " (did you mean 'NEAREST'?)" for the name nearest to `token`, or "" when none is close.
  std::string DidYouMean(std::string_view token) const;

 private:
  void Load() const;

  std::string source_;
  std::function<Pairs()> load_;
  mutable std::once_flag loaded_;
  mutable std::unordered_map<std::string, int32_t> ids_;
  /// The names in id order of first appearance, for suggestions.
  mutable std::vector<std::string> names_;
};

}  // namespace corpusflow
