// The MPI world as a Cluster (built only when CMake finds MPI: CORPUSFLOW_HAVE_MPI). Every call
// is a blocking collective on MPI_COMM_WORLD; MPI runs in MPI_THREAD_SERIALIZED mode, and the
// engine calls it from one thread at a time. Counts and displacements are int (Open MPI 4.1 has
// no large-count calls): Exchange refuses a message of kMaxMessageBytes or more, and GatherAll
// and Broadcast carry small messages (reports, plans).
// The C API only: Open MPI's and MPICH's headers otherwise pull in the removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"

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
  CF_CHECK(bytes < Cluster::kMaxMessageBytes,
           std::string(what) + ": a message of " + std::to_string(bytes) +
               " bytes is over MPI's int counts; the caller sizes its rounds below " +
               std::to_string(Cluster::kMaxMessageBytes));
  return static_cast<int>(bytes);
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

  std::vector<uint64_t> SumAll(const std::vector<uint64_t>& values) override {
    std::vector<uint64_t> out(values.size());
    Check(MPI_Allreduce(values.data(), out.data(), IntCount(values.size(), "SumAll"), MPI_UINT64_T,
                        MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
    return out;
  }

  uint64_t MaxAll(uint64_t value) override {
    uint64_t out = 0;
    Check(MPI_Allreduce(&value, &out, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }

  uint64_t ExclusiveSum(uint64_t value) override {
    uint64_t out = 0;
    Check(MPI_Exscan(&value, &out, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Exscan");
    return rank_ == 0 ? 0 : out;  // rank 0's result is undefined in MPI
  }

  std::string Broadcast(const std::string& bytes, int root) override {
    uint64_t length = bytes.size();
    Check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
    std::string out = rank_ == root ? bytes : std::string(length, '\0');
    Check(MPI_Bcast(out.data(), IntCount(length, "Broadcast"), MPI_BYTE, root, MPI_COMM_WORLD),
          "MPI_Bcast");
    return out;
  }

  std::vector<std::string> GatherAll(const std::string& bytes) override {
    const int length = IntCount(bytes.size(), "GatherAll");
    std::vector<int> lengths(static_cast<size_t>(size_));
    Check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD),
          "MPI_Allgather");
    std::vector<int> offsets(lengths.size());
    uint64_t total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = IntCount(total, "GatherAll");
      total += static_cast<uint64_t>(lengths[r]);
    }
    std::string all(IntCount(total, "GatherAll"), '\0');
    Check(MPI_Allgatherv(bytes.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(),
                         MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Allgatherv");
    std::vector<std::string> out;
    for (size_t r = 0; r < lengths.size(); ++r) out.push_back(all.substr(offsets[r], lengths[r]));
    return out;
  }

  std::vector<std::string> Exchange(std::vector<std::string> send) override {
    CF_CHECK(send.size() == static_cast<size_t>(size_), "Exchange: one message per rank");
    const size_t n = send.size();
    std::vector<int> send_counts(n), receive_counts(n);
    for (size_t r = 0; r < n; ++r) send_counts[r] = IntCount(send[r].size(), "Exchange");
    Check(MPI_Alltoall(send_counts.data(), 1, MPI_INT, receive_counts.data(), 1, MPI_INT,
                       MPI_COMM_WORLD),
          "MPI_Alltoall");
    // One point-to-point message per peer, so no buffer needs int displacements over the sum of
    // all messages (MPI_Alltoallv's would overflow at 2 GiB in all).
    std::vector<std::string> received(n);
    std::vector<MPI_Request> requests;
    requests.reserve(2 * n);
    for (size_t r = 0; r < n; ++r) {
      if (static_cast<int>(r) == rank_) {
        received[r] = std::move(send[r]);
        continue;
      }
      received[r].resize(static_cast<size_t>(receive_counts[r]));
      if (receive_counts[r] > 0) {
        requests.emplace_back();
        Check(MPI_Irecv(received[r].data(), receive_counts[r], MPI_BYTE, static_cast<int>(r),
                        kExchangeTag, MPI_COMM_WORLD, &requests.back()),
              "MPI_Irecv");
      }
    }
    for (size_t r = 0; r < n; ++r) {
      if (static_cast<int>(r) == rank_ || send_counts[r] == 0) continue;
      requests.emplace_back();
      Check(MPI_Isend(send[r].data(), send_counts[r], MPI_BYTE, static_cast<int>(r), kExchangeTag,
                      MPI_COMM_WORLD, &requests.back()),
            "MPI_Isend");
    }
    Check(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
          "MPI_Waitall");
    return received;
  }

  int AgreeOnStatus(int exit_code) override {
    int out = 0;
    Check(MPI_Allreduce(&exit_code, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }

 private:
  static constexpr int kExchangeTag = 17;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Cluster> MakeMpiCluster() { return std::make_unique<MpiCluster>(); }

void FinalizeMpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace corpusflow
