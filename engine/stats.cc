#include "engine/stats.h"

#include <sys/resource.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/json_writer.h"
#include "engine/units.h"

namespace corpusflow {

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
    json.Key(name);
    if (const auto* integer = std::get_if<uint64_t>(&v)) {
      json.Uint(*integer);
    } else {
      json.Double(std::get<double>(v));
    }
  }
}

std::map<std::string, std::string> OperatorStats::texts() const {
  std::lock_guard lock(mu_);
  return {texts_.begin(), texts_.end()};
}

OperatorStats& RunStats::AddOperator(std::string label) {
  operators_.push_back(std::make_unique<OperatorStats>(std::move(label)));
  return *operators_.back();
}

std::string RunStats::ToJson() const {
  // Layout: run-wide figures one per line, then one operator per line pair.
  std::string out;
  JsonWriter json(&out, JsonWriter::Style::kSpaced);
  json.BeginObject();
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
  json.Double(elapsed_seconds);
  json.Break("\n  ");
  json.Key("peak_rss_bytes");
  json.Uint(peak_rss_bytes.load());
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
    json.Double(static_cast<double>(op->wall_ns) * 1e-9);
    json.Key("cpu_seconds");
    json.Double(static_cast<double>(op->cpu_ns) * 1e-9);
    json.Break("\n     ");
    json.Key("dropped");
    json.BeginObject();
    for (const auto& [reason, n] : op->drops()) {
      json.Key(reason);
      json.Uint(n);
    }
    json.EndObject();
    json.Key("counters");
    json.BeginObject();
    for (const auto& [name, n] : op->counters()) {
      json.Key(name);
      json.Uint(n);
    }
    op->WriteFigures(json);
    for (const auto& [name, text] : op->texts()) {
      json.Key(name);
      json.String(text);
    }
    json.EndObject();
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

}  // namespace corpusflow
