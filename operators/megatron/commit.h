// MegatronDatasetFiles: the two files of one dataset being written (by the writer or a merge),
// created as unique temp files beside `PREFIX.bin` and `PREFIX.idx` (engine/io/atomic_output.h)
// and committed in a run's CommitGroup (engine/io/commit_group.h) by two members, so that every
// dataset of a run switches together and no reader ever sees a `.bin` with an `.idx` that is not
// its own:
//   1. data rank, per dataset: when a dataset is replaced, its previous `.idx` and then its
//      `.bin` are renamed to backups (`.NAME.idx.prev`, `.NAME.bin.prev` beside them), then the
//      new `.bin` is renamed into place;
//   2. index rank, per dataset, after every dataset's step 1: the new `.idx` is renamed into
//      place and the backups are removed.
// A dataset's `.idx` is absent whenever its `.bin` is not the one it describes, and every old
// `.idx` is gone before any new one appears: a SIGKILL or power cut leaves each dataset as its
// old pair, its new pair, or a state without `.idx` whose previous pair is in the backups (and,
// in the very first step, its old `.bin` still in place), which inspect names with the commands
// that restore it (discovery.h). A commit that fails with an exception puts the previous pair
// back; failed or abandoned temp files are removed.
// Tests pause a commit before a step with CORPUSFLOW_TEST_PAUSE_MEGATRON_COMMIT=N (the Nth step
// of the process: stop there, say so on stderr, wait to be killed).
// Thread safety: one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/io/atomic_output.h"
#include "engine/io/commit_group.h"
#include "engine/io/file.h"
#include "engine/io/file_system.h"

namespace corpusflow {

/// Where the members of a commit go: ExecContext::DeferCommit or CommitGroup::Add.
using DeferCommitFn = std::function<void(std::unique_ptr<DeferredCommit>, CommitRank)>;

/// Write to `out_path` the `.idx` of the `.bin` that is the concatenation of the `.bin` parts
/// whose indexes are `parts` (a multi-rank run's parts, in rank order): the lengths in order,
/// the pointers shifted by the bytes before, the document indices by the sequences before.
/// Errors name `name` (the dataset's `.idx`). Throws IoError, CorruptionError, DataError.
void JoinMegatronIndexParts(const std::vector<std::string>& parts, const std::string& out_path,
                            const std::string& name);

/// The backup of a dataset file `path` while a commit replaces it: `.NAME.prev` beside it.
std::string MegatronBackupPath(const std::string& path);

class MegatronDatasetFiles {
 public:
  /// Create the temp files of `prefix.bin` and `prefix.idx` in `run`'s file system. Throws
  /// InvalidArgument when one is an input of the run, IoError when it cannot be created or is not
  /// a regular file (a dataset is never written into a device or a FIFO).
  MegatronDatasetFiles(std::string prefix, const RunFiles& run = {});
  ~MegatronDatasetFiles();
  MegatronDatasetFiles(const MegatronDatasetFiles&) = delete;
  MegatronDatasetFiles& operator=(const MegatronDatasetFiles&) = delete;

  const std::string& prefix() const { return prefix_; }
  /// The temp files to write (errors name `prefix.bin` and `prefix.idx`).
  File& bin() { return bin_.file(); }
  File& idx() { return idx_.file(); }
  /// Close both files, so that every write error has surfaced. Idempotent. Throws IoError.
  void Close();

  /// Hand the commit of `files` to `defer` as its two members (data rank, index rank).
  static void Defer(std::unique_ptr<MegatronDatasetFiles> files, const DeferCommitFn& defer);
  /// Commit `files` now, alone (a CommitGroup of its two members).
  static void Commit(std::unique_ptr<MegatronDatasetFiles> files);

 private:
  class DataCommit;
  class IndexCommit;

  /// Step 1: move the previous pair to the backups, rename the new `.bin` into place.
  void CommitData();
  /// Step 2: rename the new `.idx` into place, remove the backups.
  void CommitIndex();
  /// After a failure between step 1 and the end of step 2: put the previous pair back, or
  /// remove the new `.bin` when there was none (best effort).
  void Undo() noexcept;

  std::string prefix_;
  FileSystem* fs_;
  AtomicOutput bin_;
  AtomicOutput idx_;
  /// Progress of the commit, for Undo().
  bool moved_index_ = false;
  bool moved_bin_ = false;
  bool data_committed_ = false;
  bool index_committed_ = false;
};

}  // namespace corpusflow
