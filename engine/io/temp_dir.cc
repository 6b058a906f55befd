#include "engine/io/temp_dir.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>

#include "engine/error.h"

namespace corpusflow {

TempDir::TempDir(std::filesystem::path parent) : parent_(std::move(parent)) {}

TempDir::~TempDir() { Remove(); }

std::filesystem::path TempDir::DefaultParent() {
  const char* env = std::getenv("TMPDIR");
  if (env != nullptr && *env != '\0') return env;
  return "/tmp";
}

std::filesystem::path TempDir::Path() {
  std::lock_guard lock(mu_);
  if (created_) return path_;
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::filesystem::path candidate =
        parent_ / ("corpusflow-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000));
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      path_ = candidate;
      created_ = true;
      return path_;
    }
    if (ec) ThrowIoError("cannot create temp folder in", parent_.string(), ec.value());
  }
  throw IoError("cannot create a unique temp folder in " + parent_.string());
}

std::filesystem::path TempDir::NewFilePath(const std::string& prefix, const std::string& suffix) {
  const std::filesystem::path dir = Path();
  return dir / (prefix + "-" + std::to_string(counter_.fetch_add(1)) + suffix);
}

void TempDir::Remove() noexcept {
  std::lock_guard lock(mu_);
  if (!created_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  created_ = false;
}

uint64_t FreeDiskBytes(const std::filesystem::path& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) ThrowIoError("cannot stat filesystem of", path, errno);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace corpusflow
