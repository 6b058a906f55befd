// The MPI world as a Cluster (built only when CMake finds MPI: CORPUSFLOW_HAVE_MPI). Every call
// of the Cluster is a collective on MPI_COMM_WORLD, called by the run's main thread; the
// shuffle's exchange runs on a duplicate of it from its own thread, and failure notices travel on
// a third (MPI_THREAD_MULTIPLE). Counts and displacements are int (Open MPI 4.1 has no
// large-count calls): GatherAll carries small messages (file lists, counters) and refuses 2 GiB
// or more in all; the exchange's rounds stay under it by construction.
// Waiting: every collective is started non-blocking and waited for by polling, so that a signal
// (engine/interrupt.h) still ends a rank that waits for a peer which is gone: when a rank dies,
// mpirun sends the others SIGTERM and, a second later (`odls_base_sigkill_timeout`) or as soon
// as one of them exits, SIGKILL; srun sends SIGKILL after its KillWait. A rank waiting to agree
// on success then abandons the collective (Interrupted) and cleans up in time; after that it
// starts no other collective and does not finalize MPI (docs/scale-out.md, Failure).
// The C API only: Open MPI's and MPICH's headers otherwise pull in the removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {

namespace {

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

/// Whether this process abandoned a collective (a signal arrived while it waited): MPI's state is
/// then unknown, so no collective starts and MPI is not finalized (which would wait for the peers).
/// Process-wide, as MPI is.
std::atomic<bool> abandoned{false};

/// Test `request` (started by `call`) until it completes: true; or until `keep_waiting()` says
/// to stop: false, the request abandoned. When `interruptible` and a signal arrives meanwhile,
/// abandon it and throw Interrupted (engine/interrupt.h). MPI moves the bytes of a pending
/// collective inside its calls, so the first tests follow each other closely; then the pauses
/// grow to a millisecond, so that a rank waiting for the others costs no core.
bool Await(MPI_Request& request, const char* call, bool interruptible,
           const std::function<bool()>& keep_waiting = nullptr) {
  auto pause = std::chrono::microseconds(1);
  for (uint64_t tests = 0;; ++tests) {
    int done = 0;
    Check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done) return true;
    if (interruptible && InterruptRequested()) {
      abandoned = true;
      throw Interrupted();
    }
    // The exchange's own communicator: MPI_COMM_WORLD is untouched, the failure can be agreed.
    if (keep_waiting && tests % 64 == 63 && !keep_waiting()) return false;
    if (tests < 1000) {
      std::this_thread::yield();
      continue;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

/// Set when this process gave up on a non-blocking call that MPI still holds (a signal, or a
/// failure that ended the shuffle's exchange): MPI may go on reading and writing its buffers in
/// any later MPI call, MPI_Finalize included, so they are never freed (KeepForever) and MPI is
/// not finalized.
std::atomic<bool> left_pending{false};

/// Keep `buffers` for the life of the process: moved (a vector's storage stays where MPI was
/// told it is) into an object deliberately never freed. The buffers of a call given up on: freed,
/// their memory would be another allocation's when MPI writes into it.
template <typename... Buffers>
void KeepForever(Buffers&... buffers) {
  left_pending = true;
  new std::tuple<std::decay_t<Buffers>...>(std::move(buffers)...);  // NOLINT: never freed
}

/// Await `request`; when the call is given up on (false, or an exception: a signal, a failed
/// test), its `buffers` are kept for the life of the process (KeepForever).
template <typename... Buffers>
bool AwaitKeeping(MPI_Request& request, const char* call, bool interruptible,
                  const std::function<bool()>& keep_waiting, Buffers&... buffers) {
  bool done = false;
  try {
    done = Await(request, call, interruptible, keep_waiting);
  } catch (...) {
    KeepForever(buffers...);
    throw;
  }
  if (!done) KeepForever(buffers...);
  return done;
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
      Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
      if (provided < MPI_THREAD_MULTIPLE) {
        throw Error("the MPI library gives no MPI_THREAD_MULTIPLE support (it gave level " +
                    std::to_string(provided) +
                    "); corpusflow's shuffle exchanges records on one thread while the run's "
                    "main thread may be agreeing on a failure");
      }
    }
    // Errors come back as codes (Check turns them into exceptions) instead of aborting the job
    // inside MPI, so that the run's clean-up still runs.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    Check(MPI_Comm_dup(MPI_COMM_WORLD, &exchange_comm_), "MPI_Comm_dup");
    Check(MPI_Comm_dup(MPI_COMM_WORLD, &notice_comm_), "MPI_Comm_dup");
    Check(MPI_Irecv(&notice_, 1, MPI_INT, MPI_ANY_SOURCE, 0, notice_comm_, &notice_request_),
          "MPI_Irecv");
  }

  ~MpiCluster() override {
    if (notice_request_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&notice_request_);
      MPI_Wait(&notice_request_, MPI_STATUS_IGNORE);
    }
    MPI_Comm_free(&exchange_comm_);
    MPI_Comm_free(&notice_comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  uint64_t MaxAll(uint64_t value) override {
    CheckNotAbandoned();
    // In and out: on the heap, so that a call given up on keeps them (AwaitKeeping).
    std::vector<uint64_t> values = {value, 0};
    MPI_Request request;
    Check(
        MPI_Iallreduce(&values[0], &values[1], 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD, &request),
        "MPI_Iallreduce");
    AwaitKeeping(request, "MPI_Iallreduce", true, nullptr, values);
    return values[1];
  }

  std::vector<std::string> GatherAll(const std::string& bytes) override {
    CheckNotAbandoned();
    // Every buffer MPI is given lives on the heap, so that a call given up on keeps them.
    std::vector<int> length = {IntCount(bytes.size(), "GatherAll")};
    std::vector<int> lengths(static_cast<size_t>(size_));
    MPI_Request request;
    Check(MPI_Iallgather(length.data(), 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD,
                         &request),
          "MPI_Iallgather");
    AwaitKeeping(request, "MPI_Iallgather", true, nullptr, length, lengths);
    std::vector<int> offsets(lengths.size());
    uint64_t total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = IntCount(total, "GatherAll");
      total += static_cast<uint64_t>(lengths[r]);
    }
    std::vector<char> send(bytes.begin(), bytes.end());
    std::vector<char> all(IntCount(total, "GatherAll"));
    Check(MPI_Iallgatherv(send.data(), length[0], MPI_BYTE, all.data(), lengths.data(),
                          offsets.data(), MPI_BYTE, MPI_COMM_WORLD, &request),
          "MPI_Iallgatherv");
    AwaitKeeping(request, "MPI_Iallgatherv", true, nullptr, send, all, lengths, offsets);
    std::vector<std::string> out;
    for (size_t r = 0; r < lengths.size(); ++r) {
      out.emplace_back(all.data() + offsets[r], static_cast<size_t>(lengths[r]));
    }
    return out;
  }

  /// A rank that brings a failure waits until the others have it, signal or not (its clean-up
  /// comes first, Cluster::Fail); one that brings success abandons the wait on a signal.
  int AgreeOnStatus(int exit_code) override {
    CheckNotAbandoned();
    std::vector<int> codes = {exit_code, 0};
    MPI_Request request;
    Check(MPI_Iallreduce(&codes[0], &codes[1], 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request),
          "MPI_Iallreduce");
    AwaitKeeping(request, "MPI_Iallreduce", exit_code == 0, nullptr, codes);
    return codes[1];
  }

  std::unique_ptr<Exchange> OpenExchange() override {
    return std::make_unique<MpiExchange>(exchange_comm_, size_);
  }

 protected:
  void SendFailureNotice(int exit_code) override {
    for (int r = 0; r < size_; ++r) {
      // Four bytes go eagerly: the send returns without waiting for the peer.
      if (r != rank_) Check(MPI_Send(&exit_code, 1, MPI_INT, r, 0, notice_comm_), "MPI_Send");
    }
  }

  int ReceivedFailureNotice() override {
    std::lock_guard lock(notice_mu_);
    if (notice_ != 0) return notice_;
    int arrived = 0;
    Check(MPI_Test(&notice_request_, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
    // A notice carries a non-zero exit code; treat a zero one as 1.
    if (arrived && notice_ == 0) notice_ = 1;
    return arrived ? notice_ : 0;
  }

 private:
  class MpiExchange : public Exchange {
   public:
    MpiExchange(MPI_Comm comm, int size) : comm_(comm), size_(size) {}

    bool AllToAll(std::vector<uint64_t>& out, std::vector<uint64_t>& in,
                  const std::function<bool()>& keep_waiting) override {
      CF_CHECK(out.size() == static_cast<size_t>(size_), "Exchange::AllToAll: one value per rank");
      in.assign(out.size(), 0);
      MPI_Request request;
      CheckNotAbandoned();
      Check(MPI_Ialltoall(out.data(), 1, MPI_UINT64_T, in.data(), 1, MPI_UINT64_T, comm_, &request),
            "MPI_Ialltoall");
      return AwaitKeeping(request, "MPI_Ialltoall", true, keep_waiting, out, in);
    }

    bool AllToAllBytes(std::vector<char>& send, const std::vector<uint64_t>& counts,
                       std::vector<char>& received, const std::vector<uint64_t>& received_counts,
                       const std::function<bool()>& keep_waiting) override {
      std::vector<int> send_counts(counts.size()), send_offsets(counts.size());
      std::vector<int> recv_counts(counts.size()), recv_offsets(counts.size());
      uint64_t sent = 0, total = 0;
      for (size_t r = 0; r < counts.size(); ++r) {
        send_counts[r] = IntCount(counts[r], "Exchange::AllToAllBytes");
        send_offsets[r] = IntCount(sent, "Exchange::AllToAllBytes");
        sent += counts[r];
        recv_counts[r] = IntCount(received_counts[r], "Exchange::AllToAllBytes");
        recv_offsets[r] = IntCount(total, "Exchange::AllToAllBytes");
        total += received_counts[r];
      }
      received.resize(IntCount(total, "Exchange::AllToAllBytes"));
      CheckNotAbandoned();
      MPI_Request request;
      Check(MPI_Ialltoallv(send.data(), send_counts.data(), send_offsets.data(), MPI_BYTE,
                           received.data(), recv_counts.data(), recv_offsets.data(), MPI_BYTE,
                           comm_, &request),
            "MPI_Ialltoallv");
      return AwaitKeeping(request, "MPI_Ialltoallv", true, keep_waiting, send, received,
                          send_counts, send_offsets, recv_counts, recv_offsets);
    }

   private:
    MPI_Comm comm_;
    int size_;
  };

  int rank_ = 0;
  int size_ = 1;
  /// The shuffle's exchange, and the failure notices (engine/cluster.h).
  MPI_Comm exchange_comm_ = MPI_COMM_NULL;
  MPI_Comm notice_comm_ = MPI_COMM_NULL;
  /// The receive posted for the first notice; notice_ is its code once it arrived.
  std::mutex notice_mu_;
  MPI_Request notice_request_ = MPI_REQUEST_NULL;
  int notice_ = 0;
};

}  // namespace

std::unique_ptr<Cluster> MakeMpiCluster() { return std::make_unique<MpiCluster>(); }

void FinalizeMpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && !abandoned && !left_pending) MPI_Finalize();
}

}  // namespace corpusflow
