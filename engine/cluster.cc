#include "engine/cluster.h"

#include <cstdlib>
#include <mutex>

#include "engine/error.h"

namespace corpusflow {

void Cluster::Agree() {
  if (single()) return;
  const int code = AgreeOnStatus(0);
  if (code == 0) return;
  failure_agreed_ = true;
  throw RankFailed(code);
}

void Cluster::AgreeOnOutcome(const std::string& error) {
  if (single()) {
    if (!error.empty()) throw Error(error);
    return;
  }
  const int code = AgreeOnStatus(error.empty() ? 0 : 1);
  if (code == 0) return;
  failure_agreed_ = true;
  if (!error.empty()) throw Error(error);
  throw RankFailed(code);
}

void Cluster::Fail(int exit_code) noexcept {
  if (single() || failure_agreed_) return;
  failure_agreed_ = true;
  try {
    AgreeOnStatus(exit_code);
  } catch (...) {
  }
}

std::string Cluster::Describe() const {
  if (single()) return "";
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size());
}

namespace {

class SingleProcessCluster : public Cluster {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<uint64_t> SumAll(const std::vector<uint64_t>& values) override { return values; }
  uint64_t MaxAll(uint64_t value) override { return value; }
  uint64_t ExclusiveSum(uint64_t) override { return 0; }
  std::string Broadcast(const std::string& bytes, int) override { return bytes; }
  std::vector<std::string> GatherAll(const std::string& bytes) override { return {bytes}; }
  std::vector<std::string> Exchange(std::vector<std::string> send) override { return send; }
  int AgreeOnStatus(int exit_code) override { return exit_code; }
};

/// The launcher's rank count from the environment: Open MPI's mpirun, PMIx (srun --mpi=pmix,
/// Open MPI 5) and PMI-1/2 (srun, MPICH); 0 when no launcher started this process.
int LauncherSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
    if (const char* value = std::getenv(name)) {
      // SLURM_NTASKS alone is set in every step of a Slurm job, launched by srun or not; only a
      // PMI variable says this process is one of an MPI job's ranks.
      if (std::string(name) == "SLURM_NTASKS" && std::getenv("PMI_RANK") == nullptr &&
          std::getenv("PMIX_RANK") == nullptr) {
        continue;
      }
      return std::atoi(value);
    }
  }
  return std::getenv("PMIX_RANK") != nullptr || std::getenv("PMI_RANK") != nullptr ? 2 : 0;
}

std::unique_ptr<Cluster>& Instance() {
  static std::unique_ptr<Cluster> instance;
  return instance;
}

}  // namespace

std::unique_ptr<Cluster> MakeSingleProcessCluster() {
  return std::make_unique<SingleProcessCluster>();
}

#if CORPUSFLOW_HAVE_MPI
std::unique_ptr<Cluster> MakeMpiCluster();  // cluster_mpi.cc
void FinalizeMpi();
bool ClusterHasMpi() { return true; }
#else
bool ClusterHasMpi() { return false; }
#endif

Cluster& TheCluster() {
  std::unique_ptr<Cluster>& instance = Instance();
  if (instance) return *instance;
  const int launched = LauncherSize();
#if CORPUSFLOW_HAVE_MPI
  if (launched > 0) {
    instance = MakeMpiCluster();
    return *instance;
  }
#else
  if (launched > 1) {
    throw InvalidArgument(
        "started by an MPI launcher with " + std::to_string(launched) +
        " processes, but this corpusflow was built without MPI: each would run the whole "
        "pipeline and write the same outputs (install libopenmpi-dev and rebuild, or run one "
        "process)");
  }
#endif
  instance = MakeSingleProcessCluster();
  return *instance;
}

bool ClusterStarted() { return Instance() != nullptr; }

void FinalizeCluster() {
  std::unique_ptr<Cluster>& instance = Instance();
  const bool mpi = instance && !instance->single();
  instance.reset();
#if CORPUSFLOW_HAVE_MPI
  if (mpi || LauncherSize() > 0) FinalizeMpi();
#else
  (void)mpi;
#endif
}

}  // namespace corpusflow
