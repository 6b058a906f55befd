// The pipeline-spec parser: `read in.jsonl | filter --min-chars 20 | write out.txt` becomes a
// list of stages, each an operator name and its arguments. Words are split on whitespace with
// POSIX-shell quoting ('single', "double", backslash escapes); `|` outside quotes separates
// stages. In a spec file (`run -f`), a newline also ends a stage, `#` starts a comment and a
// trailing backslash continues a line. Pure functions; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

struct StageSpec {
  std::string name;
  std::vector<std::string> args;
};

/// Parse a spec given on the command line. Throws InvalidArgument on an unterminated quote or an
/// empty stage ("read a | | write b").
std::vector<StageSpec> ParsePipelineSpec(std::string_view text);
/// Parse the contents of a spec file (newlines end stages, `#` comments).
std::vector<StageSpec> ParsePipelineFile(std::string_view text);

}  // namespace corpusflow
