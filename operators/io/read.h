// `read PATH...`: the source of text corpora. Each argument is a file, a glob pattern (expanded
// and sorted at plan time) or `-` for stdin; files are read one after the other, in order, each
// decompressed by extension (`.gz`, `.bz2`, `.zst`). Two formats:
//   lines  every line is one record (binary-safe: NUL, 0xFF, '\r' and empty lines are kept; only
//          '\n' separates, or NUL with `--zero-terminated`, as `shuf -z` reads; a last line
//          without its delimiter is a record);
//   jsonl  one JSON object per line; the value of each `--field` (default `text`) becomes a
//          string column of that name: a string as its text, a number as its JSON text (`7`).
//          A key given twice: its last value, as in Python's json and jq; numbers out of
//          double's range are valid JSON and accepted. `--all-fields` also keeps every other
//          member, each value byte for byte, in one json-members column `*`
//          (kOtherMembersColumn), which `write` puts back; a member that a later stage adds
//          (OpenContext::later_fields) is an error naming file and line, or is dropped when that
//          stage may --overwrite it. Blank lines are skipped (counted as `blank_lines`).
// A bad record (malformed JSONL, or a line longer than the run's `--max-record-bytes`,
// ExecContext::max_record_bytes) either ends the run with "FILE:LINE: reason" (`--on-error
// fail`, the default) or is dropped and counted with its reason (`--on-error skip`); a too-long
// line is never held whole, so memory stays bounded whatever the input. A missing field names
// the record's fields, the nearest one and the operators that add it, and a field that no record
// has ends a skipping run too. `--meta` adds a `meta` column "FILE:LINE" naming where each record
// came from.
// The operator is immutable; one BatchReader reads serially and owns its open file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/compression.h"
#include "engine/operator.h"

namespace corpusflow {

enum class TextFormat { kLines, kJsonl };

/// The column of `read --all-fields`: the members no other column holds (FieldType::kJsonMembers).
inline constexpr std::string_view kOtherMembersColumn = "*";

/// "lines" or "jsonl".
std::string_view TextFormatName(TextFormat format);
/// The format implied by a file name: `.jsonl`, `.ndjson` or `.json` (before any compression
/// extension) mean jsonl, anything else (and "-") lines.
TextFormat TextFormatFromPath(std::string_view path);

struct ReadOptions {
  /// Files as given (patterns are expanded by the constructor of ReadOperator).
  std::vector<std::string> inputs;
  /// Unset = by extension, per file.
  std::optional<TextFormat> format;
  /// JSONL keys to read; each becomes a string column of the same name. For lines, the single
  /// entry names the column.
  std::vector<std::string> fields{"text"};
  /// Column name for a single field (default: the field's name).
  std::string rename;
  /// Unset = by extension, per file.
  std::optional<Compression> compression;
  /// Drop records whose text (any selected field, for JSONL) is empty.
  bool skip_empty = false;
  /// Drop bad JSONL records (counted by reason) instead of failing.
  bool skip_bad_records = false;
  /// Add a `meta` column "FILE:LINE".
  bool meta = false;
  /// JSONL: keep every other member in the column kOtherMembersColumn.
  bool all_fields = false;
  /// Lines: a line ends at NUL instead of '\n' (and may hold '\n').
  bool zero_terminated = false;
};

class ReadOperator : public Source {
 public:
  /// Expand the input patterns and check option combinations; throws InvalidArgument.
  explicit ReadOperator(ReadOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const override;
  std::optional<uint64_t> TotalBytes() const override;
  /// Each rank reads its share of the input slices (engine/slices.h).
  std::string RankLimit() const override { return ""; }
  std::string TaskLimit() const override { return ""; }
  std::vector<std::string> InputPaths() const override { return paths_; }

  /// The expanded list of files.
  const std::vector<std::string>& paths() const { return paths_; }
  const ReadOptions& options() const { return options_; }
  /// The output column of each selected field, in order.
  const std::vector<std::string>& columns() const { return columns_; }
  /// The format of `paths()[i]`.
  TextFormat FormatOf(size_t i) const { return formats_[i]; }

 private:
  ReadOptions options_;
  std::vector<std::string> paths_;
  std::vector<TextFormat> formats_;
  std::vector<std::string> columns_;
};

}  // namespace corpusflow
