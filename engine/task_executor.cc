#include "engine/task_executor.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/atomic_output.h"
#include "engine/io/checkpoint.h"
#include "engine/io/file.h"
#include "engine/pipeline_run.h"
#include "engine/progress.h"

namespace corpusflow {
namespace {

/// The phases of a checkpointed run's tasks (engine/io/checkpoint.h).
constexpr char kInputPhase[] = "input";
constexpr char kOutputPhase[] = "output";

/// Move a finished temp file to `dest` (rename, or copy where they are on two filesystems).
/// Throws IoError.
void MoveFile(const std::string& from, const std::filesystem::path& dest) {
  if (::rename(from.c_str(), dest.c_str()) == 0) return;
  if (errno != EXDEV) ThrowIoError("cannot move a task's output into the checkpoint", from, errno);
  File in = File::Open(from, O_RDONLY);
  File out = File::Open(dest.string(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  out.CopyFrom(in, 0, 0, in.Size());
  out.Close();
  ::unlink(from.c_str());
}

/// "3,0,12": counts as an entry or the manifest keeps them.
std::string JoinCounts(const std::vector<uint64_t>& counts) {
  std::string list;
  for (const uint64_t n : counts) list += (list.empty() ? "" : ",") + std::to_string(n);
  return list;
}

/// The counts of a JoinCounts list kept in the checkpoint `dir`. Throws CorruptionError.
std::vector<uint64_t> ParseCounts(const std::string& list, const std::filesystem::path& dir) {
  std::vector<uint64_t> counts;
  size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) {
      throw CorruptionError("a list of counts in " + dir.string() + " holds '" + item +
                            "'; give --restart");
    }
    counts.push_back(std::stoull(item));
    start = comma + 1;
  }
  return counts;
}

/// An XXH3 state, reset, for File::HashWrites.
std::shared_ptr<XXH3_state_t> NewWriteHash() {
  std::shared_ptr<XXH3_state_t> state(XXH3_createState(), XXH3_freeState);
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state.get());
  return state;
}

/// Check that `plan` can run as the tasks of a checkpointed run. Throws InvalidArgument.
void CheckTaskPlan(const Plan& plan) {
  CheckDivisible(plan, &Operator::TaskLimit, "cannot run in a checkpointed run",
                 "run without --checkpoint (docs/resume.md)");
  if (plan.pipelines().size() > 2) {
    throw InvalidArgument(
        "a checkpointed run holds at most one pipeline breaker; run the pipeline in two "
        "commands, or without --checkpoint (docs/resume.md)");
  }
}

/// A task's own counters: the operators of its pipeline opened afresh count into them, and they
/// are added to the run's and kept in the task's entry.
struct TaskCounters {
  RunStats stats;
  std::vector<OperatorStats*> op_stats;
};

/// One checkpointed run of a plan (ExecuteTasks), step by step: the checkpoint opened, what
/// another boot wrote checked, the committed tasks counted, this process's input tasks run, then
/// with a breaker the output tasks made from pass 1's counts and run, and at last the last task
/// and the commit. Its state is the run's: the checkpoint and what the first run fixed in it,
/// the outputs appended to, the tasks whose figures the run's counters hold, the batches and the
/// finished writer and reader that the next task reuses.
/// Thread safety: the steps are called one after the other on one thread (a task's pipeline runs
/// on TBB's workers within RunTask). Under MPI every rank takes every step, in the same order:
/// each agreement point (RunAgreed, AfterPhase) is reached by all of them.
class CheckpointedRun {
 public:
  /// Give `ctx` the plan's inputs and outputs, and describe the inputs as the checkpoint keeps
  /// them. REQUIRES: CheckTaskPlan(plan). Throws IoError.
  CheckpointedRun(const Plan& plan, ExecContext& ctx, RunStats& stats)
      : plan_(plan),
        ctx_(ctx),
        stats_(stats),
        source_(static_cast<const Source&>(*plan.operators()[0])),
        cluster_(ctx.cluster()),
        ranks_(!cluster_.single()),
        slice_(ctx.slice_bytes()),
        breaker_(plan.pipelines().size() == 2),
        breaker_op_(
            breaker_ ? static_cast<const Breaker*>(plan.operators()[plan.pipelines()[0].sink].get())
                     : nullptr) {
    ctx_.SetInputFiles(plan_.input_paths());
    ctx_.SetOutputPaths(plan_.output_paths());
    try {
      ctx_.temp_dir().Path();
    } catch (const IoError&) {
    }
    identity_ = CheckpointIdentity{ctx_.options().command, ctx_.slice_bytes(),
                                   DescribeCheckpointInputs(plan_.input_paths())};
    input_bytes_ = source_.TotalBytes().value_or(0);
    input_tasks_ = std::max<uint64_t>(1, (input_bytes_ + slice_ - 1) / slice_);
  }

  /// Whether the plan has a breaker: then its input tasks are pass 1, and output tasks follow.
  bool breaker() const { return breaker_; }

  /// Open the checkpoint: rank 0 first makes it (or checks it, or discards it with --restart),
  /// then the other ranks open it as it is. Read what the first run fixed in it.
  void OpenCheckpoint() {
    RunAgreed(false, [&] { MakeCheckpoint(); });
    if (ranks_) {
      RunAgreed(true, [&] {
        if (cluster_.rank() != 0) {
          checkpoint_ = Checkpoint::Open(ctx_.options().checkpoint, identity_, false);
          ctx_.SetJob(*checkpoint_->PlanValue("job"));
        }
      });
      // Rank 0 commits the outputs joined from the tasks' parts alone.
      ctx_.CommitAlone();
    }
    ranges_ = breaker_ ? std::stoull(*checkpoint_->PlanValue("key_ranges")) : 0;
    LoadOutputGroups();
    output_tasks_ = groups_.size();
    // A task's files are not synced (its entry is): those of tasks committed on another boot of
    // the machine, or on another machine, are checked before they are used, and a task whose
    // files did not survive is done again (`lost_`).
    boot_ = MachineBootId();
    appends_ = checkpoint_->PlanValue("appends") == "1";
    out_phase_ = breaker_ ? kOutputPhase : kInputPhase;
    out_tasks_ = breaker_ ? output_tasks_ : input_tasks_;
  }

  /// Check the files of the tasks committed on another boot, and mend a cut commit: rank 0 does,
  /// discarding the tasks whose files did not survive; the other ranks then reload.
  void CheckWhatAnotherBootWrote() {
    RunAgreed(false, [&] {
      CheckInputTasks();
      if (appends_) {
        LoadAppended();
        MendCutCommit();
      }
      CheckOutputTasks();
    });
    if (ranks_) checkpoint_->Reload();
    if (appends_) {
      LoadAppended();
      ctx_.SetAppendedOutputs(appended_);
    }
  }

  /// Count what the checkpoint saved and what a killed run cost, add the committed tasks'
  /// figures to the run's, and say that the run resumes.
  void CountCommitted() {
    Checkpoint& cp = *checkpoint_;
    committed_before_ = cp.Committed(kInputPhase) + cp.Committed(kOutputPhase);
    // Tasks a killed run started and did not commit: the work a kill cost, done again now.
    redone_ = cp.unfinished_tasks() + lost_;
    CountCommittedFigures();
    if (committed_before_ > 0 && ctx_.options().progress != ProgressMode::kNever) {
      std::fprintf(
          stderr, "corpusflow: resuming the checkpoint in %s: %llu of %llu input tasks%s done\n",
          cp.dir().c_str(), static_cast<unsigned long long>(cp.Committed(kInputPhase)),
          static_cast<unsigned long long>(input_tasks_),
          breaker_ && output_tasks_ > 0 ? (", " + std::to_string(cp.Committed(kOutputPhase)) +
                                           " of " + std::to_string(output_tasks_) + " output tasks")
                                              .c_str()
                                        : "");
    }
  }

  /// Run this process's share of the input tasks (the last one left out without a breaker), then
  /// see the other ranks' entries.
  void RunInputTasks() {
    ctx_.progress().StartPhase(breaker_ ? "[1/2] input tasks" : "tasks", input_bytes_);
    for (const uint64_t t : MyTasks(kInputPhase, input_tasks_, !breaker_)) RunInputTask(t, false);
    // With a breaker every input task is committed before pass 2, the last one too.
    const uint64_t last_input = input_tasks_ - 1;
    if (breaker_ && checkpoint_->Entry(kInputPhase, last_input) == nullptr &&
        cluster_.rank() == cluster_.size() - 1) {
      RunInputTask(last_input, false);
    }
    AfterPhase();
  }

  /// Make the output tasks from what pass 1 wrote: the key ranges' counts summed over every
  /// input task, the groups of ranges fixed (by the first run to get here), and each task's span.
  /// REQUIRES: breaker(), every input task committed.
  void MakeOutputTasks() {
    SumKeyRanges();
    if (groups_.empty()) FixOutputGroups();
    MakeOutputSpans();
  }

  /// Run this process's share of the output tasks (the last one left out), then see the other
  /// ranks' entries. REQUIRES: MakeOutputTasks().
  void RunOutputTasks() {
    ctx_.progress().StartPhase("[2/2] output tasks", 0);
    // Each task names the one the process runs after it (rank 0 ends with the last), whose
    // records load meanwhile.
    const std::vector<uint64_t> mine = MyTasks(kOutputPhase, output_tasks_, true);
    for (size_t i = 0; i < mine.size(); ++i) {
      std::optional<uint64_t> next;
      if (i + 1 < mine.size()) {
        next = mine[i + 1];
      } else if (cluster_.rank() == 0) {
        next = output_tasks_ - 1;
      }
      RunOutputTask(mine[i], false, next);
    }
    AfterPhase();
  }

  /// Run the last task on rank 0, when every other task is committed, and commit its outputs,
  /// joined with the earlier tasks' parts, as the run's; then the checkpoint is complete.
  void RunLastTaskAndCommit() {
    RunAgreed(false, [&] {
      if (breaker_) {
        RunOutputTask(output_tasks_ - 1, true, std::nullopt);
      } else {
        RunInputTask(input_tasks_ - 1, true);
      }
      FinishCounters();
      CommitOutputs();
    });
  }

 private:
  /// Run `step`, which every rank takes (`everyone`) or rank 0 alone: under MPI the ranks agree
  /// on its outcome, so that all go on or all stop.
  void RunAgreed(bool everyone, const std::function<void()>& step) {
    if (!ranks_) {
      step();
      return;
    }
    std::string error;
    if (everyone || cluster_.rank() == 0) {
      try {
        step();
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    cluster_.AgreeOnOutcome(error);
  }

  /// Rank 0 makes the checkpoint (or checks it, or discards it with --restart) and fixes what
  /// later runs must keep: the job in the outputs' temp names (those of a killed run's tasks are
  /// removed now), whether the tasks append to the outputs, and the number of key ranges.
  void MakeCheckpoint() {
    if (ctx_.options().restart) {
      // What the discarded checkpoint's killed tasks left beside the outputs goes with it.
      std::optional<std::string> job;
      try {
        job = Checkpoint::Read(ctx_.options().checkpoint).plan.at("job");
      } catch (const std::exception&) {
        // No checkpoint there, or no job named: nothing of it beside the outputs.
      }
      if (job) {
        ctx_.SetJob(*job);
        ctx_.RemoveJobTempsBesideOutputs();
      }
    }
    checkpoint_ = Checkpoint::Open(ctx_.options().checkpoint, identity_, ctx_.options().restart);
    std::map<std::string, std::string> fixed;
    if (!checkpoint_->PlanValue("job")) fixed["job"] = NewJobName();
    // A checkpoint that one process makes appends the outputs that join by concatenation to one
    // temp file beside each, task after task; one made under MPI keeps every task's outputs as
    // parts, which the last task joins. The first run decides.
    if (!checkpoint_->PlanValue("appends")) fixed["appends"] = ranks_ ? "0" : "1";
    if (breaker_ && !checkpoint_->PlanValue("key_ranges")) {
      fixed["key_ranges"] =
          std::to_string(std::max<uint64_t>(1, breaker_op_->KeyRanges(ctx_, input_bytes_)));
    }
    if (!fixed.empty()) checkpoint_->SetPlanValues(fixed);
    ctx_.SetJob(*checkpoint_->PlanValue("job"));
    ctx_.RemoveJobTempsBesideOutputs();
  }

  /// Load the output tasks fixed in the checkpoint, if pass 1 is done: the first key range of
  /// each (none before). Throws CorruptionError when they are fixed but do not start at the
  /// first key range (or are none): the records of the ranges before would be lost.
  void LoadOutputGroups() {
    if (const std::optional<std::string> list = checkpoint_->PlanValue("output_groups")) {
      groups_ = ParseCounts(*list, checkpoint_->dir());
      if (groups_.empty() || groups_.front() != 0) {
        throw CorruptionError("the output tasks fixed in " + checkpoint_->dir().string() +
                              " are not runs of its key ranges; give --restart");
      }
    }
  }

  /// Whether `entry`'s task was committed on another boot of the machine, or on another machine
  /// (or one whose boot is unknown): its files are then checked before they are used.
  bool FromAnotherBoot(const TaskEntry& entry) const {
    const auto written = entry.values.find("boot");
    return boot_.empty() || written == entry.values.end() || written->second != boot_;
  }

  /// Check the pass-1 files of the input tasks committed on another boot; discard those that did
  /// not survive, to be done again.
  void CheckInputTasks() {
    if (!breaker_) return;
    Checkpoint& cp = *checkpoint_;
    for (uint64_t t = 0; t < input_tasks_; ++t) {
      const TaskEntry* entry = cp.Entry(kInputPhase, t);
      if (entry == nullptr || !FromAnotherBoot(*entry)) continue;
      try {
        breaker_op_->CheckInputTask(cp.TaskFolder(kInputPhase, t), ranges_);
      } catch (const CorruptionError& e) {
        if (ctx_.options().progress != ProgressMode::kNever) {
          std::fprintf(stderr,
                       "corpusflow: input task %llu of the checkpoint did not survive the "
                       "restart of the machine that wrote it (%s): it is done again\n",
                       static_cast<unsigned long long>(t), e.what());
        }
        cp.Discard(kInputPhase, t);
        ++lost_;
      }
    }
  }

  /// Load the outputs appended to, by target, from the committed tasks' entries: where the last
  /// committed task left each.
  void LoadAppended() {
    appended_->clear();
    for (uint64_t t = 0; t < out_tasks_; ++t) {
      const TaskEntry* entry = checkpoint_->Entry(out_phase_, t);
      if (entry == nullptr) continue;
      for (const TaskPart& part : entry->parts) {
        if (!part.append_temp.empty()) {
          (*appended_)[part.target] = AppendedOutput{part.append_temp, part.bytes, NewWriteHash()};
        }
      }
    }
  }

  /// Rebuild the appended temp files that a cut commit renamed onto their outputs.
  /// REQUIRES: LoadAppended().
  void MendCutCommit() {
    // A run killed while it committed its outputs renamed some of these files onto their
    // outputs (or the next run's sweep finished its renames): the committed tasks' bytes are
    // the first ones of the output, from which the last task is done again.
    for (const auto& [target, a] : *appended_) {
      std::error_code ec;
      if (std::filesystem::exists(a.temp, ec)) continue;
      if (std::filesystem::file_size(target, ec) < a.offset || ec) {
        throw CorruptionError(a.temp + ", the file the checkpoint in " +
                              checkpoint_->dir().string() + " appended " + target +
                              " to, is missing; give --restart");
      }
      File from = File::Open(target, O_RDONLY);
      File to = File::Open(a.temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
      to.CopyFrom(from, 0, 0, a.offset);
      to.Close();
    }
  }

  /// Check the outputs' parts and appended bytes of the tasks committed on another boot, in task
  /// order; discard the tasks whose outputs did not survive, to be done again.
  void CheckOutputTasks() {
    Checkpoint& cp = *checkpoint_;
    // The outputs' parts and appended bytes are not synced (their checksums are): those of
    // tasks committed on another boot, or on another machine, are checked in task order. A task
    // whose outputs did not survive is done again, and, where outputs are appended to, every
    // task after it.
    std::map<std::string, uint64_t> appended_from;
    bool cut = false;
    for (uint64_t t = 0; t < out_tasks_; ++t) {
      const TaskEntry* entry = cp.Entry(out_phase_, t);
      if (entry == nullptr) continue;
      const bool check = FromAnotherBoot(*entry);
      bool intact = !cut;
      for (const TaskPart& part : entry->parts) {
        try {
          if (!part.append_temp.empty()) {
            uint64_t& from = appended_from[part.target];
            if (check && intact) {
              intact = part.bytes >= from &&
                       FileChecksum(part.append_temp, from, part.bytes - from) == part.checksum;
            }
            from = part.bytes;
          } else if (check && intact) {
            intact = FileChecksum(cp.PartPath(out_phase_, t, part).string()) == part.checksum;
          }
        } catch (const CorruptionError&) {
          intact = false;
        } catch (const IoError&) {
          intact = false;
        }
      }
      if (intact) continue;
      if (!cut && ctx_.options().progress != ProgressMode::kNever) {
        std::fprintf(stderr,
                     "corpusflow: the outputs of %s task %llu of the checkpoint did not survive "
                     "the restart of the machine that wrote them: it is done again%s\n",
                     out_phase_, static_cast<unsigned long long>(t),
                     appends_ ? ", and the tasks after it" : "");
      }
      cp.Discard(out_phase_, t);
      ++lost_;
      cut = appends_;
    }
  }

  /// Add the figures of the tasks committed by other runs (and, under MPI, other ranks) to the
  /// run's, each once.
  void CountCommittedFigures() {
    for (const char* phase : {kInputPhase, kOutputPhase}) {
      const uint64_t tasks = phase == kInputPhase ? input_tasks_ : output_tasks_;
      for (uint64_t t = 0; t < tasks; ++t) {
        const TaskEntry* entry = checkpoint_->Entry(phase, t);
        if (entry != nullptr && counted_.emplace(phase, t).second) {
          stats_.AddFigures(entry->figures);
        }
      }
    }
  }

  /// This rank's share of the tasks of `phase` not committed yet (all of them for one process),
  /// the last task of the run left out: rank 0 runs it when every other task is committed.
  /// Tasks that append to the outputs (`write_outputs`) run in order, on rank 0 alone under MPI.
  std::vector<uint64_t> MyTasks(const char* phase, uint64_t tasks, bool write_outputs) const {
    const bool in_order = appends_ && write_outputs;
    std::vector<uint64_t> mine;
    uint64_t pending = 0;
    for (uint64_t t = 0; t + 1 < tasks; ++t) {
      if (checkpoint_->Entry(phase, t) != nullptr) continue;
      const uint64_t rank = in_order ? 0 : pending % static_cast<uint64_t>(cluster_.size());
      if (rank == static_cast<uint64_t>(cluster_.rank())) mine.push_back(t);
      ++pending;
    }
    return mine;
  }

  /// Every rank's tasks of a phase are committed: see the others' entries (and count their
  /// figures).
  void AfterPhase() {
    if (!ranks_) return;
    cluster_.Agree();
    checkpoint_->Reload();
    CountCommittedFigures();
  }

  /// Run one task: the operators of pipeline `p` opened afresh with counters of their own
  /// (`task`'s: added to the run's and kept in the task's entry), `open_reader`'s reader in
  /// place of the source, `open_writer`'s writer in place of the sink. Returns the writer,
  /// finished; `keep_reader` (if given) gets the reader.
  std::unique_ptr<BatchWriter> RunTask(
      size_t p, TaskCounters& task, const std::string& moment,
      const std::function<std::unique_ptr<BatchReader>(const OpenContext&)>& open_reader,
      const std::function<std::unique_ptr<BatchWriter>(const OpenContext&)>& open_writer,
      std::unique_ptr<BatchReader>* keep_reader = nullptr) {
    const auto& ops = plan_.operators();
    for (const std::string& label : plan_.labels())
      task.op_stats.push_back(&task.stats.AddOperator(label));
    const PipelinePlan& pipe = plan_.pipelines()[p];
    ctx_.ResetStop();
    const size_t first_after_source = pipe.transforms.empty() ? pipe.sink : pipe.transforms[0];
    const InputEstimate estimate{p == 0 ? std::optional<uint64_t>(slice_) : std::nullopt, {}};
    std::vector<std::unique_ptr<OpenContext>> contexts;
    auto open = [&](size_t i) -> const OpenContext& {
      InputEstimate input = estimate;
      if (i != first_after_source) input.records.reset();
      contexts.push_back(std::make_unique<OpenContext>(OpenContext{
          ctx_, *task.op_stats[i], plan_.input_schema(i), input, plan_.later_fields(i)}));
      return *contexts.back();
    };
    PipelineRuns runs;
    runs.moment = moment.c_str();
    runs.pool = &batches_;
    std::unique_ptr<BatchReader> reader = open_reader(open(pipe.source));
    runs.reader = reader.get();
    runs.source_stats = task.op_stats[pipe.source];
    const std::vector<std::unique_ptr<TransformRun>> transform_runs = OpenTransforms(
        plan_, pipe, [&](size_t i) { return open(i); }, task.op_stats, runs);
    std::unique_ptr<BatchWriter> writer = open_writer(open(pipe.sink));
    runs.writer = writer.get();
    runs.sink_op = ops[pipe.sink].get();
    runs.sink_index = static_cast<int>(pipe.sink);
    runs.sink_stats = task.op_stats[pipe.sink];
    RunPipeline(runs, ctx_);
    stats_.peak_rss_bytes = PeakRssBytes();
    if (keep_reader != nullptr) *keep_reader = std::move(reader);
    return writer;
  }

  /// Add a finished task's figures to the run's counters and to its entry, and its texts (a
  /// format, a seed's origin) to the run's.
  void KeepFigures(TaskCounters& task, TaskEntry& entry) {
    entry.figures = task.stats.EncodeFigures();
    stats_.AddFigures(entry.figures);
    for (size_t i = 0; i < plan_.labels().size(); ++i) {
      for (const auto& [name, text] : task.op_stats[i]->texts()) {
        stats_.operators()[i]->SetText(name, text);
      }
    }
  }

  /// Make a task's outputs its parts in the checkpoint (noted in `entry`): moved into its
  /// folder, or, for an output appended to, kept in the temp file beside the output.
  void KeepParts(TaskEntry& entry) {
    Checkpoint& cp = *checkpoint_;
    std::vector<CommitGroup::TakenMember> taken = ctx_.TakeTaskOutputs();
    for (const CommitGroup::TakenMember& member : taken) {
      for (const PendingRename& file : member.output->Files()) {
        TaskPart part{
            entry.parts.size(), file.target, static_cast<int>(member.output->JoinKind()), 0, 0, ""};
        if (appends_ && member.output->JoinKind() == DeferredCommit::Join::kConcatenate) {
          // Appended to: the first task's temp file becomes the one every later task appends
          // to; the entry notes its bytes.
          auto it = appended_->find(file.target);
          if (it == appended_->end()) {
            const std::string temp =
                AtomicOutput::TempPathFor(file.target, *cp.PlanValue("job") + "-appended");
            if (::rename(file.temp.c_str(), temp.c_str()) != 0) {
              ThrowIoError("cannot keep the output appended to as", temp, errno);
            }
            it = appended_->emplace(file.target, AppendedOutput{temp, 0, nullptr}).first;
          }
          CF_CHECK(file.temp == it->second.temp || it->second.offset == 0,
                   "an appended output was written elsewhere");
          // Not synced: the checksum of this task's bytes is kept (the first task's read back,
          // a later task's hashed as it wrote them), and a run on another boot checks it.
          const uint64_t size = File::Open(it->second.temp, O_RDONLY).Size();
          if (it->second.written == nullptr) {
            part.checksum = FileChecksum(it->second.temp, 0, size);
            it->second.written = NewWriteHash();
          } else {
            part.checksum = XXH3_64bits_digest(it->second.written.get());
            XXH3_64bits_reset(it->second.written.get());
          }
          it->second.offset = size;
          part.append_temp = it->second.temp;
          part.bytes = it->second.offset;
          entry.parts.push_back(std::move(part));
          KillPointForTest("an appended output kept");
          continue;
        }
        const std::filesystem::path dest = cp.PartPath(entry.phase, entry.task, part);
        // Not synced: its checksum is kept, and a run on another boot checks it.
        MoveFile(file.temp, dest);
        KillPointForTest("a part moved into the checkpoint");
        part.bytes = std::filesystem::file_size(dest);
        part.checksum = FileChecksum(dest.string());
        entry.parts.push_back(std::move(part));
      }
    }
  }

  /// Prepare the last task's commit (task `last` of `phase`): the earlier tasks' parts join its
  /// outputs (checked as they are read, CommitGroup::set_earlier_parts).
  void JoinEarlierParts(const char* phase, uint64_t last) {
    ctx_.SetEarlierParts(
        [&cp = *checkpoint_, phase, last](size_t index, const std::string& target) {
          std::vector<CommitGroup::EarlierPart> parts;
          for (uint64_t t = 0; t < last; ++t) {
            const TaskEntry* entry = cp.Entry(phase, t);
            CF_CHECK(entry != nullptr, "an earlier task is not committed");
            if (index >= entry->parts.size() || entry->parts[index].target != target) {
              throw CorruptionError("task " + std::to_string(t) + " of the checkpoint in " +
                                    cp.dir().string() + " did not write " + target +
                                    " as this run does; give --restart");
            }
            const TaskPart& part = entry->parts[index];
            // Appended to: the last task's temp file holds the earlier tasks' bytes already.
            if (!part.append_temp.empty()) return std::vector<CommitGroup::EarlierPart>{};
            parts.push_back(CommitGroup::EarlierPart{cp.PartPath(phase, t, part).string(),
                                                     part.bytes, part.checksum});
          }
          return parts;
        });
  }

  /// Add to the source's counters what the checkpoint saved and what this run did again (on
  /// rank 0, which reports: its own tasks and the last).
  void FinishCounters() {
    OperatorStats& first = *stats_.operators()[0];
    first.Add("checkpoint_tasks", input_tasks_ + output_tasks_);
    first.Add("checkpoint_tasks_resumed", committed_before_);
    first.Add("checkpoint_tasks_run", input_tasks_ + output_tasks_ - committed_before_);
    first.Add("checkpoint_tasks_redone", redone_);
  }

  /// Run input task `t`: pass 1 into the breaker's task files, or the whole pipeline into parts
  /// of the outputs, and commit it; or, for the `last` task, keep its outputs for the commit.
  void RunInputTask(uint64_t t, bool last) {
    Checkpoint& cp = *checkpoint_;
    const std::filesystem::path folder = cp.StartTask(kInputPhase, t);
    ctx_.SetInputTask(t);
    ctx_.set_writes_parts(!last);
    TaskCounters task;
    TaskEntry entry{kInputPhase, t, {{"boot", boot_}}, {}, {}};
    std::unique_ptr<BatchWriter> writer = RunTask(
        0, task, "input task " + std::to_string(t),
        [&](const OpenContext& open) { return source_.Open(open); },
        [&](const OpenContext& open) -> std::unique_ptr<BatchWriter> {
          if (breaker_) {
            return breaker_op_->OpenInputTask(open, folder, ranges_, std::move(finished_writer_));
          }
          return static_cast<const Sink&>(*plan_.operators()[plan_.pipelines()[0].sink]).Open(open);
        });
    ctx_.SetInputTask(std::nullopt);
    KeepFigures(task, entry);
    counted_.emplace(kInputPhase, t);
    if (breaker_) {
      const auto& records = static_cast<InputTaskWriter&>(*writer);
      entry.values["records"] = JoinCounts(records.RangeRecords());
      entry.values["bytes"] = JoinCounts(records.RangeBytes());
      finished_writer_.reset(static_cast<InputTaskWriter*>(writer.release()));
    }
    if (last) {
      JoinEarlierParts(kInputPhase, t);
      return;
    }
    if (!breaker_) KeepParts(entry);
    KillPointForTest("the commit of an input task");
    cp.Commit(std::move(entry));
  }

  /// Sum the records of each key range and their bytes over every input task's entry, and note
  /// the input tasks' folders, which the output tasks read. REQUIRES: every input task committed.
  void SumKeyRanges() {
    Checkpoint& cp = *checkpoint_;
    range_records_.assign(ranges_, 0);
    range_bytes_.assign(ranges_, 0);
    for (uint64_t t = 0; t < input_tasks_; ++t) {
      const TaskEntry* entry = cp.Entry(kInputPhase, t);
      CF_CHECK(entry != nullptr, "an input task is not committed");
      folders_.push_back(cp.TaskFolder(kInputPhase, t));
      const std::vector<uint64_t> records = ParseCounts(entry->values.at("records"), cp.dir());
      const std::vector<uint64_t> bytes = ParseCounts(entry->values.at("bytes"), cp.dir());
      if (records.size() != ranges_ || bytes.size() != ranges_) {
        throw CorruptionError("the entry of input task " + std::to_string(t) + " in " +
                              cp.dir().string() + " does not count " + std::to_string(ranges_) +
                              " key ranges; give --restart");
      }
      for (uint64_t r = 0; r < ranges_; ++r) {
        range_records_[r] += records[r];
        range_bytes_[r] += bytes[r];
      }
    }
  }

  /// Fix the output tasks, from what pass 1 wrote: the first run to get here does (rank 0), and
  /// every rank loads them. REQUIRES: SumKeyRanges(), none fixed yet.
  void FixOutputGroups() {
    RunAgreed(false, [&] {
      checkpoint_->SetPlanValues({{"output_groups", JoinCounts(breaker_op_->GroupRanges(
                                                        ctx_, range_records_, range_bytes_))}});
    });
    if (ranks_) checkpoint_->Reload();
    LoadOutputGroups();
    output_tasks_ = groups_.size();
  }

  /// Make each output task's span from the groups: its key ranges, its records and the number of
  /// its first record. Throws CorruptionError when the groups are not runs of the key ranges.
  void MakeOutputSpans() {
    spans_.resize(output_tasks_);
    for (uint64_t o = 0; o < output_tasks_; ++o) {
      OutputTaskSpan& span = spans_[o];
      span.task = o;
      span.first_range = groups_[o];
      span.end_range = o + 1 < output_tasks_ ? groups_[o + 1] : ranges_;
      if (span.first_range >= span.end_range || span.end_range > ranges_) {
        throw CorruptionError("the output tasks fixed in " + checkpoint_->dir().string() +
                              " are not runs of its key ranges; give --restart");
      }
      for (uint64_t r = span.first_range; r < span.end_range; ++r) {
        span.records += range_records_[r];
      }
      if (o > 0) span.origin = spans_[o - 1].origin + spans_[o - 1].records;
    }
  }

  /// Run output task `o`: its share of every input task's records through pass 2 into parts of
  /// the outputs, and commit it; or, for the `last` task, keep its outputs for the commit.
  /// `next`: the output task this process runs after it, whose records load meanwhile.
  void RunOutputTask(uint64_t o, bool last, std::optional<uint64_t> next) {
    Checkpoint& cp = *checkpoint_;
    cp.StartTask(kOutputPhase, o);
    ctx_.set_writes_parts(!last);
    TaskCounters task;
    TaskEntry entry{kOutputPhase, o, {{"boot", boot_}}, {}, {}};
    RunTask(
        1, task, "output task " + std::to_string(o),
        [&](const OpenContext& open) {
          return breaker_op_->OpenOutputTask(
              open, spans_[o], ranges_, folders_,
              next ? std::optional<OutputTaskSpan>(spans_[*next]) : std::nullopt,
              std::move(finished_reader_));
        },
        [&](const OpenContext& open) {
          return static_cast<const Sink&>(*plan_.operators()[plan_.pipelines()[1].sink]).Open(open);
        },
        &finished_reader_);
    KeepFigures(task, entry);
    counted_.emplace(kOutputPhase, o);
    if (last) {
      JoinEarlierParts(kOutputPhase, o);
      return;
    }
    KeepParts(entry);
    KillPointForTest("the commit of an output task");
    cp.Commit(std::move(entry));
  }

  /// Commit the run's outputs, then note the checkpoint complete (which removes it).
  void CommitOutputs() {
    CheckInterrupt();
    ctx_.CommitDeferred();
    checkpoint_->Complete();
  }

  const Plan& plan_;
  ExecContext& ctx_;
  RunStats& stats_;
  const Source& source_;
  Cluster& cluster_;
  /// Whether the run has MPI ranks (more than one process).
  const bool ranks_;
  /// The bytes of an input slice: of each input task.
  const uint64_t slice_;
  const bool breaker_;
  const Breaker* const breaker_op_;
  /// What the checkpoint is of.
  CheckpointIdentity identity_;
  uint64_t input_bytes_ = 0;
  uint64_t input_tasks_ = 0;
  std::unique_ptr<Checkpoint> checkpoint_;
  /// The key ranges of pass 1, fixed by the first run (none without a breaker).
  uint64_t ranges_ = 0;
  /// The output tasks: the first key range of each, fixed once pass 1 is done (none before).
  std::vector<uint64_t> groups_;
  uint64_t output_tasks_ = 0;
  /// This boot of the machine (MachineBootId), noted in every task's entry.
  std::string boot_;
  /// Committed tasks whose files did not survive another boot: discarded, done again.
  uint64_t lost_ = 0;
  /// Whether the tasks append to the outputs that join by concatenation (one process made the
  /// checkpoint) rather than keep them as parts.
  bool appends_ = false;
  /// The outputs appended to, by target: where the last committed task left each
  /// (RunFiles::appends).
  std::shared_ptr<std::map<std::string, AppendedOutput>> appended_ =
      std::make_shared<std::map<std::string, AppendedOutput>>();
  /// The phase whose tasks write the outputs, and its tasks (as the checkpoint was opened).
  const char* out_phase_ = kInputPhase;
  uint64_t out_tasks_ = 0;
  /// Tasks committed when the run began (after another boot's lost ones were discarded).
  uint64_t committed_before_ = 0;
  /// Tasks a killed run started and did not commit, and lost ones: done again by this run.
  uint64_t redone_ = 0;
  /// The tasks whose figures the run's counters hold: each joins them once.
  std::set<std::pair<std::string, uint64_t>> counted_;
  /// Batches for every task of the process: their memory is touched once, not once per task.
  BatchPool batches_{8 * ctx_.batch_bytes()};
  /// This process's last finished pass-1 writer, whose memory the next one reuses.
  std::unique_ptr<InputTaskWriter> finished_writer_;
  /// Records of each key range and their bytes, from every input task's entry.
  std::vector<uint64_t> range_records_;
  std::vector<uint64_t> range_bytes_;
  /// The input tasks' folders, in input order, which the output tasks read.
  std::vector<std::filesystem::path> folders_;
  std::vector<OutputTaskSpan> spans_;
  /// This process's last finished output task's reader, whose memory the next one reuses.
  std::unique_ptr<BatchReader> finished_reader_;
};

}  // namespace

void ExecuteTasks(const Plan& plan, ExecContext& ctx, RunStats& stats) {
  CheckTaskPlan(plan);
  CheckpointedRun run(plan, ctx, stats);
  run.OpenCheckpoint();
  run.CheckWhatAnotherBootWrote();
  run.CountCommitted();
  run.RunInputTasks();
  if (run.breaker()) {
    run.MakeOutputTasks();
    run.RunOutputTasks();
  }
  run.RunLastTaskAndCommit();
}

}  // namespace corpusflow
