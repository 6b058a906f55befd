#include "operators/shuffle/shuffle_bounds.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <thread>

#include "engine/error.h"
#include "engine/stats.h"
#include "engine/units.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;

/// A bound that reaches this fraction of the achieved time names the limit.
constexpr double kLimitFraction = 0.5;
/// Achieved faster than the I/O bound by more than this margin: the page cache served the data.
constexpr double kCacheMargin = 1.05;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Pattern { kSequentialRead, kSequentialWrite, kSpillRead, kSpillWrite };

struct Transfer {
  const StorageSite* site;
  uint64_t bytes;
  Pattern pattern;
  std::string what;
};

double Rate(const DiskFigures& f, Pattern p) {
  switch (p) {
    case Pattern::kSequentialRead:
      return f.seq_read_bytes_per_second;
    case Pattern::kSequentialWrite:
      return f.seq_write_bytes_per_second;
    case Pattern::kSpillRead:
      return f.spill_read_bytes_per_second;
    case Pattern::kSpillWrite:
      return f.spill_write_bytes_per_second;
  }
  return 0;
}

std::string Seconds(double s) {
  char buf[32];
  if (!std::isfinite(s)) return "unknown";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.2fs", s);
    return buf;
  }
  return FormatDuration(s);
}

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * fraction);
  return buf;
}

/// The directory to pass to `bench disk --dir` for a site.
std::string MeasureDir(const StorageSite& site, bool is_dir) {
  std::error_code ec;
  fs::path p = fs::absolute(site.path, ec);
  if (ec) p = site.path;
  if (!is_dir) p = p.parent_path();
  return p.string();
}

void AddNote(std::vector<std::string>* notes, std::string note) {
  if (std::find(notes->begin(), notes->end(), note) == notes->end()) {
    notes->push_back(std::move(note));
  }
}

std::string FiguresOrigin(const DiskFigures& f) {
  char date[64] = "?";
  const std::time_t t = static_cast<std::time_t>(f.measured_at);
  std::tm tm{};
  if (gmtime_r(&t, &tm) != nullptr) std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
  return (f.source.empty() ? "device " + f.device.key : f.source) + " (measured " + date + ")";
}

/// The I/O bound of one pass. Sets *unmeasured when a site that moved bytes has no figures,
/// *measured when one has.
double PassIoSeconds(const std::vector<Transfer>& transfers, std::string* detail,
                     ShuffleBounds* bounds, bool* unmeasured, bool* measured) {
  std::vector<std::string>* notes = &bounds->notes;
  struct DeviceTime {
    std::string name;
    double seconds = 0;
    std::string detail;
  };
  std::map<std::string, DeviceTime> devices;
  for (const Transfer& t : transfers) {
    if (t.bytes == 0) continue;
    const StorageSite& site = *t.site;
    const bool is_dir = t.what.find("spill") != std::string::npos;
    switch (site.kind) {
      case StorageSite::Kind::kPipe:
        continue;
      case StorageSite::Kind::kUnknown:
        *unmeasured = true;
        AddNote(notes, t.what + ": location not known, not in the I/O bound");
        continue;
      case StorageSite::Kind::kUnmeasured:
        *unmeasured = true;
        AddNote(notes,
                t.what + " (" + site.path + "): device " +
                    (site.figures.device.key.empty() ? std::string("?") : site.figures.device.key) +
                    " not measured; run `corpusflow bench disk --dir " + MeasureDir(site, is_dir) +
                    "`");
        continue;
      case StorageSite::Kind::kMeasured:
        break;
    }
    const double rate = Rate(site.figures, t.pattern);
    if (!(rate > 0)) {
      *unmeasured = true;
      AddNote(notes, t.what + ": the cached figures of device " + site.figures.device.key +
                         " lack this pattern; run `corpusflow bench disk --dir " +
                         MeasureDir(site, is_dir) + "`");
      continue;
    }
    *measured = true;
    AddNote(&bounds->disk_figures, FiguresOrigin(site.figures));
    DeviceTime& d = devices[site.figures.device.key];
    d.name = site.figures.device.source.empty() ? "device " + site.figures.device.key
                                                : site.figures.device.source;
    const double seconds = t.bytes / rate;
    d.seconds += seconds;
    d.detail += (d.detail.empty() ? "" : " + ") + t.what + " " + Seconds(seconds);
  }
  double worst = 0;
  detail->clear();
  for (const auto& [key, d] : devices) {
    if (d.seconds > worst) {
      worst = d.seconds;
      *detail = d.name + ": " + d.detail;
    }
  }
  return worst;
}

}  // namespace

std::string ShuffleLimitName(ShuffleLimit limit) {
  switch (limit) {
    case ShuffleLimit::kDisk:
      return "disk";
    case ShuffleLimit::kCpu:
      return "cpu";
    case ShuffleLimit::kNeither:
      return "neither";
    case ShuffleLimit::kUnknown:
      return "unknown";
  }
  return "unknown";
}

StorageSite StorageSiteForPath(const std::string& path) {
  StorageSite site;
  site.path = path;
  if (path.empty()) {
    site.kind = StorageSite::Kind::kUnknown;
    return site;
  }
  if (path == "-") {
    site.kind = StorageSite::Kind::kPipe;
    return site;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)) {
      site.kind = StorageSite::Kind::kPipe;
      return site;
    }
    if (S_ISREG(st.st_mode)) site.file_bytes = static_cast<uint64_t>(st.st_size);
  }
  if (std::optional<DiskFigures> figures = LoadDiskFigures(path)) {
    site.kind = StorageSite::Kind::kMeasured;
    site.figures = std::move(*figures);
    return site;
  }
  site.kind = StorageSite::Kind::kUnmeasured;
  // Name the device in the note when it can be identified.
  std::error_code ec;
  fs::path probe = fs::absolute(path, ec);
  while (!ec && !fs::exists(probe, ec) && probe.has_parent_path() && probe.parent_path() != probe) {
    probe = probe.parent_path();
  }
  try {
    if (!ec) site.figures.device = IdentifyDevice(probe);
  } catch (const Error&) {
    // The key stays empty: the note then says "device ?".
  }
  return site;
}

ShuffleStorage LocateShuffleStorage(const std::vector<std::string>& inputs, const fs::path& tmp_dir,
                                    const std::string& output) {
  ShuffleStorage storage;
  for (const std::string& input : inputs) storage.inputs.push_back(StorageSiteForPath(input));
  storage.spill = StorageSiteForPath(tmp_dir.string());
  storage.output = StorageSiteForPath(output);
  return storage;
}

ShuffleBounds ComputeShuffleBounds(const ShuffleRunFigures& run, const ShuffleStorage& storage) {
  ShuffleBounds b;
  // Input bytes per input: by file size when every size is known, else equal shares.
  std::vector<StorageSite> unknown_input;
  const std::vector<StorageSite>* inputs = &storage.inputs;
  if (inputs->empty()) {
    unknown_input.emplace_back();
    inputs = &unknown_input;
  }
  uint64_t sized = 0;
  bool all_sized = true;
  for (const StorageSite& s : *inputs) {
    sized += s.file_bytes;
    all_sized = all_sized && s.file_bytes > 0;
  }
  std::vector<Transfer> pass1;
  std::vector<Transfer> pass2;
  uint64_t assigned = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    uint64_t share;
    if (i + 1 == inputs->size()) {
      share = run.input_bytes - assigned;
    } else if (all_sized && sized > 0) {
      share = static_cast<uint64_t>(static_cast<long double>(run.input_bytes) *
                                    (*inputs)[i].file_bytes / sized);
    } else {
      share = run.input_bytes / inputs->size();
    }
    assigned += share;
    pass1.push_back({&(*inputs)[i], share, Pattern::kSequentialRead, "read input"});
  }
  pass1.push_back({&storage.spill, run.spill_stored_bytes, Pattern::kSpillWrite, "write spill"});
  pass2.push_back({&storage.spill, run.spill_stored_bytes, Pattern::kSpillRead, "read spill"});
  pass2.push_back({&storage.output, run.output_bytes, Pattern::kSequentialWrite, "write output"});

  bool unmeasured = false;
  bool measured = false;
  b.pass1.io_seconds = PassIoSeconds(pass1, &b.pass1.io_detail, &b, &unmeasured, &measured);
  b.pass2.io_seconds = PassIoSeconds(pass2, &b.pass2.io_detail, &b, &unmeasured, &measured);
  b.io_complete = !unmeasured;
  const bool io_known = measured || !unmeasured;

  const int threads = std::max(1, run.threads);
  const int cores = run.cores > 0
                        ? run.cores
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto cpu_bound = [&](const ShufflePassFigures& p) {
    if (p.ram_bytes_per_second > 0) return run.input_bytes / p.ram_bytes_per_second;
    return p.cpu_seconds / threads;
  };
  b.pass1.achieved_seconds = run.pass1.wall_seconds;
  b.pass2.achieved_seconds = run.pass2.wall_seconds;
  b.pass1.cpu_seconds = cpu_bound(run.pass1);
  b.pass2.cpu_seconds = cpu_bound(run.pass2);

  b.achieved_seconds = b.pass1.achieved_seconds + b.pass2.achieved_seconds;
  b.cpu_seconds = b.pass1.cpu_seconds + b.pass2.cpu_seconds;
  b.io_seconds = io_known ? b.pass1.io_seconds + b.pass2.io_seconds : kNaN;
  b.lower_bound_seconds = std::max(b.pass1.io_seconds, b.pass1.cpu_seconds) +
                          std::max(b.pass2.io_seconds, b.pass2.cpu_seconds);
  if (!(b.achieved_seconds > 0)) {
    b.io_fraction = kNaN;
    b.cpu_fraction = kNaN;
    b.limit = ShuffleLimit::kUnknown;
    b.verdict = "no time measured";
    return b;
  }
  b.io_fraction = io_known ? b.io_seconds / b.achieved_seconds : kNaN;
  b.cpu_fraction = b.cpu_seconds / b.achieved_seconds;

  const bool cached = io_known && b.io_fraction > kCacheMargin;
  if (cached) {
    AddNote(&b.notes, "achieved " + Seconds(b.achieved_seconds) + " is below the I/O bound " +
                          Seconds(b.io_seconds) +
                          ": the page cache served the spill or the input, the disk was not "
                          "the limit");
  }
  const std::string cpu_text = [&] {
    std::string text = "CPU-bound at " + Percent(b.cpu_fraction) + " of " +
                       std::to_string(threads) + (threads == 1 ? " thread" : " threads");
    if (threads < cores) {
      text += ": add threads (" + std::to_string(cores) + " cores)";
    } else {
      text += ", all cores busy";
    }
    return text;
  }();
  if (cached) {
    if (b.cpu_fraction >= kLimitFraction) {
      b.limit = ShuffleLimit::kCpu;
      b.verdict = cpu_text + "; the page cache absorbed the I/O";
    } else {
      b.limit = ShuffleLimit::kNeither;
      b.verdict =
          "neither disk- nor CPU-bound: faster than the device allows (page cache), "
          "and the CPU bound is " +
          Percent(b.cpu_fraction) + " of the achieved time";
    }
  } else if (io_known && b.io_seconds >= b.cpu_seconds && b.io_fraction >= kLimitFraction) {
    b.limit = ShuffleLimit::kDisk;
    b.verdict = "disk-bound at " + Percent(b.io_fraction) + " of the device";
  } else if ((!io_known || b.cpu_seconds > b.io_seconds) && b.cpu_fraction >= kLimitFraction) {
    b.limit = ShuffleLimit::kCpu;
    b.verdict = cpu_text;
  } else {
    b.limit = ShuffleLimit::kNeither;
    const double larger = io_known ? std::max(b.io_seconds, b.cpu_seconds) : b.cpu_seconds;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1fx", larger > 0 ? b.achieved_seconds / larger : 0.0);
    b.verdict =
        std::string("neither disk- nor CPU-bound: the achieved time is ") +
        (larger > 0 ? std::string(buf) + " the larger bound" : "not explained by any bound") +
        "; time went to waits or serial stages";
  }
  b.verdict += " (I/O bound " + Seconds(b.io_seconds) +
               (b.io_complete || !io_known ? "" : ", partial") + ", CPU bound " +
               Seconds(b.cpu_seconds) + ", achieved " + Seconds(b.achieved_seconds) + ")";
  if (!io_known) {
    const std::string dir = MeasureDir(storage.spill, true);
    b.verdict += "; I/O bound unknown: run `corpusflow bench disk --dir " +
                 (storage.spill.kind == StorageSite::Kind::kUnknown ? std::string("TMPDIR") : dir) +
                 "`";
  } else if (!b.io_complete) {
    b.verdict += "; I/O bound covers the measured devices only (see bound_notes)";
  }
  return b;
}

double ProcessCpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void RecordShuffleBounds(const ShuffleBounds& b, OperatorStats& stats) {
  stats.Set("bound_achieved_seconds", b.achieved_seconds);
  stats.Set("bound_io_seconds", b.io_seconds);
  stats.Set("bound_cpu_seconds", b.cpu_seconds);
  stats.Set("bound_lower_seconds", b.lower_bound_seconds);
  stats.Set("bound_io_fraction", b.io_fraction);
  stats.Set("bound_cpu_fraction", b.cpu_fraction);
  stats.Set("bound_pass1_achieved_seconds", b.pass1.achieved_seconds);
  stats.Set("bound_pass1_io_seconds", b.pass1.io_seconds);
  stats.Set("bound_pass1_cpu_seconds", b.pass1.cpu_seconds);
  stats.Set("bound_pass2_achieved_seconds", b.pass2.achieved_seconds);
  stats.Set("bound_pass2_io_seconds", b.pass2.io_seconds);
  stats.Set("bound_pass2_cpu_seconds", b.pass2.cpu_seconds);
  stats.SetText("bound_limit", ShuffleLimitName(b.limit));
  stats.SetText("bound_verdict", b.verdict);
  std::string notes;
  for (const std::string& n : b.notes) notes += (notes.empty() ? "" : "; ") + n;
  stats.SetText("bound_notes", notes);
  std::string details;
  if (!b.pass1.io_detail.empty()) details += "pass 1: " + b.pass1.io_detail;
  if (!b.pass2.io_detail.empty()) {
    details += (details.empty() ? "" : "; ") + std::string("pass 2: ") + b.pass2.io_detail;
  }
  stats.SetText("bound_io_detail", details);
  std::string figures;
  for (const std::string& f : b.disk_figures) figures += (figures.empty() ? "" : "; ") + f;
  stats.SetText("bound_disk_figures", figures);
}

}  // namespace corpusflow
