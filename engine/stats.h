// Counters of a run. Each operator of the plan has one OperatorStats: the executor counts records
// and bytes in and out and the wall/CPU time spent inside the operator; the operator itself
// reports drops (with a reason) and its own counters (buckets, unknown tokens, ...). All members
// are safe to update from many workers at once. RunStats collects them and writes the
// `--stats-json` document.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corpusflow {

class JsonWriter;

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

 private:
  std::string label_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> drops_;
  std::map<std::string, uint64_t, std::less<>> counters_;
  /// Set's doubles and SetInteger's integers, in one name order.
  std::map<std::string, std::variant<double, uint64_t>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> texts_;
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

  /// The `--stats-json` document.
  std::string ToJson() const;
  /// A short human summary for stderr (dropped records, per-operator counts).
  std::string Summary() const;

 private:
  std::vector<std::unique_ptr<OperatorStats>> operators_;
};

/// Peak resident set size of this process so far (VmHWM), in bytes.
uint64_t PeakRssBytes();
/// CPU time of the calling thread in nanoseconds.
uint64_t ThreadCpuNanos();

}  // namespace corpusflow
