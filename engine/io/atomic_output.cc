#include "engine/io/atomic_output.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <system_error>
#include <utility>

#include "engine/error.h"
#include "engine/io/paths.h"

namespace corpusflow {
namespace {

/// Attempts at a unique temp name before giving up (each collision is a 1 in 62^6 event unless
/// something floods the folder with our names).
constexpr int kTempNameAttempts = 100;
/// Longest file name kept in a temp name, so that `.NAME.tmp-XXXXXX` stays within NAME_MAX.
constexpr size_t kMaxNameInTemp = 200;

std::string RandomSuffix() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   (static_cast<uint64_t>(::getpid()) << 32));
  std::string suffix(6, ' ');
  for (char& c : suffix) c = kChars[rng() % (sizeof kChars - 1)];
  return suffix;
}

/// The file a symlink finally points to, or "" when it cannot be resolved.
std::string ResolveSymlink(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return "";
  return resolved;
}

}  // namespace

std::string NewJobName() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device() ^
                         (static_cast<uint64_t>(::getpid()) << 16);
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

uint64_t RemoveJobTemps(FileSystem& fs, const std::vector<std::string>& folders,
                        std::string_view job) noexcept {
  uint64_t removed = 0;
  if (job.empty()) return removed;
  const std::string mark = ".tmp-" + std::string(job) + "-r";
  for (const std::string& folder : folders) {
    std::error_code error;
    std::filesystem::directory_iterator it(folder.empty() ? "." : folder, error);
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] != '.' || name.find(mark) == std::string::npos) continue;
      if (fs.Unlink(it->path().string())) ++removed;
    }
  }
  return removed;
}

std::string AtomicOutput::TempPathFor(const std::string& path, std::string_view suffix) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() > kMaxNameInTemp) name.resize(kMaxNameInTemp);
  return dir + "." + name + ".tmp-" + std::string(suffix);
}

AtomicOutput AtomicOutput::Create(const std::string& path, const RunFiles& run, bool sync) {
  AtomicOutput out;
  out.fs_ = &run.fs();
  out.path_ = path;
  out.target_ = path;
  out.sync_ = sync;
  if (path == "-") {
    out.file_ = File(STDOUT_FILENO, "<stdout>", File::Ownership::kBorrowed);
    out.in_place_ = true;
    return out;
  }
  if (path.empty()) throw InvalidArgument("empty output path");
  FileSystem& fs = *out.fs_;
  if (const std::optional<FileStatus> status = fs.Stat(path)) {
    if (run.IsInput(status->id)) {
      throw InvalidArgument("cannot write " + path + ": it is an input of this run");
    }
    switch (status->type) {
      case FileType::kDirectory:
        throw IoError("cannot write output " + path + ": it is a directory");
      case FileType::kOther:
        // A device, FIFO, socket or terminal: renaming over it would replace the node itself.
        out.file_ = fs.OpenForWrite(path);
        out.in_place_ = true;
        return out;
      case FileType::kRegular:
      case FileType::kSymlink:
        break;
    }
    const std::optional<FileStatus> link = fs.LinkStat(path);
    if (link && link->type == FileType::kSymlink) {
      const std::string resolved = ResolveSymlink(path);
      const std::optional<FileStatus> at = resolved.empty() ? std::nullopt : fs.Stat(resolved);
      if (!at || !(at->id == status->id)) {
        // A link that names no path any more (/proc/self/fd/N of a deleted file): write through
        // it rather than replace the link.
        out.file_ = fs.OpenForWrite(path);
        out.in_place_ = true;
        return out;
      }
      out.target_ = resolved;
    }
  }
  if (run.appends != nullptr) {
    const auto appended = run.appends->find(out.target_);
    if (appended != run.appends->end()) {
      const AppendedOutput& a = appended->second;
      const std::optional<FileStatus> temp = fs.Stat(a.temp);
      if (temp ? temp->size < a.offset : a.offset > 0) {
        throw CorruptionError(a.temp + ", the output " + path +
                              " that a checkpointed run appends to, is missing or shorter than "
                              "its tasks wrote; give --restart");
      }
      if (temp) {
        out.file_ = fs.OpenForWrite(a.temp);
      } else if (std::optional<File> created = fs.CreateExclusive(a.temp)) {
        out.file_ = std::move(*created);
      } else {
        throw IoError("cannot create " + a.temp + " for " + path);
      }
      if (::ftruncate(out.file_.fd(), static_cast<off_t>(a.offset)) != 0 ||
          ::lseek(out.file_.fd(), static_cast<off_t>(a.offset), SEEK_SET) < 0) {
        ThrowIoError("cannot cut to its committed bytes", a.temp, errno);
      }
      out.file_.Skip(a.offset);
      out.file_.HashWrites(a.written.get());
      out.file_.set_name(path);
      out.temp_path_ = a.temp;
      out.kept_ = true;
      return out;
    }
  }
  // A missing folder is created (and removed again by a run that fails).
  const std::filesystem::path folder = std::filesystem::path(out.target_).parent_path();
  if (!folder.empty()) {
    if (run.folders != nullptr) {
      run.folders->Ensure(folder);
    } else {
      EnsureFolder(folder);
    }
  }
  for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
    std::string temp = TempPathFor(out.target_, run.temp_tag + RandomSuffix());
    if (std::optional<File> file = fs.CreateExclusive(temp)) {
      out.file_ = std::move(*file);
      out.file_.set_name(path);  // errors name the output, not its temp file
      out.temp_path_ = std::move(temp);
      return out;
    }
  }
  throw IoError("cannot create a unique temp file for " + path);
}

AtomicOutput::AtomicOutput(AtomicOutput&& other) noexcept
    : fs_(other.fs_),
      file_(std::move(other.file_)),
      path_(std::move(other.path_)),
      target_(std::move(other.target_)),
      temp_path_(std::exchange(other.temp_path_, std::string())),
      in_place_(other.in_place_),
      sync_(other.sync_),
      committed_(other.committed_),
      kept_(other.kept_) {}

AtomicOutput& AtomicOutput::operator=(AtomicOutput&& other) noexcept {
  if (this != &other) {
    Abandon();
    fs_ = other.fs_;
    file_ = std::move(other.file_);
    path_ = std::move(other.path_);
    target_ = std::move(other.target_);
    temp_path_ = std::exchange(other.temp_path_, std::string());
    in_place_ = other.in_place_;
    sync_ = other.sync_;
    committed_ = other.committed_;
    kept_ = other.kept_;
  }
  return *this;
}

AtomicOutput::~AtomicOutput() { Abandon(); }

void AtomicOutput::Close() {
  if (!file_.is_open()) return;
  if (sync_ && !in_place_) file_.Sync();
  file_.Close();
}

void AtomicOutput::Commit() {
  if (committed_) return;
  Close();
  if (!in_place_) {
    fs_->Rename(temp_path_, target_);
    temp_path_.clear();
  }
  committed_ = true;
}

void AtomicOutput::Abandon() noexcept {
  try {
    file_.Close();
  } catch (...) {
    // The output is being dropped: a failed close changes nothing.
  }
  if (!committed_ && !kept_ && !temp_path_.empty()) fs_->Unlink(temp_path_);
  temp_path_.clear();
  committed_ = true;
}

}  // namespace corpusflow
