// The table and the JSON document of a `bench disk` run.
#include "engine/io/disk_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "engine/io/disk_figures.h"
#include "engine/json_writer.h"

namespace corpusflow {
namespace {

std::string TestLabel(const DiskTestResult& t) {
  if (t.name == "seq_write") return "sequential write + fdatasync";
  if (t.name == "seq_read") return "sequential read";
  if (t.name == "spill_write") return "spill write, " + std::to_string(t.buckets) + " buckets";
  if (t.name == "spill_read") {
    return "spill read, " + std::to_string(t.buckets) + " buckets, strided";
  }
  return t.description;
}

}  // namespace

std::string FormatDiskBenchmarkTable(const DiskBenchmarkResult& r) {
  std::ostringstream o;
  o << "bench disk: " << r.dir.string();
  if (!r.device.source.empty()) o << " on " << r.device.source;
  o << " (" << (r.device.filesystem.empty() ? "?" : r.device.filesystem) << ", device "
    << r.device.key << "), " << (r.direct ? "O_DIRECT" : "buffered I/O") << ", "
    << DiskBlockLabel(r.options.size_bytes) << " per main test\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-40s %6s %9s %9s %9s %9s %9s %9s\n", "test", "block", "MB/s",
                "IOPS", "p50 us", "p95 us", "p99 us", "max us");
  o << line;
  bool any_stopped = false;
  for (const DiskTestResult& t : r.tests) {
    std::string label = TestLabel(t);
    if (t.stopped_by_time_limit) {
      label += " *";
      any_stopped = true;
    }
    std::snprintf(line, sizeof line, "%-40s %6s %9.1f %9.0f %9.0f %9.0f %9.0f %9.0f\n",
                  label.c_str(), DiskBlockLabel(t.block_bytes).c_str(), t.BytesPerSecond() / 1e6,
                  t.Iops(), t.latency_us.p50, t.latency_us.p95, t.latency_us.p99, t.latency_us.max);
    o << line;
  }
  if (!r.cache_note.empty()) {
    double worst = -1;
    for (const DiskTestResult& t : r.tests) worst = std::max(worst, t.cached_fraction);
    o << "note: " << r.cache_note;
    if (worst >= 0) {
      std::snprintf(line, sizeof line, "; at most %.1f%% of a file was still cached before reading",
                    100 * worst);
      o << line;
    }
    o << "\n";
  }
  if (r.device.filesystem == "tmpfs" || r.device.filesystem == "ramfs") {
    o << "note: " << r.device.filesystem
      << " keeps files in memory: these are RAM figures, not a disk's\n";
  }
  if (any_stopped) {
    std::snprintf(line, sizeof line,
                  "note: tests marked * reached the %.0f s limit; their figures cover the bytes "
                  "moved\n",
                  r.options.time_limit_seconds);
    o << line;
  }
  o << "MB/s = 10^6 bytes per second; latency is per read/write call; write figures include "
       "the final fdatasync\n";
  return o.str();
}

std::string DiskBenchmarkToJson(const DiskBenchmarkResult& r) {
  std::ostringstream o;
  const DiskFigures figures = DiskFiguresFrom(r);
  o << "{\n  \"format\": \"corpusflow-bench-disk\",\n  \"version\": 1,\n"
    << "  \"measured_at\": " << JsonNumber(r.measured_at) << ",\n"
    << "  \"dir\": " << JsonQuote(r.dir.string()) << ",\n"
    << "  \"device\": {\"key\": " << JsonQuote(r.device.key)
    << ", \"source\": " << JsonQuote(r.device.source)
    << ", \"filesystem\": " << JsonQuote(r.device.filesystem)
    << ", \"mount_point\": " << JsonQuote(r.device.mount_point) << "},\n"
    << "  \"direct\": " << (r.direct ? "true" : "false") << ",\n"
    << "  \"cache_note\": " << JsonQuote(r.cache_note) << ",\n"
    << "  \"options\": {\"size_bytes\": " << r.options.size_bytes
    << ", \"block_bytes\": " << r.options.block_bytes << ", \"buckets\": " << r.options.buckets
    << ", \"chunk_bytes\": " << r.options.chunk_bytes
    << ", \"sweep_bytes\": " << r.options.sweep_bytes
    << ", \"time_limit_seconds\": " << JsonNumber(r.options.time_limit_seconds) << "},\n"
    << "  \"tests\": [";
  for (size_t i = 0; i < r.tests.size(); ++i) {
    const DiskTestResult& t = r.tests[i];
    o << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << JsonQuote(t.name)
      << ", \"description\": " << JsonQuote(t.description) << ", \"block_bytes\": " << t.block_bytes
      << ", \"buckets\": " << t.buckets << ", \"bytes\": " << t.bytes
      << ", \"operations\": " << t.operations << ", \"seconds\": " << JsonNumber(t.seconds)
      << ", \"sync_seconds\": " << JsonNumber(t.sync_seconds)
      << ", \"mb_per_second\": " << JsonNumber(t.BytesPerSecond() / 1e6)
      << ", \"iops\": " << JsonNumber(t.Iops())
      << ", \"latency_us\": {\"p50\": " << JsonNumber(t.latency_us.p50)
      << ", \"p95\": " << JsonNumber(t.latency_us.p95)
      << ", \"p99\": " << JsonNumber(t.latency_us.p99)
      << ", \"max\": " << JsonNumber(t.latency_us.max) << "}"
      << ", \"stopped_by_time_limit\": " << (t.stopped_by_time_limit ? "true" : "false")
      << ", \"cached_fraction\": "
      << (t.cached_fraction < 0 ? std::string("null") : JsonNumber(t.cached_fraction)) << "}";
  }
  o << "\n  ],\n  \"summary\": {\"seq_write_bytes_per_second\": "
    << JsonNumber(figures.seq_write_bytes_per_second)
    << ", \"seq_read_bytes_per_second\": " << JsonNumber(figures.seq_read_bytes_per_second)
    << ", \"spill_write_bytes_per_second\": " << JsonNumber(figures.spill_write_bytes_per_second)
    << ", \"spill_read_bytes_per_second\": " << JsonNumber(figures.spill_read_bytes_per_second)
    << "}\n}\n";
  return o.str();
}

}  // namespace corpusflow
