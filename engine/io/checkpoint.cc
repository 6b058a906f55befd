#include "engine/io/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <system_error>

#include "engine/error.h"
#include "engine/io/file.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;

constexpr char kFormatLine[] = "corpusflow-checkpoint 1";
constexpr char kEntryFormatLine[] = "corpusflow-task 2";
constexpr char kCompleteName[] = "complete";
constexpr char kTasksFolder[] = "tasks";
constexpr uint64_t kFingerprintBytes = uint64_t{1} << 20;

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
  }
  return out;
}

/// The fields of a "key TAB value TAB ..." line, unescaped.
std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(Unescape(line.substr(start, tab - start)));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

/// The lines of a text file written by WriteFileAtomically: its first line must be `format`,
/// its last "end". Throws CorruptionError naming the file otherwise.
std::vector<std::string> ReadLines(const fs::path& path, const char* format) {
  File file = File::Open(path.string(), O_RDONLY);
  std::string text(file.Size(), '\0');
  if (file.PRead(0, text.data(), text.size()) != text.size()) {
    throw CorruptionError(path.string() + ": shorter than its size");
  }
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  if (lines.size() < 2 || lines.front() != format || lines.back() != "end") {
    throw CorruptionError(path.string() + ": not a " + std::string(format) +
                          " file, or cut short; remove the checkpoint folder or give --restart");
  }
  return {lines.begin() + 1, lines.end() - 1};
}

uint64_t ParseNumber(const std::string& text, const fs::path& where) {
  try {
    size_t used = 0;
    const uint64_t value = std::stoull(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw CorruptionError(where.string() + ": '" + text + "' is not a number");
}

void SyncFolder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) ThrowIoError("cannot open the folder", folder.string(), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems do not sync folders (EINVAL): their renames are durable as they are.
  if (rc != 0 && err != EINVAL) ThrowIoError("cannot sync the folder", folder.string(), err);
}

std::string TaskName(const std::string& phase, uint64_t task) {
  char number[32];
  std::snprintf(number, sizeof number, "%08" PRIu64, task);
  return phase + "-" + number;
}

std::string EncodeEntry(const TaskEntry& entry) {
  std::string out = std::string(kEntryFormatLine) + '\n';
  out += "phase\t" + Escape(entry.phase) + '\n';
  out += "task\t" + std::to_string(entry.task) + '\n';
  for (const auto& [key, value] : entry.values) {
    out += "value\t" + Escape(key) + '\t' + Escape(value) + '\n';
  }
  for (const TaskPart& p : entry.parts) {
    if (!p.append_temp.empty()) {
      out += "append\t" + std::to_string(p.index) + '\t' + Escape(p.target) + '\t' +
             Escape(p.append_temp) + '\t' + std::to_string(p.bytes) + '\t' +
             std::to_string(p.checksum) + '\n';
      continue;
    }
    out += "part\t" + std::to_string(p.index) + '\t' + Escape(p.target) + '\t' +
           std::to_string(p.join) + '\t' + std::to_string(p.bytes) + '\t' +
           std::to_string(p.checksum) + '\n';
  }
  out += "figures\t" + Escape(entry.figures) + '\n';
  out += "end\n";
  return out;
}

TaskEntry DecodeEntry(const fs::path& path) {
  TaskEntry entry;
  for (const std::string& line : ReadLines(path, kEntryFormatLine)) {
    const std::vector<std::string> f = Fields(line);
    if (f[0] == "phase" && f.size() == 2) {
      entry.phase = f[1];
    } else if (f[0] == "task" && f.size() == 2) {
      entry.task = ParseNumber(f[1], path);
    } else if (f[0] == "value" && f.size() == 3) {
      entry.values[f[1]] = f[2];
    } else if (f[0] == "part" && f.size() == 6) {
      entry.parts.push_back(TaskPart{ParseNumber(f[1], path), f[2],
                                     static_cast<int>(ParseNumber(f[3], path)),
                                     ParseNumber(f[4], path), ParseNumber(f[5], path), ""});
    } else if (f[0] == "append" && f.size() == 6) {
      entry.parts.push_back(TaskPart{ParseNumber(f[1], path), f[2], static_cast<int>(1),
                                     ParseNumber(f[4], path), ParseNumber(f[5], path), f[3]});
    } else if (f[0] == "figures" && f.size() == 2) {
      entry.figures = f[1];
    } else {
      throw CorruptionError(path.string() + ": unknown line '" + line + "'");
    }
  }
  return entry;
}

std::string EncodeManifest(const CheckpointIdentity& identity,
                           const std::map<std::string, std::string>& plan) {
  std::string out = std::string(kFormatLine) + '\n';
  out += "command\t" + Escape(identity.command) + '\n';
  out += "slice_bytes\t" + std::to_string(identity.slice_bytes) + '\n';
  for (const CheckpointInput& in : identity.inputs) {
    out += "input\t" + Escape(in.path) + '\t' + std::to_string(in.bytes) + '\t' +
           std::to_string(in.mtime_ns) + '\t' + in.fingerprint + '\n';
  }
  for (const auto& [key, value] : plan) out += "plan\t" + Escape(key) + '\t' + Escape(value) + '\n';
  out += "end\n";
  return out;
}

void DecodeManifest(const fs::path& path, CheckpointIdentity* identity,
                    std::map<std::string, std::string>* plan) {
  for (const std::string& line : ReadLines(path, kFormatLine)) {
    const std::vector<std::string> f = Fields(line);
    if (f[0] == "command" && f.size() == 2) {
      identity->command = f[1];
    } else if (f[0] == "slice_bytes" && f.size() == 2) {
      identity->slice_bytes = ParseNumber(f[1], path);
    } else if (f[0] == "input" && f.size() == 5) {
      identity->inputs.push_back(CheckpointInput{
          f[1], ParseNumber(f[2], path), static_cast<int64_t>(ParseNumber(f[3], path)), f[4]});
    } else if (f[0] == "plan" && f.size() == 3) {
      (*plan)[f[1]] = f[2];
    } else {
      throw CorruptionError(path.string() + ": unknown line '" + line + "'");
    }
  }
}

/// Why a run of `now` may not resume a checkpoint of `then` ("" when it may).
std::string Mismatch(const CheckpointIdentity& then, const CheckpointIdentity& now) {
  if (then.command != now.command) {
    return "it is of another command:\n  checkpoint: " + then.command +
           "\n  this run:   " + now.command;
  }
  if (then.slice_bytes != now.slice_bytes) {
    return "it was made with --slice-bytes " + std::to_string(then.slice_bytes) +
           ", this run has " + std::to_string(now.slice_bytes);
  }
  if (then.inputs.size() != now.inputs.size()) {
    return "it was made with " + std::to_string(then.inputs.size()) + " inputs, this run has " +
           std::to_string(now.inputs.size());
  }
  for (size_t i = 0; i < now.inputs.size(); ++i) {
    const CheckpointInput& a = then.inputs[i];
    const CheckpointInput& b = now.inputs[i];
    if (a.path != b.path) return "its input " + a.path + " is now " + b.path;
    if (a.bytes != b.bytes) {
      return "the input " + a.path + " changed since: " + std::to_string(a.bytes) +
             " bytes then, " + std::to_string(b.bytes) + " now";
    }
    if (a.fingerprint != b.fingerprint) {
      return "the input " + a.path + " changed since: its content differs";
    }
    if (a.mtime_ns != b.mtime_ns) {
      return "the input " + a.path + " was modified since (its modification time differs)";
    }
  }
  return "";
}

/// Bytes of every file under `dir`.
uint64_t FolderBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return bytes;
}

/// Task folders of `dir` without their entry: tasks a killed run started.
uint64_t UnfinishedTasks(const fs::path& dir) {
  uint64_t unfinished = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir / kTasksFolder, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !fs::exists(it->path().string() + ".done", ec)) ++unfinished;
  }
  return unfinished;
}

}  // namespace

void WriteFileAtomically(const fs::path& path, const std::string& text) {
  const fs::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  File file = File::Open(temp.string(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  file.Write(text);
  file.Sync();
  file.Close();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    ThrowIoError("cannot rename into place", path.string(), err);
  }
  SyncFolder(path.parent_path());
}

uint64_t FileChecksum(const std::string& path) {
  return FileChecksum(path, 0, File::Open(path, O_RDONLY).Size());
}

uint64_t FileChecksum(const std::string& path, uint64_t offset, uint64_t bytes) {
  const File file = File::Open(path, O_RDONLY);
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(),
                                                                        XXH3_freeState);
  XXH3_64bits_reset(state.get());
  std::vector<char> buffer(size_t{1} << 20);
  for (uint64_t done = 0; done < bytes;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), bytes - done));
    const size_t n = file.PRead(offset + done, buffer.data(), want);
    if (n < want) {
      throw CorruptionError(path + " ends at byte " + std::to_string(offset + done + n) +
                            " where the checkpoint expects " + std::to_string(offset + bytes));
    }
    XXH3_64bits_update(state.get(), buffer.data(), n);
    done += n;
  }
  return XXH3_64bits_digest(state.get());
}

std::vector<CheckpointInput> DescribeCheckpointInputs(const std::vector<std::string>& inputs) {
  std::vector<CheckpointInput> out;
  for (const std::string& path : inputs) {
    CheckpointInput in{path, 0, 0, "-"};
    struct stat st {};
    if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      in.bytes = static_cast<uint64_t>(st.st_size);
      in.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      // The first and last MiB and the size: a cheap check that the content is the same.
      File file = File::Open(path, O_RDONLY);
      std::string sample(std::min(in.bytes, kFingerprintBytes), '\0');
      file.PRead(0, sample.data(), sample.size());
      if (in.bytes > kFingerprintBytes) {
        std::string tail(std::min(in.bytes - kFingerprintBytes, kFingerprintBytes), '\0');
        file.PRead(in.bytes - tail.size(), tail.data(), tail.size());
        sample += tail;
      }
      sample += std::to_string(in.bytes);
      char hex[24];
      std::snprintf(hex, sizeof hex, "%016llx",
                    static_cast<unsigned long long>(XXH3_64bits(sample.data(), sample.size())));
      in.fingerprint = hex;
    }
    out.push_back(std::move(in));
  }
  return out;
}

std::unique_ptr<Checkpoint> Checkpoint::Open(const fs::path& dir,
                                             const CheckpointIdentity& identity, bool restart) {
  std::unique_ptr<Checkpoint> cp(new Checkpoint(dir));
  std::error_code ec;
  const fs::path manifest = dir / kCheckpointManifest;
  const bool exists = fs::exists(manifest, ec);
  const bool complete = fs::exists(dir / kCompleteName, ec);
  if (!exists && !complete && fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    throw InvalidArgument("--checkpoint " + dir.string() +
                          " holds files but no checkpoint; give an empty or new folder");
  }
  if (restart && (exists || complete)) {
    // Only what a checkpoint holds: the temp files beside the outputs that it appended to, its
    // task folders and entries, its manifest and note.
    try {
      cp->LoadEntries();
    } catch (const std::exception&) {
      // A damaged entry: what it names stays.
    }
    for (const auto& [key, entry] : cp->entries_) {
      for (const TaskPart& part : entry.parts) {
        if (!part.append_temp.empty()) ::unlink(part.append_temp.c_str());
      }
    }
    cp->entries_.clear();
    fs::remove_all(dir / kTasksFolder, ec);
    fs::remove(dir / kCompleteName, ec);
    fs::remove(manifest, ec);
    if (ec) ThrowIoError("cannot discard the checkpoint", dir.string(), ec.value());
  } else if (complete) {
    throw InvalidArgument("the run of the checkpoint in " + dir.string() +
                          " completed and committed its outputs; give --restart to run it again");
  } else if (exists) {
    DecodeManifest(manifest, &cp->identity_, &cp->plan_);
    const std::string why = Mismatch(cp->identity_, identity);
    if (!why.empty()) {
      throw InvalidArgument("cannot resume the checkpoint in " + dir.string() + ": " + why +
                            "\nrerun the command it was made for, or give --restart to discard "
                            "it (docs/resume.md)");
    }
    cp->LoadEntries();
    cp->unfinished_ = UnfinishedTasks(dir);
    return cp;
  }
  fs::create_directories(dir / kTasksFolder, ec);
  if (ec) ThrowIoError("cannot create the checkpoint folder", dir.string(), ec.value());
  cp->identity_ = identity;
  cp->WriteManifest();
  return cp;
}

Checkpoint::Summary Checkpoint::Read(const fs::path& dir) {
  Summary summary;
  std::error_code ec;
  summary.complete = fs::exists(dir / kCompleteName, ec);
  const fs::path manifest = dir / kCheckpointManifest;
  if (!fs::exists(manifest, ec)) {
    if (summary.complete) return summary;
    throw InvalidArgument(dir.string() + " holds no checkpoint (no " + kCheckpointManifest + ")");
  }
  DecodeManifest(manifest, &summary.identity, &summary.plan);
  for (auto it = fs::directory_iterator(dir / kTasksFolder, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".done") summary.entries.push_back(DecodeEntry(it->path()));
  }
  std::sort(summary.entries.begin(), summary.entries.end(),
            [](const TaskEntry& a, const TaskEntry& b) {
              return std::tie(a.phase, a.task) < std::tie(b.phase, b.task);
            });
  summary.bytes = FolderBytes(dir);
  summary.unfinished_folders = UnfinishedTasks(dir);
  return summary;
}

void Checkpoint::LoadEntries() {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_ / kTasksFolder, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".done") continue;
    TaskEntry entry = DecodeEntry(it->path());
    entries_[{entry.phase, entry.task}] = std::move(entry);
  }
  if (ec)
    ThrowIoError("cannot list the checkpoint's tasks in", (dir_ / kTasksFolder).string(),
                 ec.value());
}

void Checkpoint::Reload() {
  CheckpointIdentity identity;
  DecodeManifest(dir_ / kCheckpointManifest, &identity, &plan_);
  entries_.clear();
  LoadEntries();
}

void Checkpoint::WriteManifest() const {
  WriteFileAtomically(dir_ / kCheckpointManifest, EncodeManifest(identity_, plan_));
}

std::optional<std::string> Checkpoint::PlanValue(const std::string& key) const {
  const auto it = plan_.find(key);
  if (it == plan_.end()) return std::nullopt;
  return it->second;
}

void Checkpoint::SetPlanValues(const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) plan_[key] = value;
  WriteManifest();
}

const TaskEntry* Checkpoint::Entry(const std::string& phase, uint64_t task) const {
  const auto it = entries_.find({phase, task});
  return it == entries_.end() ? nullptr : &it->second;
}

uint64_t Checkpoint::Committed(const std::string& phase) const {
  uint64_t n = 0;
  for (const auto& [key, entry] : entries_) n += key.first == phase;
  return n;
}

fs::path Checkpoint::TaskFolder(const std::string& phase, uint64_t task) const {
  return dir_ / kTasksFolder / TaskName(phase, task);
}

fs::path Checkpoint::StartTask(const std::string& phase, uint64_t task) {
  const fs::path folder = TaskFolder(phase, task);
  std::error_code ec;
  fs::remove_all(folder, ec);
  fs::create_directories(folder, ec);
  if (ec) ThrowIoError("cannot create the task folder", folder.string(), ec.value());
  return folder;
}

fs::path Checkpoint::PartPath(const std::string& phase, uint64_t task, const TaskPart& part) const {
  return TaskFolder(phase, task) / ("part-" + std::to_string(part.index));
}

void Checkpoint::Commit(TaskEntry entry) {
  const fs::path folder = TaskFolder(entry.phase, entry.task);
  WriteFileAtomically(folder.string() + ".done", EncodeEntry(entry));
  entries_[{entry.phase, entry.task}] = std::move(entry);
}

void Checkpoint::Discard(const std::string& phase, uint64_t task) {
  const fs::path folder = TaskFolder(phase, task);
  const fs::path done = folder.string() + ".done";
  if (::unlink(done.c_str()) != 0 && errno != ENOENT) {
    ThrowIoError("cannot remove the journal entry", done.string(), errno);
  }
  SyncFolder(dir_ / kTasksFolder);
  std::error_code ec;
  fs::remove_all(folder, ec);
  entries_.erase({phase, task});
}

std::string MachineBootId() {
  std::string id;
  try {
    File file = File::Open("/proc/sys/kernel/random/boot_id", O_RDONLY);
    char buffer[64];
    const size_t n = file.Read(buffer, sizeof buffer);
    id.assign(buffer, n);
  } catch (const IoError&) {
    return "";
  }
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

void Checkpoint::Complete() noexcept {
  std::error_code ec;
  try {
    WriteFileAtomically(dir_ / kCompleteName, "corpusflow-checkpoint complete\n");
  } catch (const std::exception&) {
  }
  fs::remove_all(dir_ / kTasksFolder, ec);
  fs::remove(dir_ / kCheckpointManifest, ec);
  fs::remove(dir_ / kCompleteName, ec);
  fs::remove(dir_, ec);  // only when empty
  entries_.clear();
}

}  // namespace corpusflow
