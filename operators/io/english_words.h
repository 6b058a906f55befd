// An embedded list of common English words for the synthetic corpus generator (`gen`), roughly in
// order of decreasing frequency in ordinary prose, all lower-case ASCII letters. Immutable static
// data: safe to read from any thread.
#pragma once

#include <span>
#include <string_view>

namespace corpusflow {

/// The words, most frequent first (a few hundred entries, no duplicates).
std::span<const std::string_view> CommonEnglishWords();

}  // namespace corpusflow
