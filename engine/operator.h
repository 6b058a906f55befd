// The operator contract (DuckDB's sink model). An Operator is created from its command-line
// options by the registry, checked by the planner (Validate, OutputSchema) and immutable from
// then on: it may be shared by several runs and threads. Executing it calls Open(OpenContext),
// which receives the planned input schema and the expected input size and returns a run object
// holding all the state of that one execution:
//   Source    -> BatchReader     serial producer of batches
//   Transform -> TransformRun    batch in, batch out
//   Sink      -> BatchWriter     consumer
//   Breaker   -> BreakerRun      a Sink of one pipeline and, once finished, the Source of the next
// A run object is the global state of its execution: it synchronises whatever its workers share.
// Per-worker state is a separate local state (OpState) that the run creates (MakeLocalState), the
// executor hands to exactly one worker at a time, and the run folds back into the global state
// (Combine) once the input is exhausted, before Finish.
//
// The calls on a transform, sink or breaker run, in order:
//   MakeLocalState   once per worker that takes part, concurrently, when it first needs one;
//   Apply / Write    once per batch; concurrently on different batches unless serial() /
//                    ordered(), in which case one at a time in sequence order;
//   Drain            a serial() transform only: after the last Apply, repeatedly, single-threaded,
//                    until it returns false; each batch it fills goes through the stages after
//                    it, in order, after every batch its Apply emitted (records it held back);
//   Combine          once per local state, after the last Apply / Write / Drain, single-threaded;
//   Finish           once, after every Combine, single-threaded.
// Combine and Finish are called only when every batch went through; a failed or cancelled run
// destroys its local states and its run object without them, and the run object's destructor
// must then remove every partial output and temp file it made.
//
// Resources (dictionaries, vocabularies, models) load in Open through the run's ResourceCache
// (ExecContext::resources()), once per run, never at plan time: Validate only checks that their
// files exist and are readable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/schema.h"

namespace corpusflow {

class ExecContext;
class OperatorStats;
struct PlanContext;

enum class OperatorRole { kSource, kTransform, kSink, kBreaker };

/// The size of the input a pipeline is about to receive, as far as it is known at Open: what its
/// source will read (Source::TotalBytes, bytes of the input files) or what the breaker that
/// feeds it consumed (BreakerRun::OutputEstimate: records and batch data bytes). The bytes are
/// the same for every operator of the pipeline, an estimate for sizing, never a promise (the
/// transforms before an operator may drop records or add fields); the record count is exact,
/// and given only where it is (sharding by contiguous pieces needs it: engine/sharding.h).
struct InputEstimate {
  /// Data bytes of the pipeline's input (the source's files, or what the previous breaker
  /// consumed), an estimate of the work ahead.
  std::optional<uint64_t> bytes;
  /// The exact number of records the operator will receive: known for the operator right
  /// after a breaker (what the breaker emits), unknown elsewhere (a transform may change it).
  std::optional<uint64_t> records;
};

/// A field an operator adds to every record (Operator::AddedFields): its name and the option
/// that names it ("--src"), for messages.
struct AddedField {
  std::string name;
  std::string option;

  bool operator==(const AddedField&) const = default;
};

/// A field that a stage of a planned run adds, as the planner saw it: for a source that carries
/// fields it does not name in its schema (`read --all-fields`), which only it can check against
/// the data.
struct FieldClaim {
  AddedField field;
  /// The stage's label in the plan ("pseudo-summary").
  std::string stage;
  /// Whether the stage may replace a field of that name (`--overwrite`).
  bool overwrite = false;
};

/// An empty list of claims: the later_fields of an OpenContext built outside a plan (tests).
inline const std::vector<FieldClaim>& NoFieldClaims() {
  static const std::vector<FieldClaim> none;
  return none;
}

/// What an operator receives when an execution opens it.
struct OpenContext {
  /// The run: options, memory budget, temp folder, progress, resources.
  ExecContext& exec;
  /// This operator's counters.
  OperatorStats& stats;
  /// The planned schema of the batches the operator will receive (the schema the operator
  /// before it emits, Plan::input_schema); empty for a Source.
  const Schema& input_schema;
  /// The expected size of the pipeline's input.
  InputEstimate input;
  /// The fields that the stages after this one add, in plan order (Plan::later_fields).
  const std::vector<FieldClaim>& later_fields = NoFieldClaims();
};

/// The local state of one worker of a transform, sink or breaker run: scratch buffers, partial
/// counts, a private output. Only ever used by one worker at a time.
class OpState {
 public:
  virtual ~OpState() = default;
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual OperatorRole role() const = 0;

  /// The registered operator name ("read", "shuffle"); set by the registry.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  /// Check options, input files, output directories before any I/O; throw InvalidArgument or
  /// IoError. Resource files are checked for existence and readability, never loaded.
  virtual void Validate(const PlanContext& /*ctx*/) const {}
  /// The schema emitted given the schema received (Sources receive an empty schema). Throws
  /// InvalidArgument when a needed field is missing (Schema::Require).
  virtual Schema OutputSchema(const Schema& input) const { return input; }
  /// One line for the plan printout, e.g. "read 2 files as lines -> text".
  virtual std::string Describe() const { return name_; }
  /// The plan printout's line given the planned input schema: Describe(), unless the input
  /// decides more (write-megatron: each field's dtype).
  virtual std::string DescribePlanned(const Schema& /*input*/) const { return Describe(); }
  /// The fields the operator adds to every record, under the names its options give, each with
  /// the option that names it. The planner refuses to let an operator replace a field its input
  /// already has unless overwrite(); a field that the operator reads and replaces in place
  /// because the user named it so (`parse-ids --field text --output text`) is not listed.
  virtual std::vector<AddedField> AddedFields() const { return {}; }
  /// Whether the user allowed the operator to replace fields of the names it adds
  /// (`--overwrite`, which the registry gives every operator that declares outputs).
  bool overwrite() const { return overwrite_; }
  void set_overwrite(bool overwrite) { overwrite_ = overwrite; }
  /// Whether the executor must number batches (Batch::first_record) before this operator sees
  /// them, for random draws derived from (seed, record index).
  virtual bool NeedsRecordIndex() const { return false; }
  /// Why the operator, with its options, cannot run in a multi-rank (MPI) run where each rank
  /// sees its share of the input slices and rank 0 joins the ranks' outputs (docs/scale-out.md);
  /// "" when it can. A transform that treats each record alone can (the default); a source must
  /// read its share of the slices, and a sink's files must join by concatenation, so each says
  /// so itself.
  virtual std::string RankLimit() const { return ""; }
  /// Why the operator, with its options, cannot run in a checkpointed run (`--checkpoint`,
  /// docs/resume.md), which divides the work into tasks as MPI divides it into ranks: each
  /// input task reads one input slice, and the outputs are joined from the parts each task
  /// wrote; "" when it can. By default RankLimit(); a breaker says so itself (its records cross
  /// tasks, Breaker::OpenInputTask).
  virtual std::string TaskLimit() const { return RankLimit(); }
  /// The files the operator reads (data, dictionaries) as given, "-" for stdin. The planner
  /// refuses a run whose output is one of them, and no output may replace one at run time.
  virtual std::vector<std::string> InputPaths() const { return {}; }
  /// The files the operator writes as given, "-" for stdout, given its planned input schema
  /// (the planner refuses two outputs of one file, and an output that is an input).
  virtual std::vector<std::string> OutputPaths(const Schema& /*input*/) const { return {}; }

 private:
  std::string name_;
  bool overwrite_ = false;
};

/// One execution of a Source: a serial producer of batches.
class BatchReader {
 public:
  virtual ~BatchReader() = default;
  /// Fill `out` with the next batch and return true, or return false at the end. `out` may hold
  /// a previous batch's columns (reuse their capacity). The executor sets sequence numbers.
  /// Called by one thread at a time, never concurrently.
  virtual bool Next(Batch* out) = 0;
};

/// One execution of a Transform: its global state.
class TransformRun {
 public:
  virtual ~TransformRun() = default;

  /// Whether Apply must see one batch at a time, in sequence order.
  virtual bool serial() const { return false; }
  /// Create the local state of a worker (nullptr: none needed). CAN be called concurrently.
  virtual std::unique_ptr<OpState> MakeLocalState() { return nullptr; }
  /// Transform `batch` in place (it may change the number of records). CAN be called
  /// concurrently on different batches unless serial(); `local` is the calling worker's state
  /// (nullptr when MakeLocalState made none) and no other call uses it meanwhile.
  virtual void Apply(Batch& batch, OpState* local) = 0;
  /// The end of the input of a serial() run: fill `out` with the next batch of the records the
  /// run held back (an emptied pooled batch: lay it out anew, as BatchReader::Next does) and
  /// return true, or return false when none are left. Called after the last Apply, before
  /// Combine, single-threaded, until it returns false (never on a run that is not serial(), and
  /// even when a later stage stopped the input early: `head` after the run); its batches go
  /// through the stages after the run in order, after every batch Apply passed on, before any of
  /// them finishes. A run that holds records across batches (pack: the window being packed) may
  /// thus emit more records than it received, or fewer, and later: its operator must refuse MPI
  /// ranks and checkpointed runs (RankLimit, TaskLimit), whose ranks and tasks would each drain
  /// their own share. By default nothing is held back.
  virtual bool Drain(Batch* /*out*/) { return false; }
  /// Fold one local state into the global state. Called once per local state after the last
  /// Apply (and Drain), single-threaded: the last time that local state is seen (it is destroyed
  /// next).
  virtual void Combine(OpState& /*local*/) {}
  /// End the execution after the last Combine. Single-threaded, called once.
  virtual void Finish() {}
};

/// One execution of a Sink: its global state.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;

  /// Whether Write must see one batch at a time, in sequence order. Otherwise Write is called
  /// concurrently and the writer keeps per-worker state in local states.
  virtual bool ordered() const { return true; }
  /// Create the local state of a worker (nullptr: none needed). CAN be called concurrently.
  virtual std::unique_ptr<OpState> MakeLocalState() { return nullptr; }
  /// Consume `batch`. CAN be called concurrently on different batches unless ordered(); `local`
  /// is the calling worker's state (nullptr when MakeLocalState made none) and no other call
  /// uses it meanwhile.
  virtual void Write(Batch& batch, OpState* local) = 0;
  /// Fold one local state into the global state. Called once per local state after the last
  /// Write, single-threaded: the last time that local state is seen (it is destroyed next).
  virtual void Combine(OpState& /*local*/) {}
  /// Flush and commit the outputs. Single-threaded, called once after the last Combine.
  virtual void Finish() = 0;
};

/// One execution of a pipeline breaker: consumes everything (as a BatchWriter), then produces.
class BreakerRun : public BatchWriter {
 public:
  /// After Finish(): the reader that feeds the next pipeline.
  virtual std::unique_ptr<BatchReader> OpenOutput() = 0;
  /// After Finish(): the size of what OpenOutput() will produce, given what the breaker
  /// consumed (counted by the executor); the next pipeline's operators receive it at Open. By
  /// default the bytes consumed and no record count: a breaker that emits exactly the records
  /// it consumed says so.
  virtual InputEstimate OutputEstimate(const InputEstimate& consumed) const {
    return InputEstimate{consumed.bytes, std::nullopt};
  }
};

class Source : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kSource; }
  std::string RankLimit() const override { return "it does not divide its input among MPI ranks"; }
  std::string TaskLimit() const override {
    return "it does not divide its input into the slices that tasks read";
  }
  virtual std::unique_ptr<BatchReader> Open(const OpenContext& ctx) const = 0;
  /// Input bytes the source will read, when known: the first pipeline's InputEstimate, the
  /// progress line's total and ETA.
  virtual std::optional<uint64_t> TotalBytes() const { return std::nullopt; }
};

class Transform : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kTransform; }
  virtual std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const = 0;
};

class Sink : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kSink; }
  virtual std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const = 0;
};

/// The pass-1 writer of one input task of a checkpointed run (Breaker::OpenInputTask): its
/// Finish leaves the task's records in the task's folder, complete (not synced: checked by
/// Breaker::CheckInputTask where the machine may have lost them).
class InputTaskWriter : public BatchWriter {
 public:
  /// After Finish(): the records it gave each key range, in order, and their bytes.
  virtual std::vector<uint64_t> RangeRecords() const = 0;
  virtual std::vector<uint64_t> RangeBytes() const = 0;
};

/// An output task of a checkpointed run (Breaker::OpenOutputTask): the key ranges [first_range,
/// end_range) of the output order, `records` records numbered from `origin` (the records of the
/// output tasks before it: Batch::origin).
struct OutputTaskSpan {
  uint64_t task = 0;
  uint64_t first_range = 0;
  uint64_t end_range = 0;
  uint64_t records = 0;
  uint64_t origin = 0;
};

class Breaker : public Operator {
 public:
  OperatorRole role() const override { return OperatorRole::kBreaker; }
  std::string RankLimit() const override {
    return "a pipeline breaker does not run across MPI ranks yet";
  }
  std::string TaskLimit() const override {
    return "a pipeline breaker that cannot divide its work into tasks";
  }
  virtual std::unique_ptr<BreakerRun> Open(const OpenContext& ctx) const = 0;

  // A breaker whose TaskLimit() is "" runs a checkpointed run (docs/resume.md) in tasks: pass 1
  // is one input task per input slice, each writing its records, divided among KeyRanges()
  // fixed ranges of the output order, to its own folder; pass 2's output tasks are runs of
  // consecutive ranges (GroupRanges, once pass 1 is done), each reading its share from every
  // input task's folder and emitting it. Each task may run in another process.

  /// The number of key ranges for an input of `input_bytes` (a pure function of it and the
  /// run's options; the checkpoint fixes it at its first run).
  virtual uint64_t KeyRanges(const ExecContext& /*ctx*/, uint64_t /*input_bytes*/) const {
    return 0;
  }
  /// The writer of one input task into `folder` (empty), for `ranges` key ranges. `previous`:
  /// the finished writer of this process's previous input task (null for the first), whose
  /// memory the new one may take over: memory used again is far cheaper than fresh memory.
  virtual std::unique_ptr<InputTaskWriter> OpenInputTask(
      const OpenContext& /*ctx*/, const std::filesystem::path& /*folder*/, uint64_t /*ranges*/,
      std::unique_ptr<InputTaskWriter> /*previous*/) const {
    return nullptr;
  }
  /// Check the records that an input task's writer left in `folder` (for `ranges` key ranges),
  /// reading them whole; throws CorruptionError naming what is damaged. The files of an input
  /// task are not synced (their checksums are): a resumed run checks those of the tasks
  /// committed on another boot of the machine, or on another machine, and does again those
  /// that fail.
  virtual void CheckInputTask(const std::filesystem::path& /*folder*/, uint64_t /*ranges*/) const {}
  /// The output tasks, given the records and their bytes that pass 1 gave each key range: the
  /// first range of each, in order (a pure function of them and the run's options; the
  /// checkpoint fixes it once pass 1 is done).
  virtual std::vector<uint64_t> GroupRanges(const ExecContext& /*ctx*/,
                                            const std::vector<uint64_t>& /*records*/,
                                            const std::vector<uint64_t>& /*bytes*/) const {
    return {};
  }
  /// The reader of output task `task` (of `ranges` key ranges): its records from the folders of
  /// every input task (`inputs`, in input order). `next`: the output task this process opens
  /// after it, when there is one (the reader may load its records meanwhile). `previous`: the
  /// finished reader of this process's previous output task (null for the first), whose memory
  /// (and load of this task) it may take over.
  virtual std::unique_ptr<BatchReader> OpenOutputTask(
      const OpenContext& /*ctx*/, const OutputTaskSpan& /*task*/, uint64_t /*ranges*/,
      const std::vector<std::filesystem::path>& /*inputs*/,
      const std::optional<OutputTaskSpan>& /*next*/,
      std::unique_ptr<BatchReader> /*previous*/) const {
    return nullptr;
  }
};

}  // namespace corpusflow
