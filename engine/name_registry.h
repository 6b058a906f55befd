// A registry of named definitions (operators, commands): entries register under a unique name,
// are found by exact name, list sorted by name, and an unknown name is a usage error that
// suggests the nearest registered name ("did you mean"). The same NearestName and DidYouMean
// word every suggestion corpusflow makes, for names and for options alike.
// Thread safety: entries are registered from static initialisers before main (or by one thread
// in tests); afterwards a registry is read-only and safe to use from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/check.h"
#include "engine/error.h"

namespace corpusflow {

/// Return the candidate closest to `word` by edit distance, or "" when none is reasonably close
/// (more than max(`min_limit`, |word|/3) edits away). Ties go to the earliest candidate. Field
/// names use `min_limit` 1: they are short and alike (`tgt` is two edits from `text`).
std::string NearestName(std::string_view word, const std::vector<std::string>& candidates,
                        size_t min_limit = 2);

/// Return " (did you mean 'NEAREST'?)" for the candidate nearest to `word`, or "" when none is
/// close: the one suggestion suffix of every unknown-name message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates,
                       size_t min_limit = 2);

/// Definitions of type `Def` (a struct with a `std::string name`) by name. Entries never move,
/// so pointers returned by Find, Get and List stay valid for the registry's life.
template <typename Def>
class NameRegistry {
 public:
  /// `kind` names an entry in messages ("operator"); `list_hint` tells where the names are
  /// listed ("`corpusflow ops` lists them").
  NameRegistry(std::string kind, std::string list_hint)
      : kind_(std::move(kind)), list_hint_(std::move(list_hint)) {}
  NameRegistry(const NameRegistry&) = delete;
  NameRegistry& operator=(const NameRegistry&) = delete;

  /// Add `def`. REQUIRES: `def` has a name and no entry has it (CF_CHECK: a corpusflow bug).
  void Register(Def def) {
    std::string name = def.name;
    CF_CHECK(!name.empty(), kind_ + " registered without a name");
    const bool added = defs_.try_emplace(name, std::move(def)).second;
    CF_CHECK(added, kind_ + " registered twice: " + name);
  }

  /// Return the entry named `name`, or null.
  const Def* Find(std::string_view name) const {
    const auto it = defs_.find(name);
    return it == defs_.end() ? nullptr : &it->second;
  }

  /// Return the entry named `name`; throw InvalidArgument "unknown KIND 'NAME' (did you mean
  /// 'X'?); LIST_HINT" when there is none.
  const Def& Get(std::string_view name) const {
    if (const Def* def = Find(name)) return *def;
    throw InvalidArgument("unknown " + kind_ + " '" + std::string(name) + "'" +
                          DidYouMean(name, Names()) + "; " + list_hint_);
  }

  /// Return every entry, sorted by name.
  std::vector<const Def*> List() const {
    std::vector<const Def*> out;
    out.reserve(defs_.size());
    for (const auto& [name, def] : defs_) out.push_back(&def);
    return out;
  }

  /// Return every name, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    out.reserve(defs_.size());
    for (const auto& [name, def] : defs_) out.push_back(name);
    return out;
  }

 private:
  std::string kind_;
  std::string list_hint_;
  std::map<std::string, Def, std::less<>> defs_;
};

}  // namespace corpusflow
