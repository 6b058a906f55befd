// JSON text as it is written, for `read`: the members of a JSON object byte for byte (so that
// `--all-fields` and numbers in a `--field` keep their exact spelling), and the rewrite that lets
// simdjson's DOM accept numbers beyond double's range. Pure functions on bytes; no state.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace corpusflow {

/// A member of a JSON object as it is written: its key (quoted, escapes kept) and its value,
/// byte for byte.
struct RawMember {
  std::string_view key;
  std::string_view value;
};

/// Split a JSON object into its members as written, in order (duplicates included).
/// REQUIRES: `json` is one valid JSON object (simdjson accepted it).
void SplitJsonMembers(std::string_view json, std::vector<RawMember>* members);

/// The length of the JSON number at the start of `s` (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
/// ([eE][+-]?[0-9]+)?), or 0 when `s` does not start with one.
size_t JsonNumberLength(std::string_view s);

/// Overwrite every valid JSON number outside strings in `json` with "0" and spaces (the same
/// length): simdjson's DOM refuses numbers out of double's range (1e400, integers beyond 64 bits)
/// that are valid JSON; read takes a number's text from the line as written (SplitJsonMembers),
/// never its parsed value. A token that is not a valid number is left for the parser to refuse.
/// Returns whether anything changed.
bool BlankJsonNumbers(char* json, size_t size);

}  // namespace corpusflow
