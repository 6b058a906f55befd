// Checkpoint: the folder of a resumable run (`--checkpoint DIR`, docs/resume.md). A run with a
// checkpoint is divided into tasks that depend on its inputs and options alone (engine/slices.h):
// input tasks, one per input slice, and for a run with a shuffle output tasks, one per fixed range
// of the shuffled order. Each task's results are committed to the folder with a journal entry;
// a rerun of the same command with the same folder skips the tasks committed and does the rest,
// and its outputs are byte for byte those of an uninterrupted run.
//
// Layout of DIR (the manifest and entries written whole under a temp name, synced and renamed,
// then the folder synced; a task's own files are not synced, their checksums are; nothing is
// ever locked or mapped, so it works on network filesystems):
//   corpusflow-checkpoint    the manifest: what the checkpoint is of (the command and options
//                            that decide the outputs, each input's size, mtime and a content
//                            fingerprint, the slice size) and values the first run fixed for the
//                            later ones (the key ranges of a shuffle, its output tasks)
//   tasks/PHASE-NNNNNNNN/    a task's files: the records an input task gives the shuffle, or the
//                            parts of the outputs a task wrote (part-K)
//   tasks/PHASE-NNNNNNNN.done    its journal entry: the task's values (the boot of the machine
//                            it ran on, records per output task), its parts (target, join, bytes,
//                            XXH3 checksum) and its figures for the run's report. A task is
//                            committed when its entry exists; a task folder without one is a killed
//                            task's, redone.
//   complete                 written after the run committed its outputs; the run then removes
//                            everything else, and this last
// The manifest format and the entries are text, one "key TAB value" per line, values escaped
// (\\, \t, \n), the first line naming the format, the last "end".
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace corpusflow {

/// The manifest's name inside a checkpoint folder.
inline constexpr char kCheckpointManifest[] = "corpusflow-checkpoint";

/// One input file as the checkpoint knows it.
struct CheckpointInput {
  std::string path;
  uint64_t bytes = 0;
  int64_t mtime_ns = 0;
  /// XXH3 of the file's first and last MiB and its size ("-" for a stream).
  std::string fingerprint;
};

/// What a checkpoint is of; a run may resume only a checkpoint of the same identity.
struct CheckpointIdentity {
  /// The command and its options that decide the outputs (not --threads, --memory, --tmp-dir,
  /// --progress, --stats-json, --checkpoint, --restart).
  std::string command;
  uint64_t slice_bytes = 0;
  std::vector<CheckpointInput> inputs;
};

/// The identity of `inputs` as they are now (stat and fingerprint each). Throws IoError.
std::vector<CheckpointInput> DescribeCheckpointInputs(const std::vector<std::string>& inputs);

/// A file a task wrote that is part of a run output: the task's share of `target`.
struct TaskPart {
  /// Index of the file among the task's files (the same on every task).
  uint64_t index = 0;
  std::string target;
  /// DeferredCommit::Join as an integer.
  int join = 0;
  uint64_t bytes = 0;
  /// XXH3 of the part's bytes.
  uint64_t checksum = 0;
  /// Not empty for an output appended to (not a part): its temp file beside the output, whose
  /// first `bytes` bytes are this task's and the earlier ones' (`checksum`: of this task's,
  /// those after the previous task's `bytes`).
  std::string append_temp;
};

/// A committed task's journal entry.
struct TaskEntry {
  std::string phase;
  uint64_t task = 0;
  std::map<std::string, std::string> values;
  std::vector<TaskPart> parts;
  /// RunStats::EncodeFigures of the task alone.
  std::string figures;
};

class Checkpoint {
 public:
  /// Use `dir` for a run of `identity`: create the folder and its manifest when it holds no
  /// checkpoint; else check that the checkpoint is of the same identity (an InvalidArgument
  /// naming what changed otherwise) and load its entries. `restart`: discard what the folder
  /// holds of an earlier checkpoint first. A checkpoint whose run completed is an
  /// InvalidArgument too (nothing to resume; --restart runs it again). A folder that holds other
  /// files but no manifest is refused (it is not a checkpoint). Throws IoError.
  static std::unique_ptr<Checkpoint> Open(const std::filesystem::path& dir,
                                          const CheckpointIdentity& identity, bool restart);

  /// What a checkpoint folder holds, for `corpusflow status` (no identity check). Throws
  /// InvalidArgument when `dir` holds no checkpoint.
  struct Summary {
    CheckpointIdentity identity;
    std::map<std::string, std::string> plan;
    std::vector<TaskEntry> entries;
    /// Bytes of every file in the folder.
    uint64_t bytes = 0;
    /// Task folders without an entry (a killed task's work, redone by the next run).
    uint64_t unfinished_folders = 0;
    bool complete = false;
  };
  static Summary Read(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  /// A value the first run of the checkpoint fixed (the manifest's plan lines).
  std::optional<std::string> PlanValue(const std::string& key) const;
  /// Fix values for every later run (the manifest is rewritten once). REQUIRES: not fixed yet.
  void SetPlanValues(const std::map<std::string, std::string>& values);

  /// Load the manifest's plan values and the entries again: what rank 0 of an MPI run fixed and
  /// the tasks the other ranks committed since come, those it discarded go.
  void Reload();
  /// The entry of a committed task, or null.
  const TaskEntry* Entry(const std::string& phase, uint64_t task) const;
  /// Task folders without an entry when the checkpoint was opened: tasks a killed run started,
  /// which this run does again.
  uint64_t unfinished_tasks() const { return unfinished_; }
  /// Tasks of `phase` committed.
  uint64_t Committed(const std::string& phase) const;
  /// The folder for task `task` of `phase`'s files, created empty (what a killed run left there
  /// is removed first). REQUIRES: the task is not committed.
  std::filesystem::path StartTask(const std::string& phase, uint64_t task);
  /// The folder of a task (committed or started).
  std::filesystem::path TaskFolder(const std::string& phase, uint64_t task) const;
  /// Commit a task: its entry is written (temp, sync, rename, folder sync). Every file the entry
  /// names must be complete in its folder; they are not synced: their checksums are in the
  /// entry, with the boot they were written on (`boot` value, MachineBootId), for a run on
  /// another boot to check.
  void Commit(TaskEntry entry);
  /// Undo the commit of a task whose files did not survive: its entry and folder are removed,
  /// and the task is done again. Throws IoError.
  void Discard(const std::string& phase, uint64_t task);
  /// The run committed its outputs: note it, then remove the task folders, entries and manifest,
  /// the note last, and the folder when it is empty. Never throws (what cannot be removed stays,
  /// and a later run with --restart removes it).
  void Complete() noexcept;

  /// The path of part `part` of a task (in its folder).
  std::filesystem::path PartPath(const std::string& phase, uint64_t task,
                                 const TaskPart& part) const;

 private:
  explicit Checkpoint(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void WriteManifest() const;
  /// Load the entries of the task folder not loaded yet.
  void LoadEntries();

  std::filesystem::path dir_;
  CheckpointIdentity identity_;
  std::map<std::string, std::string> plan_;
  std::map<std::pair<std::string, uint64_t>, TaskEntry> entries_;
  uint64_t unfinished_ = 0;
};

/// Write `text` to `path` whole: a temp file beside it, synced, renamed, the folder synced.
/// Throws IoError.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& text);

/// The identity of this boot of the machine (Linux: /proc/sys/kernel/random/boot_id), "" when
/// unknown. A task's files that the process did not sync are whole as long as the machine that
/// wrote them has not restarted since, whatever killed the process: a task notes the boot
/// (its entry's `boot` value), and a run on another boot, or on another machine, checks them.
std::string MachineBootId();

/// XXH3 of a file's bytes, or of `bytes` of them from `offset` on (CorruptionError when the file
/// ends before). Throws IoError.
uint64_t FileChecksum(const std::string& path);
uint64_t FileChecksum(const std::string& path, uint64_t offset, uint64_t bytes);

}  // namespace corpusflow
