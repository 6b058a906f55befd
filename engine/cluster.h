// Cluster: the processes that run one pipeline together (MPI ranks), or this process alone. The
// engine's only view of MPI: every collective the engine needs is a method here, so no file
// outside engine/cluster*.cc includes <mpi.h>, and a build without MPI (or a run not started by
// mpirun/srun) gets the single-process cluster, whose collectives are identities.
//
// Collectives: every rank calls the same collectives in the same order (MPI's rule). Those of the
// Cluster itself carry small messages (file lists, counters) and are called by the run's main
// thread. The shuffle's exchange of records (Exchange) runs on a communicator of its own, from
// the shuffle's exchange thread, while the main thread may be failing (MPI_THREAD_MULTIPLE).
//
// Failure: a rank that fails by itself tells every other rank at once (a failure notice, a
// point-to-point message on a third communicator) and then meets them at an agreement point
// (Fail), so that every rank ends with the same exit code and none commits. Long waits (the
// exchange, the source of every pipeline) look for a notice (FailureNoticed) and stop early: a
// rank that noticed a failure calls Fail too, which then only agrees (docs/scale-out.md). A
// rank that dies outright makes the launcher signal the others (SIGTERM, then SIGKILL): the MPI
// cluster polls its collectives, so a rank waiting in one for the dead rank throws Interrupted
// on the signal (except while it tells its own failure: AgreeOnStatus with a non-zero code,
// Fail), cleans up, and starts no collective after.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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
  /// This rank failed with `exit_code`, or noticed that another did: unless a failure was agreed
  /// already, send the failure notice to every rank (when the failure is this rank's own) and
  /// meet the others at the agreement point. The error path of a run calls it once; a no-op for
  /// one process. Never throws (an MPI error here aborts the job).
  void Fail(int exit_code) noexcept;
  /// The exit code of a failure another rank announced, once its notice arrived; 0 while none
  /// did. Cheap (a test of one posted receive); thread-safe. Once a notice arrived, the caller
  /// throws RankFailed and its error path calls Fail.
  int FailureNoticed();

  /// The all-to-all exchange of the shuffle's pass 1, on its own communicator. One exchange at a
  /// time per process, driven by one thread; every rank makes the same calls in the same order.
  class Exchange {
   public:
    virtual ~Exchange() = default;
    /// Each rank sends `out[r]` to rank r and gets what every rank sent it in `in`, in rank order
    /// (both hold size() values). Waits while `keep_waiting()` returns true, polling it between
    /// tests of the pending collective (ranks arrive here at very different times: a rank waits
    /// for the others to fill their round); returns false, the collective abandoned, as soon as
    /// it returns false. An abandoned exchange makes no more calls.
    /// A collective given up on (false, or an exception) may still be read and written by the
    /// transport: it takes the buffers MPI was given (`out` and `in` here, `send` and `received`
    /// below), leaving them empty, and keeps them for the life of the process.
    virtual bool AllToAll(std::vector<uint64_t>& out, std::vector<uint64_t>& in,
                          const std::function<bool()>& keep_waiting) = 0;
    /// Each rank sends the next counts[r] bytes of `send` to rank r (its messages one after the
    /// other, in rank order) and receives what rank r sent it into `received` after the
    /// messages of ranks before r (`received_counts`, known from an AllToAll before). Waits as
    /// AllToAll does (a rank that failed after the counts never comes: its notice ends the
    /// wait). Each message and the total received stay under 2 GiB (Open MPI 4.1 has int
    /// counts); more is a logic error.
    virtual bool AllToAllBytes(std::vector<char>& send, const std::vector<uint64_t>& counts,
                               std::vector<char>& received,
                               const std::vector<uint64_t>& received_counts,
                               const std::function<bool()>& keep_waiting) = 0;
  };
  /// The exchange of this cluster (for one process: itself, every message to itself).
  virtual std::unique_ptr<Exchange> OpenExchange() = 0;

 protected:
  /// Send the failure notice with `exit_code` to every other rank (no-op for one process).
  virtual void SendFailureNotice(int exit_code) = 0;
  /// The exit code of a notice received, 0 when none arrived yet.
  virtual int ReceivedFailureNotice() = 0;

 private:
  bool failure_agreed_ = false;
  /// Set once a notice arrived: this rank's failure is another's, so Fail sends none.
  std::atomic<int> noticed_{0};
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
