// ThreadWorld: the ranks of an MPI job as threads of one process, for tests of what runs across
// ranks (the shuffle's exchange, record_exchange.h) in thousands of runs where mpirun would take
// seconds each. Each rank(r) is a Cluster whose collectives meet the other ranks' at a barrier:
// the same values arrive as from MPI, in the same order. A failure notice is seen by every rank.
//
// Thread safety: rank r's collectives are called by one thread at a time (its rank's); the
// ranks' threads run at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/cluster.h"

namespace corpusflow::testing {

class ThreadWorld {
 public:
  explicit ThreadWorld(int ranks);
  ~ThreadWorld();
  ThreadWorld(const ThreadWorld&) = delete;
  ThreadWorld& operator=(const ThreadWorld&) = delete;

  int size() const { return static_cast<int>(ranks_.size()); }
  Cluster& rank(int r) { return *ranks_[static_cast<size_t>(r)]; }

  /// One collective: every rank puts its contribution in its slot, and once all did, `read`
  /// runs on each rank with every slot; no slot is reused before every rank read. Returns false
  /// when `keep_waiting` (polled while the others are missing) said to stop.
  bool Meet(int rank, const std::function<void(std::vector<std::string>&)>& put,
            const std::function<void(const std::vector<std::string>&)>& read,
            const std::function<bool()>& keep_waiting);

  /// The failure notice of the world (0: none).
  std::atomic<int> notice{0};

 private:
  std::vector<std::unique_ptr<Cluster>> ranks_;
  std::mutex mu_;
  std::condition_variable cv_;
  /// One slot per rank; `arrived` ranks of the current collective, `left` of them read.
  std::vector<std::string> slots_;
  int arrived_ = 0;
  int left_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace corpusflow::testing
