// A live pipeline: the pipeline text of `corpusflow run` without its final sink, run by the
// engine on its own thread while a consumer (the Python module's iterator) takes the batches of
// its last stage one by one. The planned chain gets one more sink, BatchQueueSink, that moves
// each batch (in sequence order) into a bounded queue of a few batches: when the consumer is
// slow, the sink waits, and with it the whole pipeline (backpressure; the engine's own batches
// in flight stay bounded by the memory budget as in any run). The consumer owns each batch it
// takes (shared_ptr): it outlives the pipeline.
//
// Cancel() (or the destructor) sets the run's cancel flag (RunOptions::cancel) and wakes the
// sink: the run ends with Interrupted before its source's next batch, the executor destroys
// its runs, the run's temp folder is removed, and the engine thread is joined. The oneTBB worker
// threads the run started are released when no other run uses them (tbb::finalize), so a
// process that ran a pipeline has no thread more than before once it is closed.
//
// Nothing here knows Python: module.cc binds it.
// Thread safety: Next, Cancel, Close and the accessors are called from one consumer thread;
// the engine thread touches only the queue (synchronised) and the run's own objects.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/batch.h"
#include "engine/exec_context.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

/// A bounded queue of batches between the engine thread (one producer, the sink) and one
/// consumer. Synchronises itself.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  /// Add a batch, waiting while the queue is full. Throws Interrupted when the queue was
  /// cancelled (while waiting or before).
  void Push(std::shared_ptr<Batch> batch);
  /// Mark the end of the stream: the run ended, successfully or with `error` (null on success).
  void Close(std::exception_ptr error);
  /// Wake a waiting Push and refuse every later one.
  void Cancel();

  /// What Pop returns: a batch, the end of the stream, or nothing yet (the wait expired).
  struct Item {
    std::shared_ptr<Batch> batch;
    bool end = false;
    /// At the end: the run's error, or null.
    std::exception_ptr error;
  };
  /// Take the next batch, waiting up to `wait` for one.
  Item Pop(std::chrono::milliseconds wait);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Batch>> batches_;
  bool closed_ = false;
  bool cancelled_ = false;
  std::exception_ptr error_;
};

/// Options of a live pipeline (the run-wide options of `corpusflow run` that apply).
struct LivePipelineOptions {
  /// Worker threads; 0 = all cores.
  int threads = 0;
  /// The run's memory budget in bytes; 0 = the default.
  uint64_t memory_bytes = 0;
  /// Target bytes per batch; 0 = derived from the budget.
  uint64_t batch_bytes = 0;
  /// Where the run's temp folder goes; empty = $TMPDIR.
  std::string tmp_dir;
  /// Batches the queue between the engine and the consumer holds.
  size_t queue_batches = 2;
};

class LivePipeline {
 public:
  /// Plan `spec` (the text of `corpusflow run`, without a final sink) and start it on its own
  /// thread. Throws InvalidArgument or IoError for plan errors, before any thread starts; a
  /// spec that ends with a sink is refused ("Pipeline: the pipeline ends with the sink `write`;
  /// leave it out to get its batches in Python").
  LivePipeline(const std::string& spec, const LivePipelineOptions& options);
  /// Cancel and join (Close).
  ~LivePipeline();
  LivePipeline(const LivePipeline&) = delete;
  LivePipeline& operator=(const LivePipeline&) = delete;

  /// What Next returns: a batch, the end (after which `error` is rethrown by Next once), or
  /// nothing yet when `wait` expired.
  struct Result {
    std::shared_ptr<Batch> batch;
    bool end = false;
  };
  /// The next batch of the last stage, waiting up to `wait`. At the end of a failed run, throws
  /// the run's error (once; the end is reported after it). After Close, the end.
  Result Next(std::chrono::milliseconds wait);
  /// Stop the run if it still runs, join the engine thread and release the threads of oneTBB.
  /// Idempotent.
  void Close();
  /// Whether the engine thread ended (the run finished, failed or was closed).
  bool finished() const { return finished_.load(); }
  /// The run's report (the `--stats-json` document). REQUIRES: finished().
  std::string StatsJson() const { return stats_.ToJson(); }
  /// The plan printout (`corpusflow run --dry-run`), the queue sink included.
  std::string PlanText() const { return plan_->ToString(); }

 private:
  void RunEngine();

  std::atomic<bool> cancel_{false};
  RunOptions run_options_;
  std::unique_ptr<Plan> plan_;
  std::shared_ptr<BatchQueue> queue_;
  RunStats stats_;
  std::atomic<bool> finished_{false};
  bool ended_ = false;
  std::thread engine_;
};

}  // namespace corpusflow
