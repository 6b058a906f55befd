// The MPI world as a Cluster (built only when CMake finds MPI: CORPUSFLOW_HAVE_MPI). Every call
// is a blocking collective on MPI_COMM_WORLD; MPI runs in MPI_THREAD_SERIALIZED mode, and the
// engine calls it from one thread at a time. Counts and displacements are int (Open MPI 4.1 has
// no large-count calls): GatherAll carries small messages (file lists, counters) and refuses
// 2 GiB or more in all.
// The C API only: Open MPI's and MPICH's headers otherwise pull in the removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <limits>

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
  CF_CHECK(bytes <= static_cast<uint64_t>(std::numeric_limits<int>::max()),
           std::string(what) + ": " + std::to_string(bytes) + " bytes are over MPI's int counts");
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

  uint64_t MaxAll(uint64_t value) override {
    uint64_t out = 0;
    Check(MPI_Allreduce(&value, &out, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
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

  int AgreeOnStatus(int exit_code) override {
    int out = 0;
    Check(MPI_Allreduce(&exit_code, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
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
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace corpusflow
