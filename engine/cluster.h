// Cluster: the processes that run one pipeline together (MPI ranks), or this process alone. The
// engine's only view of MPI: every collective the engine needs is a method here, so no file
// outside engine/cluster*.cc includes <mpi.h>, and a build without MPI (or a run not started by
// mpirun/srun) gets the single-process cluster, whose collectives are identities.
//
// Collectives: every rank calls the same collectives in the same order (MPI's rule). Each is
// called by one thread at a time per process (MPI_THREAD_SERIALIZED): the engine's exchange
// thread, or the main thread between pipelines, never both at once.
//
// Failure: a collective whose peer died ends this process through the MPI runtime (the job is
// aborted); a rank that fails by itself says so in the next AgreeOnStatus or exchange round, so
// that every rank ends with the same exit code and none commits (docs/scale-out.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/error.h"

namespace corpusflow {

class Cluster {
 public:
  virtual ~Cluster() = default;

  /// This process's rank, 0..size()-1, and the number of ranks.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool single() const { return size() == 1; }
  /// "rank K of N" for messages; "" for a single process.
  std::string Describe() const;

  /// The sum over ranks of `values` (element-wise), on every rank.
  virtual std::vector<uint64_t> SumAll(const std::vector<uint64_t>& values) = 0;
  /// The maximum over ranks of `value`, on every rank.
  virtual uint64_t MaxAll(uint64_t value) = 0;
  /// The sum of `value` over the ranks before this one (0 on rank 0).
  virtual uint64_t ExclusiveSum(uint64_t value) = 0;
  /// `bytes` of rank `root`, on every rank.
  virtual std::string Broadcast(const std::string& bytes, int root) = 0;
  /// Every rank's `bytes`, in rank order, on every rank.
  virtual std::vector<std::string> GatherAll(const std::string& bytes) = 0;

  /// One round of the all-to-all exchange: `send[r]` goes to rank r (`send.size() == size()`;
  /// this rank's own entry is passed through), and the result holds what each rank sent to this
  /// one, in rank order. Every message must stay under kMaxMessageBytes (Open MPI 4.1 has no
  /// large-count calls): the caller sizes its rounds.
  virtual std::vector<std::string> Exchange(std::vector<std::string> send) = 0;
  static constexpr uint64_t kMaxMessageBytes = (uint64_t{1} << 31) - (uint64_t{1} << 20);

  /// The collective decision at the end of a phase: every rank passes its exit code (0: it
  /// succeeded) and gets the largest one, so that all ranks commit or none does.
  virtual int AgreeOnStatus(int exit_code) = 0;

  /// An agreement point of a run that went well so far on this rank: returns when every rank
  /// did; throws RankFailed with the largest exit code when one failed. After a failure is
  /// agreed, no rank reaches another agreement point.
  void Agree();
  /// An agreement point where this rank brings its own outcome: `error` empty when it went
  /// well. When any rank failed, every rank throws: this rank's own error (as Error) if it has
  /// one, else RankFailed.
  void AgreeOnOutcome(const std::string& error);
  /// This rank failed with `exit_code`: tell the others at their agreement point (at once unless
  /// a failure was agreed already). The error path of a run calls it once; a no-op for one
  /// process. Never throws (an MPI error here aborts the job).
  void Fail(int exit_code) noexcept;

 private:
  bool failure_agreed_ = false;
};

/// Another rank failed: this one stops with the same exit code (its own message is that rank's).
class RankFailed : public Error {
 public:
  explicit RankFailed(int exit_code)
      : Error("another rank failed (exit status " + std::to_string(exit_code) +
              "); its message says why"),
        exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

/// This process alone.
std::unique_ptr<Cluster> MakeSingleProcessCluster();

/// Whether this binary was built with MPI (CMake found it).
bool ClusterHasMpi();

/// The cluster this process belongs to: the MPI world when the binary has MPI and the process was
/// started by a launcher (mpirun, mpiexec, srun: OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_RANK in
/// the environment), else this process alone. Initializes MPI on first use; FinalizeCluster
/// ends it. Throws Error when launched by mpirun but built without MPI and the launcher started
/// more than one process (each would write the same outputs).
Cluster& TheCluster();
void FinalizeCluster();
/// Whether TheCluster() was made (and did not throw).
bool ClusterStarted();

}  // namespace corpusflow
