// The run-specific temp folder: `<tmp-dir>/corpusflow-<pid>-<random>/`, created on first use and
// removed with everything in it when the TempDir is destroyed (success, error or interrupt).
// Thread-safe: Path() and NewFilePath() may be called from any worker.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

namespace corpusflow {

class TempDir {
 public:
  /// `parent` is the --tmp-dir (default: $TMPDIR or /tmp).
  explicit TempDir(std::filesystem::path parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& parent() const { return parent_; }
  /// The run folder, created on first call.
  std::filesystem::path Path();
  /// A fresh file name inside the run folder: `<prefix>-<n><suffix>`.
  std::filesystem::path NewFilePath(const std::string& prefix, const std::string& suffix = "");
  /// Remove the folder now (also done by the destructor).
  void Remove() noexcept;

  /// The default parent: $TMPDIR if set, else /tmp.
  static std::filesystem::path DefaultParent();

 private:
  std::filesystem::path parent_;
  std::filesystem::path path_;
  std::mutex mu_;
  std::atomic<bool> created_{false};
  std::atomic<uint64_t> counter_{0};
};

/// Free bytes available to an unprivileged writer on the filesystem of `path`.
uint64_t FreeDiskBytes(const std::filesystem::path& path);

}  // namespace corpusflow
