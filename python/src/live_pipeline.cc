#include "python/src/live_pipeline.h"

#include <tbb/global_control.h>

#include <new>
#include <utility>

#include "cli/command.h"
#include "cli/pipeline_spec.h"
#include "engine/error.h"

namespace corpusflow {

void BatchQueue::Push(std::shared_ptr<Batch> batch) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return cancelled_ || batches_.size() < capacity_; });
  if (cancelled_) throw Interrupted();
  batches_.push_back(std::move(batch));
  changed_.notify_all();
}

void BatchQueue::Close(std::exception_ptr error) {
  std::lock_guard lock(mu_);
  closed_ = true;
  error_ = std::move(error);
  changed_.notify_all();
}

void BatchQueue::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  batches_.clear();
  changed_.notify_all();
}

BatchQueue::Item BatchQueue::Pop(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, wait, [&] { return closed_ || !batches_.empty(); });
  Item item;
  if (!batches_.empty()) {
    item.batch = std::move(batches_.front());
    batches_.pop_front();
    changed_.notify_all();
  } else if (closed_) {
    item.end = true;
    item.error = std::exchange(error_, nullptr);
  }
  return item;
}

namespace {

/// The sink of a live pipeline: moves every batch it receives that holds records (a filter may
/// drop all of a batch's, pack emits none before its first window is packed), in sequence
/// order, into the queue (waiting while it is full). Not registered: only LivePipeline makes one.
class BatchQueueWriter : public BatchWriter {
 public:
  explicit BatchQueueWriter(std::shared_ptr<BatchQueue> queue) : queue_(std::move(queue)) {}

  void Write(Batch& batch, OpState* /*local*/) override {
    if (batch.empty()) return;
    auto taken = std::make_shared<Batch>(std::move(batch));
    // The pool's batch is laid out anew by the source; its moved-from columns go.
    batch.Release();
    queue_->Push(std::move(taken));
  }
  void Finish() override {}

 private:
  std::shared_ptr<BatchQueue> queue_;
};

class BatchQueueSink : public Sink {
 public:
  explicit BatchQueueSink(std::shared_ptr<BatchQueue> queue) : queue_(std::move(queue)) {
    set_name("python");
  }
  std::string Describe() const override { return "the batches go to the Python iterator"; }
  std::unique_ptr<BatchWriter> Open(const OpenContext& /*ctx*/) const override {
    return std::make_unique<BatchQueueWriter>(queue_);
  }

 private:
  std::shared_ptr<BatchQueue> queue_;
};

}  // namespace

LivePipeline::LivePipeline(const std::string& spec, const LivePipelineOptions& options)
    : queue_(std::make_shared<BatchQueue>(options.queue_batches)) {
  run_options_.threads = options.threads;
  run_options_.memory_bytes = options.memory_bytes;
  run_options_.batch_bytes = options.batch_bytes;
  run_options_.tmp_dir = options.tmp_dir;
  if (!run_options_.tmp_dir.empty() && !std::filesystem::is_directory(run_options_.tmp_dir)) {
    throw InvalidArgument("Pipeline: tmp_dir " + options.tmp_dir + " is not a directory");
  }
  run_options_.progress = ProgressMode::kNever;
  run_options_.cancel = &cancel_;

  std::vector<std::pair<std::string, std::vector<std::string>>> stages;
  for (StageSpec& stage : ParsePipelineSpec(spec)) {
    stages.emplace_back(std::move(stage.name), std::move(stage.args));
  }
  std::vector<std::unique_ptr<Operator>> chain = CreateOperators(stages);
  if (!chain.empty() && chain.back()->role() == OperatorRole::kSink) {
    throw InvalidArgument("Pipeline: the pipeline ends with the sink `" + chain.back()->name() +
                          "`; leave it out to get its batches in Python");
  }
  chain.push_back(std::make_unique<BatchQueueSink>(queue_));
  plan_ = std::make_unique<Plan>(Plan::Build(std::move(chain), MakePlanContext(run_options_)));
  engine_ = std::thread([this] { RunEngine(); });
}

LivePipeline::~LivePipeline() { Close(); }

void LivePipeline::RunEngine() {
  std::exception_ptr error;
  {
    // Attached before the run's first parallel work, so that the workers it starts can be
    // waited for once it ends.
    tbb::task_scheduler_handle scheduler{tbb::attach{}};
    try {
      RunPlanWithReport(*plan_, run_options_, stats_);
    } catch (...) {
      error = std::current_exception();
    }
    // Waits for the worker threads to end unless another run (another live pipeline, or the
    // program's own oneTBB work) still uses them: then they stay for it.
    (void)tbb::finalize(scheduler, std::nothrow);
  }
  finished_ = true;
  queue_->Close(cancel_.load() ? nullptr : error);
}

LivePipeline::Result LivePipeline::Next(std::chrono::milliseconds wait) {
  if (ended_) return Result{nullptr, true};
  BatchQueue::Item item = queue_->Pop(wait);
  if (item.batch) return Result{std::move(item.batch), false};
  if (!item.end) return Result{};
  ended_ = true;
  if (engine_.joinable()) engine_.join();
  if (item.error) std::rethrow_exception(item.error);
  return Result{nullptr, true};
}

void LivePipeline::Close() {
  if (engine_.joinable()) {
    cancel_ = true;
    queue_->Cancel();
    engine_.join();
  }
  ended_ = true;
}

}  // namespace corpusflow
