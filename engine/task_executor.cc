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

}  // namespace

void ExecuteTasks(const Plan& plan, ExecContext& ctx, RunStats& stats) {
  const auto& ops = plan.operators();
  CheckDivisible(plan, &Operator::TaskLimit, "cannot run in a checkpointed run",
                 "run without --checkpoint (docs/resume.md)");
  if (plan.pipelines().size() > 2) {
    throw InvalidArgument(
        "a checkpointed run holds at most one pipeline breaker; run the pipeline in two "
        "commands, or without --checkpoint (docs/resume.md)");
  }
  const std::vector<std::string>& labels = plan.labels();
  const auto& source = static_cast<const Source&>(*ops[0]);
  ctx.SetInputFiles(plan.input_paths());
  ctx.SetOutputPaths(plan.output_paths());
  try {
    ctx.temp_dir().Path();
  } catch (const IoError&) {
  }

  Cluster& cluster = ctx.cluster();
  const bool ranks = !cluster.single();
  // A step that every rank takes (or rank 0 alone): under MPI the ranks agree on its outcome,
  // so that all go on or all stop.
  const auto agreed = [&](bool everyone, const std::function<void()>& step) {
    if (!ranks) {
      step();
      return;
    }
    std::string error;
    if (everyone || cluster.rank() == 0) {
      try {
        step();
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    cluster.AgreeOnOutcome(error);
  };
  // Rank 0 makes the checkpoint (or checks it, or discards it with --restart) and fixes what
  // later runs must keep: the job in the outputs' temp names (those of a killed run's tasks are
  // removed now) and the number of output tasks. The other ranks then open it as it is.
  const CheckpointIdentity identity{ctx.options().command, ctx.slice_bytes(),
                                    DescribeCheckpointInputs(plan.input_paths())};
  const uint64_t input_bytes = source.TotalBytes().value_or(0);
  const uint64_t slice = ctx.slice_bytes();
  const uint64_t input_tasks = std::max<uint64_t>(1, (input_bytes + slice - 1) / slice);
  const bool breaker = plan.pipelines().size() == 2;
  const auto* breaker_op =
      breaker ? static_cast<const Breaker*>(ops[plan.pipelines()[0].sink].get()) : nullptr;
  std::unique_ptr<Checkpoint> checkpoint;
  agreed(false, [&] {
    if (ctx.options().restart) {
      // What the discarded checkpoint's killed tasks left beside the outputs goes with it.
      std::optional<std::string> job;
      try {
        job = Checkpoint::Read(ctx.options().checkpoint).plan.at("job");
      } catch (const std::exception&) {
        // No checkpoint there, or no job named: nothing of it beside the outputs.
      }
      if (job) {
        ctx.SetJob(*job);
        ctx.RemoveJobTempsBesideOutputs();
      }
    }
    checkpoint = Checkpoint::Open(ctx.options().checkpoint, identity, ctx.options().restart);
    std::map<std::string, std::string> fixed;
    if (!checkpoint->PlanValue("job")) fixed["job"] = NewJobName();
    // A checkpoint that one process makes appends the outputs that join by concatenation to one
    // temp file beside each, task after task; one made under MPI keeps every task's outputs as
    // parts, which the last task joins. The first run decides.
    if (!checkpoint->PlanValue("appends")) fixed["appends"] = ranks ? "0" : "1";
    if (breaker && !checkpoint->PlanValue("key_ranges")) {
      fixed["key_ranges"] =
          std::to_string(std::max<uint64_t>(1, breaker_op->KeyRanges(ctx, input_bytes)));
    }
    if (!fixed.empty()) checkpoint->SetPlanValues(fixed);
    ctx.SetJob(*checkpoint->PlanValue("job"));
    ctx.RemoveJobTempsBesideOutputs();
  });
  if (ranks) {
    agreed(true, [&] {
      if (cluster.rank() != 0) {
        checkpoint = Checkpoint::Open(ctx.options().checkpoint, identity, false);
        ctx.SetJob(*checkpoint->PlanValue("job"));
      }
    });
    // Rank 0 commits the outputs joined from the tasks' parts alone.
    ctx.CommitAlone();
  }
  Checkpoint& cp = *checkpoint;
  const uint64_t ranges = breaker ? std::stoull(*cp.PlanValue("key_ranges")) : 0;
  // The output tasks: the first key range of each, fixed once pass 1 is done (none before).
  std::vector<uint64_t> groups;
  const auto load_groups = [&] {
    if (const std::optional<std::string> list = cp.PlanValue("output_groups")) {
      groups = ParseCounts(*list, cp.dir());
    }
  };
  load_groups();
  uint64_t output_tasks = groups.size();
  // A task's files are not synced (its entry is): those of tasks committed on another boot of
  // the machine, or on another machine, are checked before they are used, and a task whose
  // files did not survive is done again (`lost`).
  const std::string boot = MachineBootId();
  const auto from_another_boot = [&boot](const TaskEntry& entry) {
    const auto written = entry.values.find("boot");
    return boot.empty() || written == entry.values.end() || written->second != boot;
  };
  uint64_t lost = 0;
  const auto check_input_tasks = [&] {
    if (!breaker) return;
    for (uint64_t t = 0; t < input_tasks; ++t) {
      const TaskEntry* entry = cp.Entry(kInputPhase, t);
      if (entry == nullptr || !from_another_boot(*entry)) continue;
      try {
        breaker_op->CheckInputTask(cp.TaskFolder(kInputPhase, t), ranges);
      } catch (const CorruptionError& e) {
        if (ctx.options().progress != ProgressMode::kNever) {
          std::fprintf(stderr,
                       "corpusflow: input task %llu of the checkpoint did not survive the "
                       "restart of the machine that wrote it (%s): it is done again\n",
                       static_cast<unsigned long long>(t), e.what());
        }
        cp.Discard(kInputPhase, t);
        ++lost;
      }
    }
  };
  const bool appends = cp.PlanValue("appends") == "1";
  // The outputs appended to, by target: where the last committed task left each
  // (RunFiles::appends).
  auto appended = std::make_shared<std::map<std::string, AppendedOutput>>();
  // The phase whose tasks write the outputs.
  const char* out_phase = breaker ? kOutputPhase : kInputPhase;
  const uint64_t out_tasks = breaker ? output_tasks : input_tasks;
  const auto load_appended = [&] {
    appended->clear();
    for (uint64_t t = 0; t < out_tasks; ++t) {
      const TaskEntry* entry = cp.Entry(out_phase, t);
      if (entry == nullptr) continue;
      for (const TaskPart& part : entry->parts) {
        if (!part.append_temp.empty()) {
          (*appended)[part.target] = AppendedOutput{part.append_temp, part.bytes, NewWriteHash()};
        }
      }
    }
  };
  // Rank 0 checks what another boot wrote and mends a cut commit; the other ranks then reload.
  agreed(false, [&] {
    check_input_tasks();
    if (appends) {
      load_appended();
      // A run killed while it committed its outputs renamed some of these files onto their
      // outputs (or the next run's sweep finished its renames): the committed tasks' bytes are
      // the first ones of the output, from which the last task is done again.
      for (const auto& [target, a] : *appended) {
        std::error_code ec;
        if (std::filesystem::exists(a.temp, ec)) continue;
        if (std::filesystem::file_size(target, ec) < a.offset || ec) {
          throw CorruptionError(a.temp + ", the file the checkpoint in " + cp.dir().string() +
                                " appended " + target + " to, is missing; give --restart");
        }
        File from = File::Open(target, O_RDONLY);
        File to = File::Open(a.temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        to.CopyFrom(from, 0, 0, a.offset);
        to.Close();
      }
    }
    // The outputs' parts and appended bytes are not synced (their checksums are): those of
    // tasks committed on another boot, or on another machine, are checked in task order. A task
    // whose outputs did not survive is done again, and, where outputs are appended to, every
    // task after it.
    std::map<std::string, uint64_t> appended_from;
    bool cut = false;
    for (uint64_t t = 0; t < out_tasks; ++t) {
      const TaskEntry* entry = cp.Entry(out_phase, t);
      if (entry == nullptr) continue;
      const bool check = from_another_boot(*entry);
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
            intact = FileChecksum(cp.PartPath(out_phase, t, part).string()) == part.checksum;
          }
        } catch (const CorruptionError&) {
          intact = false;
        } catch (const IoError&) {
          intact = false;
        }
      }
      if (intact) continue;
      if (!cut && ctx.options().progress != ProgressMode::kNever) {
        std::fprintf(stderr,
                     "corpusflow: the outputs of %s task %llu of the checkpoint did not survive "
                     "the restart of the machine that wrote them: it is done again%s\n",
                     out_phase, static_cast<unsigned long long>(t),
                     appends ? ", and the tasks after it" : "");
      }
      cp.Discard(out_phase, t);
      ++lost;
      cut = appends;
    }
  });
  if (ranks) cp.Reload();
  if (appends) {
    load_appended();
    ctx.SetAppendedOutputs(appended);
  }
  const uint64_t committed_before = cp.Committed(kInputPhase) + cp.Committed(kOutputPhase);
  // Tasks a killed run started and did not commit: the work a kill cost, done again now.
  const uint64_t redone = cp.unfinished_tasks() + lost;
  // The figures of the tasks committed by other runs (and, under MPI, other ranks) join the
  // run's, each once.
  std::set<std::pair<std::string, uint64_t>> counted;
  const auto count_committed = [&] {
    for (const char* phase : {kInputPhase, kOutputPhase}) {
      const uint64_t tasks = phase == kInputPhase ? input_tasks : output_tasks;
      for (uint64_t t = 0; t < tasks; ++t) {
        const TaskEntry* entry = cp.Entry(phase, t);
        if (entry != nullptr && counted.emplace(phase, t).second) stats.AddFigures(entry->figures);
      }
    }
  };
  count_committed();
  // This rank's share of the tasks not committed yet (all of them for one process), the last
  // task of the run left out: rank 0 runs it when every other task is committed.
  // Tasks that append to the outputs run in order, on rank 0 alone under MPI.
  const auto my_tasks = [&](const char* phase, uint64_t tasks, bool write_outputs) {
    const bool in_order = appends && write_outputs;
    std::vector<uint64_t> mine;
    uint64_t pending = 0;
    for (uint64_t t = 0; t + 1 < tasks; ++t) {
      if (cp.Entry(phase, t) != nullptr) continue;
      const uint64_t rank = in_order ? 0 : pending % static_cast<uint64_t>(cluster.size());
      if (rank == static_cast<uint64_t>(cluster.rank())) mine.push_back(t);
      ++pending;
    }
    return mine;
  };
  // Every rank's tasks of a phase are committed: see the others' entries.
  const auto after_phase = [&] {
    if (!ranks) return;
    cluster.Agree();
    cp.Reload();
    count_committed();
  };
  if (committed_before > 0 && ctx.options().progress != ProgressMode::kNever) {
    std::fprintf(
        stderr, "corpusflow: resuming the checkpoint in %s: %llu of %llu input tasks%s done\n",
        cp.dir().c_str(), static_cast<unsigned long long>(cp.Committed(kInputPhase)),
        static_cast<unsigned long long>(input_tasks),
        breaker && output_tasks > 0 ? (", " + std::to_string(cp.Committed(kOutputPhase)) + " of " +
                                       std::to_string(output_tasks) + " output tasks")
                                          .c_str()
                                    : "");
  }

  // Batches for every task of the process: their memory is touched once, not once per task.
  BatchPool batches(8 * ctx.batch_bytes());
  // One task: the operators of pipeline `p` opened afresh with counters of their own (added to
  // the run's and kept in the task's entry), `reader` or the source, `writer` or the sink.
  struct TaskRun {
    RunStats stats;
    std::vector<OperatorStats*> op_stats;
  };
  const auto run_task =
      [&](size_t p, TaskRun& task, const std::string& moment,
          const std::function<std::unique_ptr<BatchReader>(const OpenContext&)>& open_reader,
          const std::function<std::unique_ptr<BatchWriter>(const OpenContext&)>& open_writer,
          std::unique_ptr<BatchReader>* keep_reader = nullptr) {
        for (const std::string& label : labels)
          task.op_stats.push_back(&task.stats.AddOperator(label));
        const PipelinePlan& pipe = plan.pipelines()[p];
        ctx.ResetStop();
        const size_t first_after_source = pipe.transforms.empty() ? pipe.sink : pipe.transforms[0];
        const InputEstimate estimate{p == 0 ? std::optional<uint64_t>(slice) : std::nullopt, {}};
        std::vector<std::unique_ptr<OpenContext>> contexts;
        auto open = [&](size_t i) -> const OpenContext& {
          InputEstimate input = estimate;
          if (i != first_after_source) input.records.reset();
          contexts.push_back(std::make_unique<OpenContext>(OpenContext{
              ctx, *task.op_stats[i], plan.input_schema(i), input, plan.later_fields(i)}));
          return *contexts.back();
        };
        PipelineRuns runs;
        runs.moment = moment.c_str();
        runs.pool = &batches;
        std::unique_ptr<BatchReader> reader = open_reader(open(pipe.source));
        runs.reader = reader.get();
        runs.source_stats = task.op_stats[pipe.source];
        const std::vector<std::unique_ptr<TransformRun>> transform_runs = OpenTransforms(
            plan, pipe, [&](size_t i) { return open(i); }, task.op_stats, runs);
        std::unique_ptr<BatchWriter> writer = open_writer(open(pipe.sink));
        runs.writer = writer.get();
        runs.sink_op = ops[pipe.sink].get();
        runs.sink_index = static_cast<int>(pipe.sink);
        runs.sink_stats = task.op_stats[pipe.sink];
        RunPipeline(runs, ctx);
        stats.peak_rss_bytes = PeakRssBytes();
        if (keep_reader != nullptr) *keep_reader = std::move(reader);
        return writer;
      };
  // The task's figures go to the run's counters and to its entry; its texts (a format, a seed's
  // origin) to the run's.
  const auto keep_figures = [&](TaskRun& task, TaskEntry& entry) {
    entry.figures = task.stats.EncodeFigures();
    stats.AddFigures(entry.figures);
    for (size_t i = 0; i < labels.size(); ++i) {
      for (const auto& [name, text] : task.op_stats[i]->texts()) {
        stats.operators()[i]->SetText(name, text);
      }
    }
  };
  // A task's outputs become its parts in the checkpoint.
  const auto keep_parts = [&](TaskEntry& entry) {
    std::vector<CommitGroup::TakenMember> taken = ctx.TakeTaskOutputs();
    for (const CommitGroup::TakenMember& member : taken) {
      for (const PendingRename& file : member.output->Files()) {
        TaskPart part{
            entry.parts.size(), file.target, static_cast<int>(member.output->JoinKind()), 0, 0, ""};
        if (appends && member.output->JoinKind() == DeferredCommit::Join::kConcatenate) {
          // Appended to: the first task's temp file becomes the one every later task appends
          // to; the entry notes its bytes.
          auto it = appended->find(file.target);
          if (it == appended->end()) {
            const std::string temp =
                AtomicOutput::TempPathFor(file.target, *cp.PlanValue("job") + "-appended");
            if (::rename(file.temp.c_str(), temp.c_str()) != 0) {
              ThrowIoError("cannot keep the output appended to as", temp, errno);
            }
            it = appended->emplace(file.target, AppendedOutput{temp, 0, nullptr}).first;
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
  };
  // The last task's commit: the earlier tasks' parts join its outputs (checked as they are
  // read, CommitGroup::set_earlier_parts).
  const auto join_earlier = [&](const char* phase, uint64_t last) {
    ctx.SetEarlierParts([&cp, phase, last](size_t index, const std::string& target) {
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
        parts.push_back(CommitGroup::EarlierPart{cp.PartPath(phase, t, part).string(), part.bytes,
                                                 part.checksum});
      }
      return parts;
    });
  };

  // The source's counters say what the checkpoint saved and what this run did again (on rank 0,
  // which reports: its own tasks and the last).
  const auto finish_counters = [&] {
    OperatorStats& first = *stats.operators()[0];
    first.Add("checkpoint_tasks", input_tasks + output_tasks);
    first.Add("checkpoint_tasks_resumed", committed_before);
    first.Add("checkpoint_tasks_run", input_tasks + output_tasks - committed_before);
    first.Add("checkpoint_tasks_redone", redone);
  };
  // An input task: pass 1 into the breaker's task files, or the whole pipeline into parts of the
  // outputs (the last task's outputs kept for the commit).
  // This process's last finished pass-1 writer, whose memory the next one reuses.
  std::unique_ptr<InputTaskWriter> finished_writer;
  const auto input_task = [&](uint64_t t, bool last) {
    const std::filesystem::path folder = cp.StartTask(kInputPhase, t);
    ctx.SetInputTask(t);
    ctx.set_writes_parts(!last);
    TaskRun task;
    TaskEntry entry{kInputPhase, t, {{"boot", boot}}, {}, {}};
    std::unique_ptr<BatchWriter> writer = run_task(
        0, task, "input task " + std::to_string(t),
        [&](const OpenContext& open) { return source.Open(open); },
        [&](const OpenContext& open) -> std::unique_ptr<BatchWriter> {
          if (breaker) {
            return breaker_op->OpenInputTask(open, folder, ranges, std::move(finished_writer));
          }
          return static_cast<const Sink&>(*ops[plan.pipelines()[0].sink]).Open(open);
        });
    ctx.SetInputTask(std::nullopt);
    keep_figures(task, entry);
    counted.emplace(kInputPhase, t);
    if (breaker) {
      const auto& records = static_cast<InputTaskWriter&>(*writer);
      entry.values["records"] = JoinCounts(records.RangeRecords());
      entry.values["bytes"] = JoinCounts(records.RangeBytes());
      finished_writer.reset(static_cast<InputTaskWriter*>(writer.release()));
    }
    if (last) {
      join_earlier(kInputPhase, t);
      return;
    }
    if (!breaker) keep_parts(entry);
    KillPointForTest("the commit of an input task");
    cp.Commit(std::move(entry));
  };
  const auto commit_outputs = [&] {
    CheckInterrupt();
    ctx.CommitDeferred();
    cp.Complete();
  };

  ctx.progress().StartPhase(breaker ? "[1/2] input tasks" : "tasks", input_bytes);
  for (const uint64_t t : my_tasks(kInputPhase, input_tasks, !breaker)) input_task(t, false);
  const uint64_t last_input = input_tasks - 1;
  if (!breaker) {
    after_phase();
    agreed(false, [&] {
      input_task(last_input, true);
      finish_counters();
      commit_outputs();
    });
    return;
  }
  // With a breaker every input task is committed before pass 2, the last one too.
  if (cp.Entry(kInputPhase, last_input) == nullptr && cluster.rank() == cluster.size() - 1) {
    input_task(last_input, false);
  }
  after_phase();

  // Records of each key range and their bytes, from every input task's entry.
  std::vector<uint64_t> range_records(ranges, 0);
  std::vector<uint64_t> range_bytes(ranges, 0);
  std::vector<std::filesystem::path> folders;
  for (uint64_t t = 0; t < input_tasks; ++t) {
    const TaskEntry* entry = cp.Entry(kInputPhase, t);
    CF_CHECK(entry != nullptr, "an input task is not committed");
    folders.push_back(cp.TaskFolder(kInputPhase, t));
    const std::vector<uint64_t> records = ParseCounts(entry->values.at("records"), cp.dir());
    const std::vector<uint64_t> bytes = ParseCounts(entry->values.at("bytes"), cp.dir());
    if (records.size() != ranges || bytes.size() != ranges) {
      throw CorruptionError("the entry of input task " + std::to_string(t) + " in " +
                            cp.dir().string() + " does not count " + std::to_string(ranges) +
                            " key ranges; give --restart");
    }
    for (uint64_t r = 0; r < ranges; ++r) {
      range_records[r] += records[r];
      range_bytes[r] += bytes[r];
    }
  }
  // The output tasks, from what pass 1 wrote: the first run to get here fixes them.
  if (groups.empty()) {
    agreed(false, [&] {
      cp.SetPlanValues({{"output_groups",
                         JoinCounts(breaker_op->GroupRanges(ctx, range_records, range_bytes))}});
    });
    if (ranks) cp.Reload();
    load_groups();
    output_tasks = groups.size();
  }
  std::vector<OutputTaskSpan> spans(output_tasks);
  for (uint64_t o = 0; o < output_tasks; ++o) {
    OutputTaskSpan& span = spans[o];
    span.task = o;
    span.first_range = groups[o];
    span.end_range = o + 1 < output_tasks ? groups[o + 1] : ranges;
    if (span.first_range >= span.end_range || span.end_range > ranges) {
      throw CorruptionError("the output tasks fixed in " + cp.dir().string() +
                            " are not runs of its key ranges; give --restart");
    }
    for (uint64_t r = span.first_range; r < span.end_range; ++r) span.records += range_records[r];
    if (o > 0) span.origin = spans[o - 1].origin + spans[o - 1].records;
  }
  // This process's last finished output task's reader, whose memory the next one reuses.
  std::unique_ptr<BatchReader> finished_reader;
  const auto output_task = [&](uint64_t o, bool last, std::optional<uint64_t> next) {
    cp.StartTask(kOutputPhase, o);
    ctx.set_writes_parts(!last);
    TaskRun task;
    TaskEntry entry{kOutputPhase, o, {{"boot", boot}}, {}, {}};
    run_task(
        1, task, "output task " + std::to_string(o),
        [&](const OpenContext& open) {
          return breaker_op->OpenOutputTask(
              open, spans[o], ranges, folders,
              next ? std::optional<OutputTaskSpan>(spans[*next]) : std::nullopt,
              std::move(finished_reader));
        },
        [&](const OpenContext& open) {
          return static_cast<const Sink&>(*ops[plan.pipelines()[1].sink]).Open(open);
        },
        &finished_reader);
    keep_figures(task, entry);
    counted.emplace(kOutputPhase, o);
    if (last) {
      join_earlier(kOutputPhase, o);
      return;
    }
    keep_parts(entry);
    KillPointForTest("the commit of an output task");
    cp.Commit(std::move(entry));
  };
  ctx.progress().StartPhase("[2/2] output tasks", 0);
  // Each task names the one the process runs after it (rank 0 ends with the last), whose records
  // load meanwhile.
  const std::vector<uint64_t> mine = my_tasks(kOutputPhase, output_tasks, true);
  for (size_t i = 0; i < mine.size(); ++i) {
    std::optional<uint64_t> next;
    if (i + 1 < mine.size()) {
      next = mine[i + 1];
    } else if (cluster.rank() == 0) {
      next = output_tasks - 1;
    }
    output_task(mine[i], false, next);
  }
  after_phase();
  agreed(false, [&] {
    output_task(output_tasks - 1, true, std::nullopt);
    finish_counters();
    commit_outputs();
  });
}

}  // namespace corpusflow
