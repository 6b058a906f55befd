#include "engine/io/commit_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string_view>

#include "engine/error.h"
#include "engine/io/file.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "corpusflow-commit-journal 1";

/// "DEV:INO" of the file at `path` (not following a final symlink), "-" when there is none.
std::string Identity(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "-";
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

void Put(std::string& out, std::string_view field) {
  out.append(field);
  out.push_back('\0');
}

/// The NUL-terminated fields of `text`; nullopt when the last one is not terminated.
std::optional<std::vector<std::string>> Fields(const std::string& text) {
  std::vector<std::string> fields;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t nul = text.find('\0', begin);
    if (nul == std::string::npos) return std::nullopt;
    fields.push_back(text.substr(begin, nul - begin));
    begin = nul + 1;
  }
  return fields;
}

std::optional<std::string> ReadWhole(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

void WriteCommitJournal(const fs::path& folder, const std::vector<PendingRename>& renames) {
  std::string text;
  Put(text, kMagic);
  for (const PendingRename& r : renames) {
    Put(text, Identity(r.target));
    Put(text, r.temp);
    Put(text, r.target);
  }
  Put(text, "end");
  const fs::path path = folder / kCommitJournalName;
  const fs::path temp = folder / (std::string(kCommitJournalName) + ".tmp");
  {
    File file = File::Open(temp.string(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    file.Write(text);
    file.Sync();
    file.Close();
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    ThrowIoError("cannot write the commit journal", path.string(), errno);
  }
}

void RemoveCommitJournal(const fs::path& folder) noexcept {
  ::unlink((folder / kCommitJournalName).c_str());
}

JournalRecovery RecoverCommitJournal(const fs::path& folder) noexcept {
  JournalRecovery recovery;
  try {
    const std::optional<std::string> text = ReadWhole(folder / kCommitJournalName);
    if (!text) return recovery;
    recovery.found = true;
    const std::optional<std::vector<std::string>> fields = Fields(*text);
    if (!fields || fields->size() < 2 || (*fields)[0] != kMagic || fields->back() != "end" ||
        (fields->size() - 2) % 3 != 0) {
      return recovery;
    }
    for (size_t i = 1; i + 1 < fields->size(); i += 3) {
      const std::string& before = (*fields)[i];
      const std::string& temp = (*fields)[i + 1];
      const std::string& target = (*fields)[i + 2];
      struct stat st {};
      if (::lstat(temp.c_str(), &st) != 0) continue;  // renamed before the run died
      if (Identity(target) == before) {
        if (::rename(temp.c_str(), target.c_str()) == 0) recovery.completed.push_back(target);
      } else if (::unlink(temp.c_str()) == 0) {
        recovery.superseded.push_back(target);
      }
    }
    RemoveCommitJournal(folder);
  } catch (...) {
    // Out of memory: the folder is left for a later sweep.
  }
  return recovery;
}

}  // namespace corpusflow
