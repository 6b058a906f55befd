#include "engine/executor.h"

#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/atomic_output.h"
#include "engine/pipeline_run.h"
#include "engine/task_executor.h"

namespace corpusflow {
namespace {

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

/// The local states of one run object. A worker borrows a state for one call (Apply or Write)
/// and gives it back, so a state is never used by two calls at once, even when a worker nests
/// calls while it waits inside TBB. The run creates a state (MakeLocalState) only when none is
/// free: one per worker that took part, at most.
template <typename Run>
class LocalStates {
 public:
  explicit LocalStates(Run& run) : run_(run) {}

  /// A borrowed state (possibly nullptr), given back on destruction.
  class Lease {
   public:
    Lease(LocalStates& owner, std::unique_ptr<OpState>* slot) : owner_(owner), slot_(slot) {}
    ~Lease() { owner_.GiveBack(slot_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    OpState* get() const { return slot_->get(); }

   private:
    LocalStates& owner_;
    std::unique_ptr<OpState>* slot_;
  };

  Lease Borrow() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<OpState>* slot = free_.back();
        free_.pop_back();
        return Lease(*this, slot);
      }
    }
    // Made outside the lock: MakeLocalState may run concurrently on several workers.
    auto slot = std::make_unique<std::unique_ptr<OpState>>(run_.MakeLocalState());
    std::lock_guard lock(mu_);
    slots_.push_back(std::move(slot));
    return Lease(*this, slots_.back().get());
  }

  /// Combine every state into the run, once each, destroying each after its Combine.
  /// Single-threaded, after the last Apply or Write.
  void CombineAll() {
    CF_CHECK(free_.size() == slots_.size(), "a local state is still borrowed");
    free_.clear();
    for (auto& slot : slots_) {
      if (*slot != nullptr) run_.Combine(**slot);
      slot.reset();
    }
    slots_.clear();
  }

 private:
  void GiveBack(std::unique_ptr<OpState>* slot) {
    std::lock_guard lock(mu_);
    free_.push_back(slot);
  }

  Run& run_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::unique_ptr<OpState>>> slots_;
  std::vector<std::unique_ptr<OpState>*> free_;
};

/// Where a NumberingFilter is: the origin of the batches it numbers now, and the next number.
struct NumberingState {
  uint64_t origin = 0;
  uint64_t next = 0;
};

/// Numbers batches in sequence order: Batch::first_record = the batch's origin plus the records
/// of that origin seen before it (engine/slices.h: a record's identity).
tbb::filter<Batch*, Batch*> NumberingFilter(NumberingState* state) {
  return tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::serial_in_order, [state](Batch* b) {
    if (b->origin() != state->origin) *state = NumberingState{b->origin(), b->origin()};
    b->set_first_record(state->next);
    state->next += b->num_records();
    return b;
  });
}

}  // namespace

/// Run one pipeline to its end: every batch through every stage, then each stage's Combine
/// steps and Finish, in stage order. Returns the records and bytes its sink consumed.
InputEstimate RunPipeline(const PipelineRuns& runs, ExecContext& ctx) {
  // A batch in flight costs about three times its data (as ExecContext sizes them).
  std::optional<BatchPool> own_pool;
  if (runs.pool == nullptr) own_pool.emplace(8 * ctx.batch_bytes());
  BatchPool& pool = runs.pool != nullptr ? *runs.pool : *own_pool;
  uint64_t sequence = 0;
  std::vector<std::unique_ptr<LocalStates<TransformRun>>> transform_locals;
  for (TransformRun* t : runs.transforms) {
    transform_locals.push_back(std::make_unique<LocalStates<TransformRun>>(*t));
  }
  LocalStates<BatchWriter> writer_locals(*runs.writer);
  // The numbering of each stage that asks for it (transform i, the sink last), kept from the
  // pipeline's batches to the batches a transform drains after them.
  std::vector<std::unique_ptr<NumberingState>> counters(runs.transforms.size() + 1);
  std::atomic<uint64_t> consumed_records{0};
  std::atomic<uint64_t> consumed_bytes{0};

  auto chain = tbb::make_filter<void, Batch*>(tbb::filter_mode::serial_in_order,
                                              [&](tbb::flow_control& fc) -> Batch* {
                                                CheckInterrupt();
                                                if (ctx.cancelled()) throw Interrupted();
                                                // Another rank failed: stop here rather than at the
                                                // end of this rank's slices.
                                                if (const int code = ctx.cluster().FailureNoticed())
                                                  throw RankFailed(code);
                                                if (ctx.stop_requested()) {
                                                  fc.stop();
                                                  return nullptr;
                                                }
                                                KillPointForTest(runs.moment);
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

  // The stages from transform `first` on and the sink, after `head` (which makes the batches).
  auto stages_from = [&](size_t first, tbb::filter<void, Batch*> head) {
    for (size_t i = first; i < runs.transforms.size(); ++i) {
      TransformRun* run = runs.transforms[i];
      OperatorStats* stats = runs.transform_stats[i];
      LocalStates<TransformRun>* locals = transform_locals[i].get();
      if (runs.transform_ops[i]->NeedsRecordIndex()) {
        if (!counters[i]) counters[i] = std::make_unique<NumberingState>();
        head = head & NumberingFilter(counters[i].get());
      }
      const auto mode =
          run->serial() ? tbb::filter_mode::serial_in_order : tbb::filter_mode::parallel;
      head = head & tbb::make_filter<Batch*, Batch*>(mode, [=](Batch* b) {
               CheckInterrupt();
               stats->records_in += b->num_records();
               stats->bytes_in += b->DataBytes();
               {
                 StageTimer timer(*stats);
                 const auto local = locals->Borrow();
                 run->Apply(*b, local.get());
               }
               stats->records_out += b->num_records();
               stats->bytes_out += b->DataBytes();
               return b;
             });
    }
    if (runs.sink_op->NeedsRecordIndex()) {
      if (!counters.back()) counters.back() = std::make_unique<NumberingState>();
      head = head & NumberingFilter(counters.back().get());
    }
    const auto sink_mode =
        runs.writer->ordered() ? tbb::filter_mode::serial_in_order : tbb::filter_mode::parallel;
    return head & tbb::make_filter<Batch*, void>(sink_mode, [&](Batch* b) {
             runs.sink_stats->records_in += b->num_records();
             runs.sink_stats->bytes_in += b->DataBytes();
             consumed_records += b->num_records();
             consumed_bytes += b->DataBytes();
             ctx.progress().AddRecords(b->num_records());
             {
               StageTimer timer(*runs.sink_stats);
               const auto local = writer_locals.Borrow();
               runs.writer->Write(*b, local.get());
             }
             pool.Put(b);
           });
  };
  tbb::parallel_pipeline(ctx.max_batches_in_flight(), stages_from(0, chain));
  CheckInterrupt();

  // The records the serial transforms held back (TransformRun::Drain), transform after
  // transform: each one's last batches go through the stages after it, in order, before any
  // stage finishes. Even when a stage stopped the input early: what follows the stop is the
  // stages', and a transform before the one that stopped it still owes its records.
  for (size_t i = 0; i < runs.transforms.size(); ++i) {
    TransformRun* run = runs.transforms[i];
    if (!run->serial()) continue;
    OperatorStats* stats = runs.transform_stats[i];
    auto drained = tbb::make_filter<void, Batch*>(tbb::filter_mode::serial_in_order,
                                                  [&, run, stats](tbb::flow_control& fc) -> Batch* {
                                                    CheckInterrupt();
                                                    if (ctx.cancelled()) throw Interrupted();
                                                    Batch* b = pool.Get();
                                                    bool more;
                                                    {
                                                      StageTimer timer(*stats);
                                                      more = run->Drain(b);
                                                    }
                                                    if (!more) {
                                                      pool.Put(b);
                                                      fc.stop();
                                                      return nullptr;
                                                    }
                                                    b->set_sequence(sequence++);
                                                    stats->records_out += b->num_records();
                                                    stats->bytes_out += b->DataBytes();
                                                    return b;
                                                  });
    tbb::parallel_pipeline(ctx.max_batches_in_flight(), stages_from(i + 1, drained));
    CheckInterrupt();
  }

  // Every batch went through: fold the local states in and finish, stage by stage. The outputs
  // a stage hands to the CommitGroup in Finish are tagged with it (the run's report lists them).
  for (size_t i = 0; i < runs.transforms.size(); ++i) {
    transform_locals[i]->CombineAll();
    ctx.set_output_owner(runs.transform_indexes[i]);
    runs.transforms[i]->Finish();
  }
  writer_locals.CombineAll();
  ctx.set_output_owner(runs.sink_index);
  runs.writer->Finish();
  ctx.set_output_owner(-1);
  // A signal during the final phase ends the run too (Finish steps need not check it).
  CheckInterrupt();
  return InputEstimate{consumed_bytes.load(), consumed_records.load()};
}

std::vector<std::unique_ptr<TransformRun>> OpenTransforms(
    const Plan& plan, const PipelinePlan& pipe, const std::function<OpenContext(size_t)>& open,
    const std::vector<OperatorStats*>& op_stats, PipelineRuns& runs) {
  std::vector<std::unique_ptr<TransformRun>> transform_runs;
  for (size_t t : pipe.transforms) {
    const auto& transform = static_cast<const Transform&>(*plan.operators()[t]);
    transform_runs.push_back(transform.Open(open(t)));
    runs.transforms.push_back(transform_runs.back().get());
    runs.transform_ops.push_back(&transform);
    runs.transform_stats.push_back(op_stats[t]);
    runs.transform_indexes.push_back(static_cast<int>(t));
  }
  return transform_runs;
}

/// The checks of a run whose work is divided (MPI ranks, or the tasks of a checkpointed run):
/// every operator can be divided (`limit`: Operator::RankLimit or TaskLimit), and no stage after
/// a breaker numbers records with another stage before it. `divided`: "cannot run across N MPI
/// ranks"; `advice` ends the message.
void CheckDivisible(const Plan& plan, std::string (Operator::*limit)() const,
                    const std::string& divided, const std::string& advice) {
  const auto& ops = plan.operators();
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string why = ((*ops[i]).*limit)();
    if (!why.empty()) {
      throw InvalidArgument(plan.labels()[i] + " " + divided + ": " + why + "; " + advice);
    }
  }
  // After a breaker each rank or task emits its range of the order, numbered from the records
  // of those before it. A stage that numbers records counts those that reach it; with a stage
  // before it that may drop records, that count would depend on the others' drops.
  for (size_t p = 1; p < plan.pipelines().size(); ++p) {
    const PipelinePlan& pipe = plan.pipelines()[p];
    std::vector<size_t> stages = pipe.transforms;
    stages.push_back(pipe.sink);
    for (size_t k = 1; k < stages.size(); ++k) {
      if (!ops[stages[k]]->NeedsRecordIndex()) continue;
      throw InvalidArgument(plan.labels()[stages[k]] + " " + divided + " after " +
                            plan.labels()[pipe.source] + " with " + plan.labels()[stages[0]] +
                            " between them: it numbers the records that reach it, and only the "
                            "records right after " +
                            plan.labels()[pipe.source] +
                            " are numbered as one process numbers them; put it right after " +
                            plan.labels()[pipe.source] + " or before it; " + advice);
    }
  }
}

void Execute(const Plan& plan, ExecContext& ctx, RunStats& stats) {
  if (!ctx.options().checkpoint.empty()) {
    tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                                static_cast<size_t>(ctx.threads()));
    struct DiscardDeferredOnExit {
      ExecContext& ctx;
      ~DiscardDeferredOnExit() { ctx.DiscardDeferred(); }
    } discard_deferred{ctx};
    for (const std::string& label : plan.labels()) stats.AddOperator(label);
    ExecuteTasks(plan, ctx, stats);
    return;
  }
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                              static_cast<size_t>(ctx.threads()));
  const auto& ops = plan.operators();
  std::vector<OperatorStats*> op_stats;
  for (const std::string& label : plan.labels()) op_stats.push_back(&stats.AddOperator(label));
  if (!ctx.cluster().single()) {
    const std::string across =
        "cannot run across " + std::to_string(ctx.cluster().size()) + " MPI ranks";
    CheckDivisible(plan, &Operator::RankLimit, across, "run it as one process (docs/scale-out.md)");
  }
  ctx.SetInputFiles(plan.input_paths());
  ctx.SetOutputPaths(plan.output_paths());
  // The run folder is made at once, whether the run needs one or not: making it sweeps the
  // folders of killed runs, finishing any commit one of them left half done
  // (engine/io/commit_journal.h). A temp folder that cannot be written fails only a run that
  // needs it, later.
  try {
    ctx.temp_dir().Path();
  } catch (const IoError&) {
  }
  if (!ctx.cluster().single()) {
    // Every rank got here (or one failed, and all stop). Rank 0 names the job, which every rank
    // puts in the temp names of its outputs, so that the ranks of a job that fails remove every
    // rank's files, a killed rank's included (docs/scale-out.md, Failure).
    ctx.cluster().Agree();
    ctx.SetJob(ctx.cluster().GatherAll(ctx.cluster().rank() == 0 ? NewJobName() : "")[0]);
  }
  struct RemoveJobFilesOnFailure {
    ExecContext& ctx;
    int exceptions = std::uncaught_exceptions();
    ~RemoveJobFilesOnFailure() {
      if (std::uncaught_exceptions() > exceptions) ctx.RemoveFailedJobFiles();
    }
  } remove_job_files{ctx};

  // The run's outputs (ExecContext::DeferCommit) are committed only if the run gets to the end.
  struct DiscardDeferredOnExit {
    ExecContext& ctx;
    ~DiscardDeferredOnExit() { ctx.DiscardDeferred(); }
  } discard_deferred{ctx};

  std::unique_ptr<BreakerRun> previous_breaker;
  InputEstimate estimate;
  const size_t pipeline_count = plan.pipelines().size();
  for (size_t p = 0; p < pipeline_count; ++p) {
    const PipelinePlan& pipe = plan.pipelines()[p];
    ctx.ResetStop();
    PipelineRuns runs;

    // What every operator of the pipeline is opened with: its planned input schema and the
    // pipeline's input size (the source's bytes, or what the previous breaker consumed and
    // will emit).
    if (p == 0) estimate = InputEstimate{static_cast<const Source&>(*ops[0]).TotalBytes(), {}};
    // The record count is exact only for the operator right after the source: a transform may
    // change it.
    const size_t first_after_source = pipe.transforms.empty() ? pipe.sink : pipe.transforms[0];
    auto open = [&](size_t i) {
      InputEstimate input = estimate;
      if (i != first_after_source) input.records.reset();
      return OpenContext{ctx, *op_stats[i], plan.input_schema(i), input, plan.later_fields(i)};
    };

    // Source: an operator, or the output of the breaker that ended the previous pipeline.
    std::unique_ptr<BatchReader> reader;
    if (p == 0) {
      reader = static_cast<const Source&>(*ops[pipe.source]).Open(open(pipe.source));
    } else {
      reader = previous_breaker->OpenOutput();
    }
    runs.reader = reader.get();
    runs.source_stats = op_stats[pipe.source];

    const std::vector<std::unique_ptr<TransformRun>> transform_runs =
        OpenTransforms(plan, pipe, open, op_stats, runs);

    std::unique_ptr<BatchWriter> sink_run;
    std::unique_ptr<BreakerRun> breaker_run;
    const Operator& sink_op = *ops[pipe.sink];
    if (sink_op.role() == OperatorRole::kBreaker) {
      breaker_run = static_cast<const Breaker&>(sink_op).Open(open(pipe.sink));
      runs.writer = breaker_run.get();
    } else {
      sink_run = static_cast<const Sink&>(sink_op).Open(open(pipe.sink));
      runs.writer = sink_run.get();
    }
    runs.sink_op = &sink_op;
    runs.sink_index = static_cast<int>(pipe.sink);
    runs.sink_stats = op_stats[pipe.sink];

    // The phase is named by the stages that run in it: where the time goes.
    std::string phase = plan.labels()[pipe.source];
    for (size_t t : pipe.transforms) phase += " > " + plan.labels()[t];
    phase += " > " + plan.labels()[pipe.sink];
    if (pipeline_count > 1) {
      phase = "[" + std::to_string(p + 1) + "/" + std::to_string(pipeline_count) + "] " + phase;
    }
    ctx.progress().StartPhase(phase, p == 0 ? estimate.bytes.value_or(0) : 0);

    const InputEstimate consumed = RunPipeline(runs, ctx);
    if (breaker_run) estimate = breaker_run->OutputEstimate(consumed);
    // The breaker's reader may depend on the previous breaker's run: keep it alive until here.
    reader.reset();
    previous_breaker = std::move(breaker_run);
    stats.peak_rss_bytes = PeakRssBytes();
  }
  // The last moment a signal can stop the run: the commit renames outputs all or none.
  CheckInterrupt();
  if (!ctx.cluster().single()) {
    // Every rank got here (or one failed, and all stop): rank 0 reports for all of them, and
    // commits the outputs every rank wrote parts of.
    ctx.cluster().Agree();
    stats.ReduceAcrossRanks(ctx.cluster());
  }
  ctx.CommitDeferred();
}

}  // namespace corpusflow
