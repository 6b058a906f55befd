// The figures of a run, their JSON parser and the per-device cache files.
#include "engine/io/disk_figures.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include "engine/error.h"
#include "engine/io/atomic_output.h"
#include "engine/io/disk_benchmark.h"
#include "engine/io/disk_report.h"

namespace corpusflow {

namespace fs = std::filesystem;

DiskFigures DiskFiguresFrom(const DiskBenchmarkResult& r) {
  DiskFigures f;
  f.device = r.device;
  f.dir = r.dir.string();
  f.direct = r.direct;
  f.measured_at = r.measured_at;
  auto rate = [&](const char* name) {
    const DiskTestResult* t = r.Find(name);
    return t == nullptr ? 0.0 : t->BytesPerSecond();
  };
  f.seq_write_bytes_per_second = rate("seq_write");
  f.seq_read_bytes_per_second = rate("seq_read");
  f.spill_write_bytes_per_second = rate("spill_write");
  f.spill_read_bytes_per_second = rate("spill_read");
  return f;
}

DiskFigures ParseDiskFiguresJson(const std::string& json, const std::string& origin) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    throw CorruptionError(origin + ": not a JSON document");
  }
  auto fail = [&](const std::string& what) -> DiskFigures {
    throw CorruptionError(origin + ": not a `corpusflow bench disk` document (" + what + ")");
  };
  std::string_view format;
  if (doc["format"].get(format) != simdjson::SUCCESS || format != "corpusflow-bench-disk") {
    return fail("no \"format\": \"corpusflow-bench-disk\"");
  }
  DiskFigures f;
  f.source = origin;
  auto text = [&](simdjson::dom::element e, const char* key) {
    std::string_view v;
    if (e[key].get(v) != simdjson::SUCCESS) fail(std::string("missing string \"") + key + "\"");
    return std::string(v);
  };
  auto number = [&](simdjson::dom::element e, const char* key) {
    double v = 0;
    if (e[key].get(v) != simdjson::SUCCESS || !(v >= 0)) {
      fail(std::string("missing or negative number \"") + key + "\"");
    }
    return v;
  };
  simdjson::dom::element device, summary;
  if (doc["device"].get(device) != simdjson::SUCCESS) return fail("missing \"device\"");
  if (doc["summary"].get(summary) != simdjson::SUCCESS) return fail("missing \"summary\"");
  f.device.key = text(device, "key");
  f.device.source = text(device, "source");
  f.device.filesystem = text(device, "filesystem");
  f.device.mount_point = text(device, "mount_point");
  f.dir = text(doc, "dir");
  bool direct = false;
  if (doc["direct"].get(direct) != simdjson::SUCCESS) return fail("missing \"direct\"");
  f.direct = direct;
  f.measured_at = number(doc, "measured_at");
  f.seq_write_bytes_per_second = number(summary, "seq_write_bytes_per_second");
  f.seq_read_bytes_per_second = number(summary, "seq_read_bytes_per_second");
  f.spill_write_bytes_per_second = number(summary, "spill_write_bytes_per_second");
  f.spill_read_bytes_per_second = number(summary, "spill_read_bytes_per_second");
  return f;
}

std::optional<fs::path> DiskFiguresCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return fs::path(xdg) / "corpusflow";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return fs::path(home) / ".cache" / "corpusflow";
  return std::nullopt;
}

fs::path DiskFiguresCacheFile(const fs::path& cache_dir, const std::string& device_key) {
  std::string name = device_key;
  std::replace(name.begin(), name.end(), ':', '-');
  return cache_dir / ("disk-" + name + ".json");
}

fs::path SaveDiskFigures(const DiskBenchmarkResult& result, const fs::path& cache_dir,
                         FileSystem& file_system) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) ThrowIoError("cannot create cache folder", cache_dir.string(), ec.value());
  const fs::path file = DiskFiguresCacheFile(cache_dir, result.device.key);
  RunFiles run;
  run.file_system = &file_system;
  AtomicOutput out = AtomicOutput::Create(file.string(), run);
  out.Write(DiskBenchmarkToJson(result));
  out.Commit();
  return file;
}

std::optional<DiskFigures> LoadDiskFigures(const fs::path& path) {
  const std::optional<fs::path> cache_dir = DiskFiguresCacheDir();
  if (!cache_dir) return std::nullopt;
  // An output that does not exist yet lives on the device of its nearest existing folder.
  std::error_code ec;
  fs::path probe = fs::absolute(path, ec);
  if (ec) return std::nullopt;
  while (!fs::exists(probe, ec)) {
    if (!probe.has_parent_path() || probe.parent_path() == probe) return std::nullopt;
    probe = probe.parent_path();
  }
  try {
    const DeviceIdentity device = IdentifyDevice(probe);
    const fs::path file = DiskFiguresCacheFile(*cache_dir, device.key);
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    DiskFigures figures = ParseDiskFiguresJson(text.str(), file.string());
    if (figures.device.key != device.key) return std::nullopt;
    return figures;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace corpusflow
