// The names of the ids of an id field: the tokenizer's vocabulary as planning sees it, so that an
// option can name a token ('[SEP]', '</s>', '<|endoftext|>') where an id is expected
// (`write-megatron --append-eod`, `--sentence-end`, `pack --eod`). TokenRef is such an option's
// value as given, ResolveToken turns it into an id through a planned field. The producer of the
// field (tokenize) gives a loader of (name, id) pairs; the table is read on the first lookup only,
// so a plan that names no token reads no vocabulary. The first pair of a name wins (a special-token
// map before the vocabulary's lines). Thread safety: immutable after construction; the lazy load is
// synchronised (std::call_once), so lookups may run from any thread.
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

struct Field;

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

/// An id as an option gives it: a number, or a token name resolved through a field's vocabulary.
struct TokenRef {
  /// As given (a token name, or the digits of an id).
  std::string text;
  /// The id when `text` is a number.
  std::optional<int32_t> id;

  /// Parse one option value: digits are an id in [0, 2^31) (anything else that looks like an
  /// integer, "-1", is an InvalidArgument naming `option`), any other text a token name.
  static TokenRef Parse(const std::string& text, const std::string& option);
};

/// The id `ref` names in `field`'s vocabulary (Field::token_names); `option` and `who` (the
/// operator) name it in errors. Throws InvalidArgument when `ref` is a name and the field has no
/// token names, or the name is not among them (with the nearest name).
int32_t ResolveToken(const TokenRef& ref, const Field& field, const std::string& option,
                     const std::string& who);

}  // namespace corpusflow
