#include "engine/stats.h"

#include <sys/resource.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/json_writer.h"
#include "engine/units.h"

namespace corpusflow {

std::string StatsKey(std::string_view name) {
  std::string key;
  bool gap = false;
  for (const char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9')) {
      if (gap && !key.empty()) key.push_back('_');
      gap = false;
      key.push_back(lower);
    } else {
      gap = true;
    }
  }
  return key;
}

void OperatorStats::Drop(std::string_view reason, uint64_t n) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  auto it = drops_.find(reason);
  if (it == drops_.end()) it = drops_.emplace(std::string(reason), 0).first;
  it->second += n;
}

void OperatorStats::Add(std::string_view counter, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = counters_.find(counter);
  if (it == counters_.end()) it = counters_.emplace(std::string(counter), 0).first;
  it->second += n;
}

void OperatorStats::Set(std::string_view name, double value) {
  std::lock_guard lock(mu_);
  values_.insert_or_assign(std::string(name), value);
}

void OperatorStats::SetInteger(std::string_view name, uint64_t value) {
  std::lock_guard lock(mu_);
  values_.insert_or_assign(std::string(name), value);
}

void OperatorStats::SetText(std::string_view name, std::string value) {
  std::lock_guard lock(mu_);
  texts_.insert_or_assign(std::string(name), std::move(value));
}

uint64_t OperatorStats::dropped_total() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [reason, n] : drops_) total += n;
  return total;
}

std::map<std::string, uint64_t> OperatorStats::drops() const {
  std::lock_guard lock(mu_);
  return {drops_.begin(), drops_.end()};
}
std::map<std::string, uint64_t> OperatorStats::counters() const {
  std::lock_guard lock(mu_);
  return {counters_.begin(), counters_.end()};
}
uint64_t OperatorStats::counter(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}
std::map<std::string, double> OperatorStats::values() const {
  std::lock_guard lock(mu_);
  std::map<std::string, double> values;
  for (const auto& [name, v] : values_) {
    const auto* integer = std::get_if<uint64_t>(&v);
    values.emplace(name, integer != nullptr ? static_cast<double>(*integer) : std::get<double>(v));
  }
  return values;
}
void OperatorStats::WriteFigures(JsonWriter& json) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, v] : values_) {
    json.Key(StatsKey(name));
    if (const auto* integer = std::get_if<uint64_t>(&v)) {
      json.Uint(*integer);
    } else {
      json.Decimal(std::get<double>(v));
    }
  }
}

std::map<std::string, std::string> OperatorStats::texts() const {
  std::lock_guard lock(mu_);
  return {texts_.begin(), texts_.end()};
}

void OperatorStats::AddOutput(OutputFile file) {
  std::lock_guard lock(mu_);
  outputs_.push_back(std::move(file));
}

std::vector<OutputFile> OperatorStats::outputs() const {
  std::lock_guard lock(mu_);
  return outputs_;
}

OperatorStats& RunStats::AddOperator(std::string label) {
  operators_.push_back(std::make_unique<OperatorStats>(std::move(label)));
  return *operators_.back();
}

void RunStats::RecordOutputs(const std::vector<std::pair<int, OutputFile>>& files,
                             const std::vector<bool>& is_sink) {
  if (outputs_recorded_) return;
  outputs_recorded_ = true;
  for (const auto& [owner, file] : files) {
    if (owner < 0 || static_cast<size_t>(owner) >= operators_.size()) continue;
    OperatorStats& op = *operators_[static_cast<size_t>(owner)];
    if (static_cast<size_t>(owner) < is_sink.size() && is_sink[static_cast<size_t>(owner)] &&
        file.bytes) {
      op.bytes_out += *file.bytes;
    }
    op.AddOutput(file);
  }
}

std::vector<OutputFile> RunStats::outputs() const {
  std::vector<OutputFile> all;
  for (const auto& op : operators_) {
    for (OutputFile& f : op->outputs()) all.push_back(std::move(f));
  }
  return all;
}

uint64_t RunStats::records_in() const {
  return operators_.empty() ? 0 : operators_.front()->records_out.load();
}

uint64_t RunStats::records_out() const {
  return operators_.empty() ? 0 : operators_.back()->records_in.load();
}

uint64_t RunStats::records_dropped() const {
  uint64_t total = 0;
  for (const auto& op : operators_) total += op->dropped_total();
  return total;
}

namespace {

void WriteOutputs(const std::vector<OutputFile>& files, JsonWriter& json) {
  json.BeginArray();
  for (const OutputFile& f : files) {
    json.BeginObject();
    json.Key("path");
    json.String(f.path);
    json.Key("bytes");
    if (f.bytes) {
      json.Uint(*f.bytes);
    } else {
      json.Null();
    }
    json.EndObject();
  }
  json.EndArray();
}

}  // namespace

std::string RunStats::ToJson() const {
  // Layout: run-wide figures one per line, then one operator per line pair.
  std::string out;
  JsonWriter json(&out, JsonWriter::Style::kSpaced);
  json.BeginObject();
  json.Break("\n  ");
  json.Key("schema");
  json.String(kStatsSchemaName);
  json.Key("version");
  json.Uint(kStatsSchemaVersion);
  json.Break("\n  ");
  json.Key("status");
  json.String(status);
  if (!error.empty()) {
    json.Break("\n  ");
    json.Key("error");
    json.String(error);
  }
  json.Break("\n  ");
  json.Key("elapsed_seconds");
  json.Decimal(elapsed_seconds);
  json.Break("\n  ");
  json.Key("peak_rss_bytes");
  json.Uint(peak_rss_bytes.load());
  json.Break("\n  ");
  json.Key("records_in");
  json.Uint(records_in());
  json.Key("records_out");
  json.Uint(records_out());
  json.Key("records_dropped");
  json.Uint(records_dropped());
  json.Break("\n  ");
  json.Key("outputs");
  // A failed run lists no file: its outputs are removed (docs/io.md), even when its report
  // had already been prepared with them.
  const bool ok = status == "ok";
  WriteOutputs(ok ? outputs() : std::vector<OutputFile>{}, json);
  json.Break("\n  ");
  json.Key("operators");
  json.BeginArray();
  for (const auto& op : operators_) {
    json.Break("\n    ");
    json.BeginObject();
    json.Key("name");
    json.String(op->label());
    json.Key("records_in");
    json.Uint(op->records_in);
    json.Key("records_out");
    json.Uint(op->records_out);
    json.Key("bytes_in");
    json.Uint(op->bytes_in);
    json.Key("bytes_out");
    json.Uint(op->bytes_out);
    json.Key("wall_seconds");
    json.Decimal(static_cast<double>(op->wall_ns) * 1e-9);
    json.Key("cpu_seconds");
    json.Decimal(static_cast<double>(op->cpu_ns) * 1e-9);
    json.Break("\n     ");
    json.Key("dropped");
    json.BeginObject();
    // Two reasons that differ only in case or punctuation share their key.
    std::map<std::string, uint64_t> dropped;
    for (const auto& [reason, n] : op->drops()) dropped[StatsKey(reason)] += n;
    for (const auto& [reason, n] : dropped) {
      json.Key(reason);
      json.Uint(n);
    }
    json.EndObject();
    json.Key("counters");
    json.BeginObject();
    for (const auto& [name, n] : op->counters()) {
      json.Key(StatsKey(name));
      json.Uint(n);
    }
    op->WriteFigures(json);
    for (const auto& [name, text] : op->texts()) {
      json.Key(StatsKey(name));
      json.String(text);
    }
    json.EndObject();
    json.Key("outputs");
    WriteOutputs(ok ? op->outputs() : std::vector<OutputFile>{}, json);
    json.EndObject();
  }
  json.Break("\n  ");
  json.EndArray();
  json.Break("\n");
  json.EndObject();
  out.push_back('\n');
  return out;
}

std::string RunStats::Summary() const {
  std::ostringstream o;
  for (const auto& op : operators_) {
    const uint64_t dropped = op->dropped_total();
    if (dropped == 0) continue;
    o << op->label() << ": dropped " << dropped << " records (";
    bool first = true;
    for (const auto& [reason, n] : op->drops()) {
      o << (first ? "" : ", ") << reason << ": " << n;
      first = false;
    }
    o << ")\n";
  }
  return o.str();
}

std::string RunStats::SummaryLine() const {
  std::string line =
      "done: " + FormatCount(records_in()) + " records in, " + FormatCount(records_out()) + " out";
  if (const uint64_t dropped = records_dropped(); dropped > 0) {
    line += ", " + FormatCount(dropped) + " dropped (";
    bool first = true;
    for (const auto& op : operators_) {
      for (const auto& [reason, n] : op->drops()) {
        line += (first ? "" : ", ") + op->label() + ": " + reason + " " + FormatCount(n);
        first = false;
      }
    }
    line += ")";
  }
  const std::vector<OutputFile> files = outputs();
  if (!files.empty()) {
    uint64_t total = 0;
    for (const OutputFile& f : files) total += f.bytes.value_or(0);
    if (files.size() <= 2) {
      line += "; wrote ";
      for (size_t i = 0; i < files.size(); ++i) {
        line += (i > 0 ? ", " : "") + files[i].path;
        if (files[i].bytes) line += " (" + FormatBytes(static_cast<double>(*files[i].bytes)) + ")";
      }
    } else {
      line += "; wrote " + std::to_string(files.size()) + " files (" +
              FormatBytes(static_cast<double>(total)) + ", first " + files.front().path + ")";
    }
  }
  // The rate of the records read: the source's record bytes over the whole run's wall time.
  const double read_bytes =
      operators_.empty() ? 0 : static_cast<double>(operators_.front()->bytes_out.load());
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f MB/s",
                elapsed_seconds > 0 ? read_bytes / elapsed_seconds / 1e6 : 0.0);
  line += "; " + FormatDuration(elapsed_seconds) + ", " + rate + "\n";
  return line;
}

uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;
    }
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

uint64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string RunStats::EncodeFigures() const {
  // Lines "operator TAB kind TAB name TAB value".
  std::string out;
  for (size_t i = 0; i < operators_.size(); ++i) {
    const OperatorStats& op = *operators_[i];
    const std::string prefix = std::to_string(i) + '\t';
    out += prefix + "f\trecords_in\t" + std::to_string(op.records_in.load()) + '\n';
    out += prefix + "f\trecords_out\t" + std::to_string(op.records_out.load()) + '\n';
    out += prefix + "f\tbytes_in\t" + std::to_string(op.bytes_in.load()) + '\n';
    out += prefix + "f\tbytes_out\t" + std::to_string(op.bytes_out.load()) + '\n';
    out += prefix + "f\twall_ns\t" + std::to_string(op.wall_ns.load()) + '\n';
    out += prefix + "f\tcpu_ns\t" + std::to_string(op.cpu_ns.load()) + '\n';
    for (const auto& [reason, n] : op.drops()) {
      out += prefix + "d\t" + reason + '\t' + std::to_string(n) + '\n';
    }
    for (const auto& [name, n] : op.counters()) {
      out += prefix + "c\t" + name + '\t' + std::to_string(n) + '\n';
    }
  }
  return out;
}

void RunStats::AddFigures(std::string_view figures) {
  size_t start = 0;
  for (size_t end; (end = figures.find('\n', start)) != std::string_view::npos; start = end + 1) {
    const std::string line(figures.substr(start, end - start));
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.rfind('\t');
    if (t1 == std::string::npos || t2 == std::string::npos || t3 <= t2) {
      throw CorruptionError("malformed figures line: " + line);
    }
    const size_t index = std::stoull(line.substr(0, t1));
    if (index >= operators_.size()) continue;
    OperatorStats& op = *operators_[index];
    const std::string kind = line.substr(t1 + 1, t2 - t1 - 1);
    const std::string name = line.substr(t2 + 1, t3 - t2 - 1);
    const uint64_t value = std::stoull(line.substr(t3 + 1));
    if (kind == "d") {
      op.Drop(name, value);
    } else if (kind == "c") {
      op.Add(name, value);
    } else if (name == "records_in") {
      op.records_in += value;
    } else if (name == "records_out") {
      op.records_out += value;
    } else if (name == "bytes_in") {
      op.bytes_in += value;
    } else if (name == "bytes_out") {
      op.bytes_out += value;
    } else if (name == "wall_ns") {
      op.wall_ns += value;
    } else if (name == "cpu_ns") {
      op.cpu_ns += value;
    }
  }
}

void RunStats::ReduceAcrossRanks(Cluster& cluster) {
  if (cluster.single()) return;
  const uint64_t peak = cluster.MaxAll(peak_rss_bytes.load());
  const std::vector<std::string> all = cluster.GatherAll(EncodeFigures());
  peak_rss_bytes = peak;
  if (cluster.rank() != 0) return;
  for (size_t r = 1; r < all.size(); ++r) AddFigures(all[r]);
}

}  // namespace corpusflow
