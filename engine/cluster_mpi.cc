// The MPI world as a Cluster (built only when CMake finds MPI: CORPUSFLOW_HAVE_MPI). Every call
// is a blocking collective on MPI_COMM_WORLD; MPI runs in MPI_THREAD_SERIALIZED mode, and the
// engine calls it from one thread at a time. Counts and displacements are int (Open MPI 4.1 has
// no large-count calls): GatherAll carries small messages (file lists, counters) and refuses
// 2 GiB or more in all.
// Waiting: every collective is started non-blocking and waited for by polling, so that a signal
// (engine/interrupt.h) still ends a rank that waits for a peer which is gone: when a rank dies,
// mpirun sends the others SIGTERM and, a second later (`odls_base_sigkill_timeout`) or as soon
// as one of them exits, SIGKILL; srun sends SIGKILL after its KillWait. A rank waiting to agree on success then abandons the
// collective (Interrupted) and cleans up in time; after that it starts no other collective and
// does not finalize MPI (docs/scale-out.md, Failure).
// The C API only: Open MPI's and MPICH's headers otherwise pull in the removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <limits>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {

namespace {

/// Whether this process abandoned a collective (a signal arrived while it waited): MPI's state
/// is then unknown, so no collective starts and MPI is not finalized (which would wait for the
/// peers). Process-wide, as MPI is.
std::atomic<bool> abandoned{false};

void Check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(length)));
}

int IntCount(uint64_t bytes, const char* what) {
  CF_CHECK(bytes <= static_cast<uint64_t>(std::numeric_limits<int>::max()),
           std::string(what) + ": " + std::to_string(bytes) + " bytes are over MPI's int counts");
  return static_cast<int>(bytes);
}

/// Wait for the collective `request` started by `call`. When `interruptible` and a signal
/// arrives meanwhile, abandon it and throw Interrupted (engine/interrupt.h). Polls: spins a
/// little, then sleeps 100 microseconds between tests.
void Wait(MPI_Request& request, const char* call, bool interruptible) {
  for (uint64_t tests = 0;; ++tests) {
    int done = 0;
    Check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    if (interruptible && InterruptRequested()) {
      abandoned = true;
      throw Interrupted();
    }
    if (tests < 1000) {
      sched_yield();
    } else {
      const timespec pause{0, 100 * 1000};
      nanosleep(&pause, nullptr);
    }
  }
}

/// Before a collective: a process that abandoned one starts no other.
void CheckNotAbandoned() {
  if (abandoned) throw Interrupted();
}

class MpiCluster : public Cluster {
 public:
  MpiCluster() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
      if (provided < MPI_THREAD_SERIALIZED) {
        throw Error("the MPI library gives no MPI_THREAD_SERIALIZED support (it gave level " +
                    std::to_string(provided) +
                    "); corpusflow calls MPI from one thread at a "
                    "time, but not always the main one");
      }
    }
    // Errors come back as codes (Check turns them into exceptions) instead of aborting the job
    // inside MPI, so that the run's clean-up still runs.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  uint64_t MaxAll(uint64_t value) override {
    CheckNotAbandoned();
    uint64_t out = 0;
    MPI_Request request;
    Check(MPI_Iallreduce(&value, &out, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD, &request),
          "MPI_Iallreduce");
    Wait(request, "MPI_Iallreduce", true);
    return out;
  }

  std::vector<std::string> GatherAll(const std::string& bytes) override {
    CheckNotAbandoned();
    const int length = IntCount(bytes.size(), "GatherAll");
    std::vector<int> lengths(static_cast<size_t>(size_));
    MPI_Request request;
    Check(MPI_Iallgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD, &request),
          "MPI_Iallgather");
    Wait(request, "MPI_Iallgather", true);
    std::vector<int> offsets(lengths.size());
    uint64_t total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = IntCount(total, "GatherAll");
      total += static_cast<uint64_t>(lengths[r]);
    }
    std::string all(IntCount(total, "GatherAll"), '\0');
    Check(MPI_Iallgatherv(bytes.data(), length, MPI_BYTE, all.data(), lengths.data(),
                          offsets.data(), MPI_BYTE, MPI_COMM_WORLD, &request),
          "MPI_Iallgatherv");
    Wait(request, "MPI_Iallgatherv", true);
    std::vector<std::string> out;
    for (size_t r = 0; r < lengths.size(); ++r) out.push_back(all.substr(offsets[r], lengths[r]));
    return out;
  }

  /// A rank that brings a failure waits until the others have it, signal or not (its clean-up
  /// comes first, Cluster::Fail); one that brings success abandons the wait on a signal.
  int AgreeOnStatus(int exit_code) override {
    CheckNotAbandoned();
    int out = 0;
    MPI_Request request;
    Check(MPI_Iallreduce(&exit_code, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request),
          "MPI_Iallreduce");
    Wait(request, "MPI_Iallreduce", exit_code == 0);
    return out;
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Cluster> MakeMpiCluster() { return std::make_unique<MpiCluster>(); }

void FinalizeMpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && !abandoned) MPI_Finalize();
}

}  // namespace corpusflow
