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
    // The peers stop at their next wait instead of running to the end of their slices.
    if (FailureNoticed() == 0) SendFailureNotice(exit_code);
    AgreeOnStatus(exit_code);
  } catch (...) {
  }
}

int Cluster::FailureNoticed() {
  if (single()) return 0;
  int code = noticed_.load(std::memory_order_acquire);
  if (code != 0) return code;
  code = ReceivedFailureNotice();
  if (code != 0) noticed_.store(code, std::memory_order_release);
  return code;
}

namespace {

class SingleProcessCluster : public Cluster {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  uint64_t MaxAll(uint64_t value) override { return value; }
  std::vector<std::string> GatherAll(const std::string& bytes) override { return {bytes}; }
  int AgreeOnStatus(int exit_code) override { return exit_code; }
  std::unique_ptr<Exchange> OpenExchange() override { return std::make_unique<SelfExchange>(); }

 protected:
  void SendFailureNotice(int /*exit_code*/) override {}
  int ReceivedFailureNotice() override { return 0; }

 private:
  /// One rank: every message is to itself.
  class SelfExchange : public Exchange {
   public:
    bool AllToAll(std::vector<uint64_t>& out, std::vector<uint64_t>& in,
                  const std::function<bool()>& /*keep_waiting*/) override {
      in = out;
      return true;
    }
    bool AllToAllBytes(std::vector<char>& send, const std::vector<uint64_t>& counts,
                       std::vector<char>& received,
                       const std::vector<uint64_t>& /*received_counts*/,
                       const std::function<bool()>& /*keep_waiting*/) override {
      received.assign(send.begin(), send.begin() + static_cast<std::ptrdiff_t>(counts.at(0)));
      return true;
    }
  };
};

/// The launcher's rank count from the environment: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), PMI
/// (srun --mpi=pmi2, MPICH: PMI_SIZE), or for a PMIx launch, which gives only the rank (srun
/// --mpi=pmix, Open MPI 5), Slurm's task count (2, at least one more rank, without it); 0 when
/// no launcher started this process.
int LauncherSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  if (std::getenv("PMIX_RANK") == nullptr) return 0;
  const char* tasks = std::getenv("SLURM_NTASKS");
  return tasks != nullptr ? std::atoi(tasks) : 2;
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
