#include "engine/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/error.h"
#include "engine/units.h"

namespace corpusflow {

ProgressMode ParseProgressMode(const std::string& text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  throw InvalidArgument("invalid --progress '" + text + "' (expected auto, always or never)");
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

size_t TerminalWidth(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(columns, &end, 10);
    if (end != columns && *end == '\0' && n > 0 && n < 100000) return n;
  }
  return 80;
}

Progress::Progress(ProgressMode mode)
    : enabled_(mode == ProgressMode::kAlways ||
               (mode == ProgressMode::kAuto && isatty(STDERR_FILENO) == 1)) {
  display_.out = stderr;
  display_.terminal = isatty(STDERR_FILENO) == 1;
  // Into a file or pipe a line every ten seconds is enough.
  display_.period_seconds = display_.terminal ? 0.5 : 10;
  run_start_ = phase_start_ = step_start_ = MonotonicSeconds();
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

Progress::Progress(ProgressDisplay display) : enabled_(true), display_(display) {
  run_start_ = phase_start_ = step_start_ = MonotonicSeconds();
  thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Stop(); }

void Progress::StartPhase(std::string stages, uint64_t total_bytes) {
  {
    std::lock_guard lock(mu_);
    stages_ = std::move(stages);
    step_.clear();
    phase_start_ = step_start_ = MonotonicSeconds();
    total_bytes_ = total_bytes;
    done_bytes_ = 0;
    records_ = 0;
    ended_early_ = false;
  }
  Poke();
}

void Progress::StartStep(std::string step, uint64_t total_bytes) {
  {
    std::lock_guard lock(mu_);
    step_ = std::move(step);
    step_start_ = MonotonicSeconds();
    total_bytes_ = total_bytes;
    done_bytes_ = 0;
  }
  Poke();
}

void Progress::Poke() {
  if (!enabled_) return;
  {
    std::lock_guard lock(mu_);
    redraw_ = true;
  }
  cv_.notify_all();
}

namespace {

/// One field of the line, and how important it is (the least important is dropped first).
struct LineField {
  std::string text;
  int importance;
};

}  // namespace

std::string Progress::Line(size_t width) const {
  std::string stages, step;
  double run_start, phase_start, step_start;
  {
    std::lock_guard lock(mu_);
    stages = stages_;
    step = step_;
    run_start = run_start_;
    phase_start = phase_start_;
    step_start = step_start_;
  }
  const double now = MonotonicSeconds();
  const double step_elapsed = now - step_start;
  const uint64_t done = done_bytes_.load();
  const uint64_t total = total_bytes_.load();
  const bool early = ended_early_.load();
  const double rate = step_elapsed > 0 ? done / step_elapsed : 0;
  char buf[128];

  std::vector<LineField> fields;
  std::string bytes = FormatBytes(static_cast<double>(done));
  const bool known_total = total > 0 && !early && done <= total;
  if (known_total) {
    std::snprintf(buf, sizeof buf, " of %s (%.1f%%)",
                  FormatBytes(static_cast<double>(total)).c_str(),
                  100.0 * static_cast<double>(done) / static_cast<double>(total));
    bytes += buf;
  }
  fields.push_back({bytes, 7});
  if (const uint64_t records = records_.load(); records > 0) {
    fields.push_back({FormatCount(records) + " records", 4});
  }
  std::snprintf(buf, sizeof buf, "%.1f MB/s", rate / 1e6);
  fields.push_back({buf, 1});
  if (known_total && rate > 0) {
    fields.push_back({"ETA " + FormatDuration(static_cast<double>(total - done) / rate), 5});
  }
  fields.push_back({"phase " + FormatDuration(now - phase_start), 2});
  fields.push_back({"total " + FormatDuration(now - run_start), 6});

  std::string label = stages.empty() ? std::string("running") : stages;
  // The step is dropped in its turn, like a field.
  constexpr int kStepImportance = 3;
  bool with_step = !step.empty();
  auto compose = [&] {
    std::string line = label;
    if (with_step) line += " (" + step + ")";
    line += ":";
    for (size_t i = 0; i < fields.size(); ++i) line += (i == 0 ? " " : ", ") + fields[i].text;
    return line;
  };
  std::string line = compose();
  if (width == 0) return line;
  // Drop the least important fields until the line fits (one is always kept), then shorten the
  // stage names.
  while (line.size() > width && fields.size() > 1) {
    auto least = std::min_element(
        fields.begin(), fields.end(),
        [](const LineField& a, const LineField& b) { return a.importance < b.importance; });
    if (with_step && kStepImportance < least->importance) {
      with_step = false;
    } else {
      fields.erase(least);
    }
    line = compose();
  }
  if (line.size() > width) {
    with_step = false;
    line = compose();
  }
  if (line.size() > width) {
    const std::string tail = line.substr(label.size());
    const size_t room = width > tail.size() + 3 ? width - tail.size() - 3 : 0;
    line = label.substr(0, room) + "..." + tail;
    if (line.size() > width) line.resize(width);
  }
  return line;
}

void Progress::Draw() {
  if (display_.terminal) {
    // One column short of the width: a character in the last column wraps on some terminals.
    const size_t width = display_.width > 0 ? display_.width : TerminalWidth(fileno(display_.out));
    const std::string line = Line(width > 1 ? width - 1 : 1);
    std::fprintf(display_.out, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(display_.out, "%s\n", Line().c_str());
  }
  std::fflush(display_.out);
  drawn_ = true;
}

void Progress::Loop() {
  const auto period = std::chrono::duration<double>(display_.period_seconds);
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period, [this] { return stop_ || redraw_; });
    if (stop_) break;
    redraw_ = false;
    lock.unlock();
    Draw();
    lock.lock();
  }
}

void Progress::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (display_.terminal && drawn_) {
      std::fprintf(display_.out, "\r\033[K");
      std::fflush(display_.out);
    }
  }
}

}  // namespace corpusflow
