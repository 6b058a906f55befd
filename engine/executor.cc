#include "engine/executor.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <chrono>
#include <mutex>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {
namespace {

/// Batches reused across the pipeline; owns every batch so none leaks on cancellation.
class BatchPool {
 public:
  Batch* Get() {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      Batch* b = free_.back();
      free_.pop_back();
      return b;
    }
    all_.push_back(std::make_unique<Batch>());
    return all_.back().get();
  }
  void Put(Batch* b) {
    std::lock_guard lock(mu_);
    free_.push_back(b);
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<Batch>> all_;
  std::vector<Batch*> free_;
};

/// Times a call and adds wall and thread-CPU time to an operator's counters.
class StageTimer {
 public:
  explicit StageTimer(OperatorStats& stats)
      : stats_(stats), wall_(std::chrono::steady_clock::now()), cpu_(ThreadCpuNanos()) {}
  ~StageTimer() {
    stats_.wall_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - wall_)
                          .count();
    stats_.cpu_ns += ThreadCpuNanos() - cpu_;
  }

 private:
  OperatorStats& stats_;
  std::chrono::steady_clock::time_point wall_;
  uint64_t cpu_;
};

/// Per-worker local states of one run object, created lazily on each worker.
template <typename Run>
class LocalStates {
 public:
  explicit LocalStates(Run& run) : run_(run) {}
  OpState* Get() {
    bool exists = false;
    auto& slot = states_.local(exists);
    if (!exists) slot = run_.MakeLocalState();
    return slot.get();
  }

 private:
  Run& run_;
  tbb::enumerable_thread_specific<std::unique_ptr<OpState>> states_;
};

/// Numbers batches in sequence order: Batch::first_record = records seen before it.
tbb::filter<Batch*, Batch*> NumberingFilter(uint64_t* counter) {
  return tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::serial_in_order, [counter](Batch* b) {
    b->set_first_record(*counter);
    *counter += b->num_records();
    return b;
  });
}

struct PipelineRuns {
  BatchReader* reader = nullptr;
  OperatorStats* source_stats = nullptr;
  std::vector<TransformRun*> transforms;
  std::vector<const Operator*> transform_ops;
  std::vector<OperatorStats*> transform_stats;
  BatchWriter* writer = nullptr;
  const Operator* sink_op = nullptr;
  OperatorStats* sink_stats = nullptr;
};

void RunPipeline(const PipelineRuns& runs, ExecContext& ctx) {
  BatchPool pool;
  uint64_t sequence = 0;
  std::vector<std::unique_ptr<LocalStates<TransformRun>>> transform_locals;
  for (TransformRun* t : runs.transforms) {
    transform_locals.push_back(std::make_unique<LocalStates<TransformRun>>(*t));
  }
  LocalStates<BatchWriter> writer_locals(*runs.writer);
  std::vector<std::unique_ptr<uint64_t>> counters;

  auto chain = tbb::make_filter<void, Batch*>(tbb::filter_mode::serial_in_order,
                                              [&](tbb::flow_control& fc) -> Batch* {
                                                CheckInterrupt();
                                                if (ctx.stop_requested()) {
                                                  fc.stop();
                                                  return nullptr;
                                                }
                                                Batch* b = pool.Get();
                                                bool more;
                                                {
                                                  StageTimer timer(*runs.source_stats);
                                                  more = runs.reader->Next(b);
                                                }
                                                if (!more) {
                                                  pool.Put(b);
                                                  fc.stop();
                                                  return nullptr;
                                                }
                                                b->set_sequence(sequence++);
                                                runs.source_stats->records_out += b->num_records();
                                                runs.source_stats->bytes_out += b->DataBytes();
                                                return b;
                                              });

  for (size_t i = 0; i < runs.transforms.size(); ++i) {
    TransformRun* run = runs.transforms[i];
    OperatorStats* stats = runs.transform_stats[i];
    LocalStates<TransformRun>* locals = transform_locals[i].get();
    if (runs.transform_ops[i]->NeedsRecordIndex()) {
      counters.push_back(std::make_unique<uint64_t>(0));
      chain = chain & NumberingFilter(counters.back().get());
    }
    const auto mode =
        run->serial() ? tbb::filter_mode::serial_in_order : tbb::filter_mode::parallel;
    chain = chain & tbb::make_filter<Batch*, Batch*>(mode, [=](Batch* b) {
              CheckInterrupt();
              stats->records_in += b->num_records();
              stats->bytes_in += b->DataBytes();
              {
                StageTimer timer(*stats);
                run->Apply(*b, locals->Get());
              }
              stats->records_out += b->num_records();
              stats->bytes_out += b->DataBytes();
              return b;
            });
  }

  if (runs.sink_op->NeedsRecordIndex()) {
    counters.push_back(std::make_unique<uint64_t>(0));
    chain = chain & NumberingFilter(counters.back().get());
  }
  const auto sink_mode =
      runs.writer->ordered() ? tbb::filter_mode::serial_in_order : tbb::filter_mode::parallel;
  auto full = chain & tbb::make_filter<Batch*, void>(sink_mode, [&](Batch* b) {
                runs.sink_stats->records_in += b->num_records();
                runs.sink_stats->bytes_in += b->DataBytes();
                ctx.progress().AddRecords(b->num_records());
                {
                  StageTimer timer(*runs.sink_stats);
                  runs.writer->Write(*b, writer_locals.Get());
                }
                pool.Put(b);
              });
  tbb::parallel_pipeline(ctx.max_batches_in_flight(), full);
  CheckInterrupt();
}

}  // namespace

void Execute(const Plan& plan, ExecContext& ctx, RunStats& stats) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                              static_cast<size_t>(ctx.threads()));
  const auto& ops = plan.operators();
  std::vector<OperatorStats*> op_stats;
  for (const std::string& label : plan.labels()) op_stats.push_back(&stats.AddOperator(label));
  ctx.SetInputFiles(plan.input_paths());

  // The run's outputs (ExecContext::DeferCommit) are committed only if the run gets to the end.
  struct DiscardDeferredOnExit {
    ExecContext& ctx;
    ~DiscardDeferredOnExit() { ctx.DiscardDeferred(); }
  } discard_deferred{ctx};

  std::unique_ptr<BreakerRun> previous_breaker;
  const size_t pipeline_count = plan.pipelines().size();
  for (size_t p = 0; p < pipeline_count; ++p) {
    const PipelinePlan& pipe = plan.pipelines()[p];
    ctx.ResetStop();
    PipelineRuns runs;

    // Source: an operator, or the output of the breaker that ended the previous pipeline.
    std::unique_ptr<BatchReader> reader;
    if (p == 0) {
      const auto& source = static_cast<const Source&>(*ops[pipe.source]);
      reader = source.Open(ctx, *op_stats[pipe.source]);
    } else {
      reader = previous_breaker->OpenOutput();
    }
    runs.reader = reader.get();
    runs.source_stats = op_stats[pipe.source];

    std::vector<std::unique_ptr<TransformRun>> transform_runs;
    for (size_t t : pipe.transforms) {
      const auto& transform = static_cast<const Transform&>(*ops[t]);
      transform_runs.push_back(transform.Open(ctx, *op_stats[t]));
      runs.transforms.push_back(transform_runs.back().get());
      runs.transform_ops.push_back(&transform);
      runs.transform_stats.push_back(op_stats[t]);
    }

    std::unique_ptr<BatchWriter> sink_run;
    std::unique_ptr<BreakerRun> breaker_run;
    const Operator& sink_op = *ops[pipe.sink];
    if (sink_op.role() == OperatorRole::kBreaker) {
      breaker_run = static_cast<const Breaker&>(sink_op).Open(ctx, *op_stats[pipe.sink]);
      runs.writer = breaker_run.get();
    } else {
      sink_run = static_cast<const Sink&>(sink_op).Open(ctx, *op_stats[pipe.sink]);
      runs.writer = sink_run.get();
    }
    runs.sink_op = &sink_op;
    runs.sink_stats = op_stats[pipe.sink];

    std::string phase = plan.labels()[pipe.source];
    for (size_t t : pipe.transforms) phase += " | " + plan.labels()[t];
    phase += " | " + plan.labels()[pipe.sink];
    if (pipeline_count > 1) {
      phase = "pipeline " + std::to_string(p + 1) + "/" + std::to_string(pipeline_count) + " (" +
              phase + ")";
    }
    uint64_t total = 0;
    if (p == 0) {
      if (auto bytes = static_cast<const Source&>(*ops[pipe.source]).TotalBytes()) total = *bytes;
    }
    ctx.progress().StartPhase(phase, total);

    RunPipeline(runs, ctx);
    for (TransformRun* t : runs.transforms) t->Finish();
    runs.writer->Finish();
    // The breaker's reader may depend on the previous breaker's run: keep it alive until here.
    reader.reset();
    previous_breaker = std::move(breaker_run);
    stats.peak_rss_bytes = PeakRssBytes();
  }
  ctx.CommitDeferred();
}

}  // namespace corpusflow
