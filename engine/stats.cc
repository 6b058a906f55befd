#include "engine/stats.h"

#include <sys/resource.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

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
  return {values_.begin(), values_.end()};
}
std::map<std::string, std::string> OperatorStats::texts() const {
  std::lock_guard lock(mu_);
  return {texts_.begin(), texts_.end()};
}

OperatorStats& RunStats::AddOperator(std::string label) {
  operators_.push_back(std::make_unique<OperatorStats>(std::move(label)));
  return *operators_.back();
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {}  // namespace

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string RunStats::ToJson() const {
  std::ostringstream o;
  o << "{\n  \"status\": " << JsonQuote(status);
  if (!error.empty()) o << ",\n  \"error\": " << JsonQuote(error);
  o << ",\n  \"elapsed_seconds\": " << JsonNumber(elapsed_seconds)
    << ",\n  \"peak_rss_bytes\": " << peak_rss_bytes.load() << ",\n  \"operators\": [";
  bool first = true;
  for (const auto& op : operators_) {
    o << (first ? "\n" : ",\n") << "    {\"name\": " << JsonQuote(op->label())
      << ", \"records_in\": " << op->records_in << ", \"records_out\": " << op->records_out
      << ", \"bytes_in\": " << op->bytes_in << ", \"bytes_out\": " << op->bytes_out
      << ", \"wall_seconds\": " << JsonNumber(op->wall_ns * 1e-9)
      << ", \"cpu_seconds\": " << JsonNumber(op->cpu_ns * 1e-9) << ",\n     \"dropped\": {";
    first = false;
    bool f2 = true;
    for (const auto& [reason, n] : op->drops()) {
      o << (f2 ? "" : ", ") << JsonQuote(reason) << ": " << n;
      f2 = false;
    }
    o << "}, \"counters\": {";
    f2 = true;
    for (const auto& [name, n] : op->counters()) {
      o << (f2 ? "" : ", ") << JsonQuote(name) << ": " << n;
      f2 = false;
    }
    for (const auto& [name, v] : op->values()) {
      o << (f2 ? "" : ", ") << JsonQuote(name) << ": " << JsonNumber(v);
      f2 = false;
    }
    for (const auto& [name, v] : op->texts()) {
      o << (f2 ? "" : ", ") << JsonQuote(name) << ": " << JsonQuote(v);
      f2 = false;
    }
    o << "}}";
  }
  o << "\n  ]\n}\n";
  return o.str();
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
