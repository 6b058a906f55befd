#include "operators/io/tee.h"

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The copy, finished only once the whole run has succeeded: its writer's Finish() runs when the
/// run's CommitGroup prepares, and hands the writer's files to the same group, which renames
/// them with the run's other outputs.
class TeeCommit : public DeferredCommit {
 public:
  explicit TeeCommit(std::unique_ptr<BatchWriter> writer) : writer_(std::move(writer)) {}
  void Prepare() override { writer_->Finish(); }
  void Commit() override {}

 private:
  std::unique_ptr<BatchWriter> writer_;
};

/// Runs the inner sink's writer inside the stream: one local state, Write called serially.
class TeeRun : public TransformRun {
 public:
  TeeRun(std::unique_ptr<BatchWriter> writer, ExecContext& ctx)
      : writer_(std::move(writer)), local_(writer_->MakeLocalState()), ctx_(ctx) {}

  bool serial() const override { return true; }
  void Apply(Batch& batch, OpState* /*local*/) override { writer_->Write(batch, local_.get()); }
  /// The inner writer's local state is combined at the end of this pipeline; the writer is
  /// finished at the end of the run, after the main sink: a later pipeline that fails (after a
  /// breaker) or a main sink that fails to commit leaves no copy behind.
  void Finish() override {
    if (local_ != nullptr) writer_->Combine(*local_);
    local_.reset();
    ctx_.DeferCommit(std::make_unique<TeeCommit>(std::move(writer_)));
  }

 private:
  std::unique_ptr<BatchWriter> writer_;
  std::unique_ptr<OpState> local_;
  ExecContext& ctx_;
};

}  // namespace

TeeOperator::TeeOperator(std::unique_ptr<Sink> inner) : inner_(std::move(inner)) {}

std::unique_ptr<TeeOperator> TeeOperator::FromArgs(const std::vector<std::string>& args) {
  if (args.empty()) {
    throw InvalidArgument("missing output; usage: tee PATH [write options] or tee SINK [options]");
  }
  const OperatorRegistry& registry = OperatorRegistry::Global();
  std::string sink_name = "write";
  std::vector<std::string> sink_args = args;
  if (const OperatorDef* def = registry.Find(args.front())) {
    if (def->role != OperatorRole::kSink) {
      throw InvalidArgument("'" + def->name + "' is a " + std::string(RoleName(def->role)) +
                            ", not a sink; tee copies the stream to a sink such as 'write PATH' "
                            "(write ./" +
                            def->name + " for a file of that name)");
    }
    sink_name = def->name;
    sink_args.erase(sink_args.begin());
  } else if (registry.Find(sink_name) == nullptr) {
    throw InvalidArgument("no 'write' operator is registered to write '" + args.front() + "'");
  }
  std::unique_ptr<Operator> op = registry.Create(sink_name, sink_args);
  if (op->role() != OperatorRole::kSink) {
    throw InvalidArgument("'" + sink_name + "' is not a sink");
  }
  return std::make_unique<TeeOperator>(std::unique_ptr<Sink>(static_cast<Sink*>(op.release())));
}

void TeeOperator::Validate(const PlanContext& ctx) const { inner_->Validate(ctx); }

Schema TeeOperator::OutputSchema(const Schema& input) const {
  inner_->OutputSchema(input);
  return input;
}

std::string TeeOperator::Describe() const {
  return "copy the stream to " + inner_->name() + ": " + inner_->Describe();
}

std::string TeeOperator::DescribePlanned(const Schema& input) const {
  return "copy the stream to " + inner_->name() + ": " + inner_->DescribePlanned(input);
}

bool TeeOperator::NeedsRecordIndex() const { return inner_->NeedsRecordIndex(); }

std::vector<std::string> TeeOperator::InputPaths() const { return inner_->InputPaths(); }

std::vector<std::string> TeeOperator::OutputPaths(const Schema& input) const {
  return inner_->OutputPaths(input);
}

std::unique_ptr<TransformRun> TeeOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<TeeRun>(inner_->Open(ctx), ctx.exec);
}

static const OperatorRegistrar kRegisterTee(OperatorDef{
    .name = "tee",
    .role = OperatorRole::kTransform,
    .synopsis = "tee PATH [write options] | tee SINK [options]",
    .summary = "Copy the stream to a second sink and pass it on unchanged",
    .details =
        "`tee out.txt` writes every record that reaches it to out.txt (like `write out.txt`) "
        "and passes the stream on to the next stage unchanged; `tee out.jsonl.zst --level 9` "
        "takes write's options. When the first argument names a registered sink, tee wraps "
        "that sink with the remaining arguments (`tee write-megatron ...`); write `./NAME` for "
        "a file named like an operator. The copy is committed when the run succeeds and left "
        "out entirely when it fails.",
    .describe =
        [](OptionSet& o) {
          o.hidden.add_options()("args", po::value<std::vector<std::string>>(),
                                 "the sink and its arguments");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      return TeeOperator::FromArgs(v["args"].as<std::vector<std::string>>());
    },
    .raw_args = true,
});

}  // namespace corpusflow
