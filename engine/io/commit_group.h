// CommitGroup: the outputs of one run, made visible together once everything succeeded. Writers
// finish their files under temp names and hand them to the run's group (ExecContext::DeferCommit)
// instead of renaming them; at the end of a successful run the group commits in two phases:
//   1. Prepare() every member, in the order of their CommitRank and then the order in which they
//      were added: flush, sync and close its temp files (any failure here stops the commit with
//      nothing renamed, and every temp file is removed). A member may add members while it
//      prepares (a `tee` finishes its inner writer then); they are prepared in turn;
//   2. Commit() every member: the renames, in the same order. Data files (text outputs, shards, a
//   dataset's .bin) come first,
//      index files (a dataset's .idx) after them, reports (the --stats-json document) last, so a
//      reader that opens a run's outputs by its index never sees an index without its data.
// A SIGKILL between two renames cannot be caught: the renames are journaled in the run folder
// first, and the next run's sweep of that folder finishes them (engine/io/commit_journal.h).
// While it prepares, the group notes the files of each member (DeferredCommit::Files) with their
// sizes and the member's owner (the index of the operator that added it, see Add): the run's
// report lists the real files written, each with its bytes (docs/stats.md).
// A group destroyed or discarded without Commit() destroys its members uncommitted, which removes
// their temp files: a failed run leaves no output behind. docs/io.md has the whole protocol.
// Thread safety: Add() may be called from any worker (and from a member's Prepare()); Commit()
// and Discard() from one thread once the workers are done.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/commit_journal.h"

namespace corpusflow {

class Cluster;

/// An output held back until the whole run succeeded.
class DeferredCommit {
 public:
  virtual ~DeferredCommit() = default;
  /// Finish the output under its temp name (flush, sync, close). Called once, before any member
  /// of the group commits. Throws on failure.
  virtual void Prepare() {}
  /// Make the output visible (rename its temp files). Called once, after every member of the
  /// group prepared. An object destroyed without Commit() must remove what it wrote.
  virtual void Commit() = 0;
  /// After Prepare(): the renames Commit() will do, for the group's journal; none for an output
  /// written in place, or one that keeps its own crash protocol (a Megatron dataset).
  virtual std::vector<PendingRename> Renames() const { return {}; }
  /// After Prepare(): the files this member makes visible, each as its final path (`target`) and
  /// where its bytes are now (`temp`: the temp file, or the target itself when written in
  /// place). Defaults to Renames(); a member that keeps its own protocol lists its files here.
  virtual std::vector<PendingRename> Files() const { return Renames(); }
  /// How a multi-rank run joins the parts of this member's files that the ranks wrote
  /// (CommitGroup::set_cluster): kNone refuses the run; kConcatenate copies each rank's part
  /// after the ranks before (text outputs, a dataset's `.bin`); kCustom calls JoinParts on
  /// rank 0 (a dataset's `.idx`).
  enum class Join { kNone, kConcatenate, kCustom };
  virtual Join JoinKind() const { return Join::kNone; }
  /// kCustom, on rank 0, after every kConcatenate copy: make this member's one file (its temp,
  /// `parts[0]`) the join of `parts`, the temp files of that file on every rank, in rank order
  /// (on a filesystem every rank sees). Throws on failure.
  virtual void JoinParts(const std::vector<std::string>& /*parts*/) {}
};

/// `member` with the final paths of its files (Files, Renames) mapped by `retarget`; the rest
/// (Prepare, JoinKind, JoinParts) is `member`'s, and Commit() commits `member` as it is. For the
/// parts that ranks above 0 give a multi-rank commit, which they never commit themselves: a
/// rank's file that is its part of another output (a round-robin shard whose turn started on
/// another rank, engine/sharding.h).
std::unique_ptr<DeferredCommit> RetargetFiles(
    std::unique_ptr<DeferredCommit> member,
    std::function<std::string(const std::string&)> retarget);

/// A file a CommitGroup prepared: its final path, its size (none for a stream written in place:
/// stdout, a FIFO, a device) and the owner its member was added with (-1: none).
struct WrittenFile {
  std::string path;
  std::optional<uint64_t> bytes;
  int owner = -1;
};

/// The order of the renames in a group: lower ranks first.
enum class CommitRank {
  /// Data files: text outputs and their shards, a dataset's `.bin`, a `tee` copy.
  kData = 0,
  /// Files that describe data files and must never appear before them: a dataset's `.idx`.
  kIndex = 1,
  /// Reports on the run itself: the `--stats-json` document.
  kReport = 2,
};

class CommitGroup {
 public:
  CommitGroup() = default;
  CommitGroup(const CommitGroup&) = delete;
  CommitGroup& operator=(const CommitGroup&) = delete;
  ~CommitGroup() { Discard(); }

  /// Hold `member` until Commit(). `owner` tags the files it writes (WrittenFile::owner); -1
  /// gives it the owner of the member being prepared, if any (a `tee`'s inner writer adds its
  /// files then). Thread-safe.
  void Add(std::unique_ptr<DeferredCommit> member, CommitRank rank = CommitRank::kData,
           int owner = -1);
  /// Where the journal of a commit of several renames goes (the run folder); unset: no journal.
  /// Called only when a journal is needed.
  void set_journal_folder(std::function<std::filesystem::path()> folder) {
    journal_folder_ = std::move(folder);
  }
  /// The ranks that write this run's outputs together (engine/cluster.h); unset or one process:
  /// this group's files are the outputs. With several ranks, every rank prepares its members,
  /// which must name the same files in the same order on every rank; after the data and index
  /// members and before the report, the ranks agree that all prepared (Cluster::Agree), then each
  /// rank above 0 copies its parts into rank 0's temp files at the offsets of an exclusive sum of
  /// their sizes (DeferredCommit::Joinable), they agree again, and rank 0 alone commits; the
  /// other ranks' temp files are removed.
  void set_cluster(Cluster* cluster) { cluster_ = cluster; }
  /// One part of an output that an earlier task wrote: its path, bytes and XXH3.
  struct EarlierPart {
    std::string path;
    uint64_t bytes = 0;
    uint64_t checksum = 0;
  };
  /// The parts of each output that earlier tasks of a checkpointed run wrote (docs/resume.md),
  /// for the commit of its last task: `earlier(i, target)` gives the parts of file i of the
  /// group (counted over the members' Files() in preparation order, whose final path is
  /// `target`), in task order. Set: after the data and index members and before the report,
  /// each file's temp becomes the join of those parts and its own bytes (copied after them, or
  /// by DeferredCommit::JoinParts), each part checked against its bytes and checksum as it is
  /// read (a CorruptionError naming it otherwise); then the group commits as usual.
  using EarlierParts = std::function<std::vector<EarlierPart>(size_t, const std::string&)>;
  void set_earlier_parts(EarlierParts earlier) { earlier_parts_ = std::move(earlier); }
  /// A member of a task of a checkpointed run, prepared and taken out of the group.
  struct TakenMember {
    CommitRank rank;
    std::unique_ptr<DeferredCommit> output;
  };
  /// Prepare every member of a rank below kReport (those added meanwhile included) and take them
  /// out of the group, in preparation order: a checkpointed run keeps their files as the parts
  /// of a task and destroys them (docs/resume.md). On an exception every member taken is
  /// destroyed (their temp files removed) and the exception propagates.
  std::vector<TakenMember> PrepareAndTakeOutputs();
  /// Prepare every member (those added meanwhile included), then commit every member, in rank
  /// order (then order added); when the members have two renames or more and a journal folder
  /// is set, the renames are journaled first and the journal removed after the last
  /// (engine/io/commit_journal.h). On an exception the members not yet committed are destroyed
  /// (removing their temp files) and the exception propagates. The group is empty afterwards.
  void Commit();
  /// Destroy every member without committing it. The group is empty afterwards.
  void Discard() noexcept;
  /// Members held.
  size_t size() const;
  /// The files of the members prepared so far (by the last Commit()), in preparation order.
  /// Thread-safe.
  std::vector<WrittenFile> written() const;

 private:
  struct Member {
    CommitRank rank;
    std::unique_ptr<DeferredCommit> output;
    int owner = -1;
  };
  /// With several ranks: the join described at set_cluster, of the members prepared so far.
  void JoinAcrossRanks(const std::vector<Member>& prepared);
  /// With earlier parts set: the join described at set_earlier_parts.
  void JoinEarlierParts(const std::vector<Member>& prepared);
  Cluster* cluster_ = nullptr;
  EarlierParts earlier_parts_;
  /// Take out the member of lowest rank added first, if any.
  std::optional<Member> TakeFirst();

  mutable std::mutex mu_;
  std::vector<Member> members_;
  /// The owner of the member being prepared (-1 outside Prepare()).
  int preparing_owner_ = -1;
  std::vector<WrittenFile> written_;
  std::function<std::filesystem::path()> journal_folder_;
};

}  // namespace corpusflow
