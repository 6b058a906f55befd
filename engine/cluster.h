// Cluster: the processes that run one pipeline together (MPI ranks), or this process alone. The
// engine's only view of MPI: every collective the engine needs is a method here, so no file
// outside engine/cluster*.cc includes <mpi.h>, and a build without MPI (or a run not started by
// mpirun/srun) gets the single-process cluster, whose collectives are identities.
//
// Collectives: every rank calls the same collectives in the same order (MPI's rule), from one
// thread at a time per process (MPI_THREAD_SERIALIZED). They carry small messages (file lists,
// counters); the shuffle's exchange of records across ranks is not built yet.
//
// Failure: a rank that fails by itself says so at the next agreement point (Fail), so that every
// rank ends with the same exit code and none commits (docs/scale-out.md). A rank that dies
// outright makes the launcher signal the others (SIGTERM, then SIGKILL): the MPI cluster polls
// its collectives, so a rank waiting in one for the dead rank throws Interrupted on the signal
// (except while it tells its own failure: AgreeOnStatus with a non-zero code, Fail), cleans up,
// and starts no collective after.
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

  /// The maximum over ranks of `value`, on every rank.
  virtual uint64_t MaxAll(uint64_t value) = 0;
  /// Every rank's `bytes`, in rank order, on every rank.
  virtual std::vector<std::string> GatherAll(const std::string& bytes) = 0;

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
