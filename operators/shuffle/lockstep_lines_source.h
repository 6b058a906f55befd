// LockstepLinesSource: the source of `corpusflow shuffle --paired`, which reads line-aligned files
// (a parallel corpus) in lockstep, one record per line number, so that one shuffle permutes them
// all alike.
// Thread safety: the operator is immutable; its reader is driven by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

/// Reads two or more line-aligned files (a parallel corpus: source and target, ...) in lockstep:
/// record k has one string column per file, `text0`, `text1`, ..., holding line k of each. Files
/// of different line counts are a DataError naming the files, raised while reading, so before a
/// shuffle emits anything. Decompresses by extension like `read`. Lines end at `delimiter`
/// ('\0' for `shuffle -z`).
class LockstepLinesSource : public Source {
 public:
  /// REQUIRES: at least two paths.
  explicit LockstepLinesSource(std::vector<std::string> paths, char delimiter = '\n');

  /// The column holding the lines of input `i`.
  static std::string ColumnName(size_t i);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::optional<uint64_t> TotalBytes() const override;
  std::vector<std::string> InputPaths() const override { return paths_; }
  std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const override;

 private:
  std::vector<std::string> paths_;
  char delimiter_;
};

}  // namespace corpusflow
