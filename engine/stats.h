// Counters of a run. Each operator of the plan has one OperatorStats: the executor counts records
// and bytes in and out and the wall/CPU time spent inside the operator; the operator itself
// reports drops (with a reason) and its own counters (buckets, unknown tokens, ...). All members
// are safe to update from many workers at once. RunStats collects them, with the files the run
// wrote (RecordOutputs), and writes the `--stats-json` document (its schema, version
// kStatsSchemaVersion, is docs/stats.md: every key snake_case, integers written as integers,
// other numbers in decimal notation, never with an exponent) and the one-line summary of a run.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corpusflow {

class Cluster;

class JsonWriter;

/// The `schema` member of the `--stats-json` document and its `version` (docs/stats.md).
inline constexpr const char* kStatsSchemaName = "corpusflow-stats";
inline constexpr uint64_t kStatsSchemaVersion = 1;

/// `name` as a key of the document: lower case, every run of other characters than [a-z0-9]
/// one '_', none at either end ("invalid UTF-8" -> "invalid_utf_8", "src_ids.tokens" ->
/// "src_ids_tokens"). Drop reasons and field-derived counter names are written this way.
std::string StatsKey(std::string_view name);

/// A file a run wrote: its final path and size (none for a stream: stdout, a FIFO, a device).
struct OutputFile {
  std::string path;
  std::optional<uint64_t> bytes;
};

class OperatorStats {
 public:
  explicit OperatorStats(std::string label) : label_(std::move(label)) {}

  /// "read", "filter#2": the operator name, numbered when it occurs more than once.
  const std::string& label() const { return label_; }

  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  /// Wall time spent inside the operator, summed over workers.
  std::atomic<uint64_t> wall_ns{0};
  /// Thread CPU time spent inside the operator, summed over workers.
  std::atomic<uint64_t> cpu_ns{0};

  /// Count `n` records dropped for `reason` (reported, never silent).
  void Drop(std::string_view reason, uint64_t n = 1);
  /// Add to a named counter of the operator.
  void Add(std::string_view counter, uint64_t n);
  /// Set a named figure of the operator (a ratio, a time).
  void Set(std::string_view name, double value);
  /// Set a named integer figure of the operator (a seed, a size), kept and written exactly.
  void SetInteger(std::string_view name, uint64_t value);
  void SetText(std::string_view name, std::string value);

  uint64_t dropped_total() const;
  std::map<std::string, uint64_t> drops() const;
  std::map<std::string, uint64_t> counters() const;
  uint64_t counter(std::string_view name) const;
  /// The figures of Set and SetInteger (integers converted to double).
  std::map<std::string, double> values() const;
  std::map<std::string, std::string> texts() const;
  /// Write the figures as members of the object `json` is in (integers exactly).
  void WriteFigures(JsonWriter& json) const;

  /// Record a file the operator wrote (RunStats::RecordOutputs).
  void AddOutput(OutputFile file);
  std::vector<OutputFile> outputs() const;

 private:
  std::string label_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> drops_;
  std::map<std::string, uint64_t, std::less<>> counters_;
  /// Set's doubles and SetInteger's integers, in one name order.
  std::map<std::string, std::variant<double, uint64_t>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> texts_;
  std::vector<OutputFile> outputs_;
};

/// The counters of a whole run: one OperatorStats per operator, plus run-wide figures.
class RunStats {
 public:
  /// Add an operator; returns a reference that stays valid for the life of RunStats.
  OperatorStats& AddOperator(std::string label);
  const std::vector<std::unique_ptr<OperatorStats>>& operators() const { return operators_; }

  std::atomic<uint64_t> peak_rss_bytes{0};
  double elapsed_seconds = 0;
  std::string status = "ok";
  std::string error;

  /// Give each operator the files it wrote (`files`, tagged by operator index, as the run's
  /// CommitGroup prepared them); a sink's bytes_out becomes the bytes of its files. `is_sink(i)`
  /// says whether operator i is a sink. Once per run; later calls change nothing.
  void RecordOutputs(const std::vector<std::pair<int, OutputFile>>& files,
                     const std::vector<bool>& is_sink);
  /// Every file the run wrote, operator by operator.
  std::vector<OutputFile> outputs() const;
  /// Records the first operator produced (the records read or generated).
  uint64_t records_in() const;
  /// Records the last operator took (the records written).
  uint64_t records_out() const;
  /// Records dropped by every operator.
  uint64_t records_dropped() const;

  /// The `--stats-json` document (docs/stats.md).
  std::string ToJson() const;
  /// Several ranks ran the pipeline (engine/cluster.h): every rank calls this at the same point;
  /// rank 0's operators then hold the sums over ranks of their records, bytes, times, drops and
  /// counters, and the peak RSS is the largest rank's (figures and texts stay rank 0's).
  void ReduceAcrossRanks(Cluster& cluster);
  /// The operators' records, bytes, times, drops and counters as text (one line each), which
  /// AddFigures adds to another RunStats of the same operators: a rank's share (ReduceAcrossRanks)
  /// or a checkpointed task's (docs/resume.md).
  std::string EncodeFigures() const;
  /// Add figures that EncodeFigures wrote. Throws CorruptionError for a malformed line.
  void AddFigures(std::string_view figures);
  /// The drops, one line per operator that dropped records ("filter: dropped 3 records (empty:
  /// 3)"); empty when nothing was dropped. Printed at the end of a run without progress display.
  std::string Summary() const;
  /// The one-line summary that ends a run with progress display: records in and out, drops by
  /// reason, the files written, wall time and the rate of the records read, e.g.
  /// "done: 1,000 records in, 990 out, 10 dropped (filter: empty 10); wrote out.txt (12.3 KB);
  /// 1.2s, 0.0 MB/s". Ends with '\n'.
  std::string SummaryLine() const;

 private:
  std::vector<std::unique_ptr<OperatorStats>> operators_;
  bool outputs_recorded_ = false;
};

/// Peak resident set size of this process so far (VmHWM), in bytes.
uint64_t PeakRssBytes();
/// CPU time of the calling thread in nanoseconds.
uint64_t ThreadCpuNanos();

}  // namespace corpusflow
