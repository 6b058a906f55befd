// The commit journal: how the outputs of one run stay consistent when the run is killed
// (SIGKILL, a power loss) between two of the renames that commit them. rename(2) replaces one
// file atomically, never two, so a run that commits several outputs (paired `shuffle` outputs,
// shards, a `tee` copy) first writes the list of its renames to `commit.journal` in its run
// folder (engine/io/temp_dir.h), then renames, then removes the journal. Every temp file named
// there is complete (closed, synced when asked) before the journal exists.
//
// A run killed meanwhile leaves its run folder, journal included. The next run that creates a run
// folder in the same temp folder sweeps the dead one, and before removing it finishes the commit
// (RecoverCommitJournal): each rename not done yet is done, unless the target was replaced since
// the journal was written (another program wrote it), in which case the stale temp file is
// removed and the newer target kept. Until then the journal names every output of the commit.
//
// Format: "corpusflow-commit-journal 1\0", then per rename "DEV:INO\0TEMP\0TARGET\0" (DEV:INO of
// the target before the commit, "-" when it did not exist), then "end\0". Written under a temp
// name, synced and renamed into place, so a journal is whole or absent.
// Thread safety: the functions are independent; one journal is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace corpusflow {

/// The journal's name inside a run folder.
inline constexpr char kCommitJournalName[] = "commit.journal";

/// One rename of a commit: the complete temp file and the output it replaces.
struct PendingRename {
  std::string temp;
  std::string target;
};

/// Write the journal of `renames` into `folder`, recording what each target is now. Throws
/// IoError.
void WriteCommitJournal(const std::filesystem::path& folder,
                        const std::vector<PendingRename>& renames);

/// Remove the journal from `folder` (every rename is done).
void RemoveCommitJournal(const std::filesystem::path& folder) noexcept;

/// What finishing a killed run's commit did.
struct JournalRecovery {
  /// Whether `folder` held a journal.
  bool found = false;
  /// Renames done now, and the outputs they gave.
  std::vector<std::string> completed;
  /// Temp files removed because their target was replaced after the journal was written.
  std::vector<std::string> superseded;
};

/// Finish the commit journaled in `folder`, a dead run's folder, and remove the journal. A
/// malformed journal is left alone (found, nothing done). Never throws.
JournalRecovery RecoverCommitJournal(const std::filesystem::path& folder) noexcept;

}  // namespace corpusflow
