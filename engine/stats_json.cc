#include "engine/stats_json.h"

#include <optional>
#include <utility>

#include "engine/io/atomic_output.h"

namespace corpusflow {
namespace {

class StatsJsonCommit : public DeferredCommit {
 public:
  StatsJsonCommit(std::string path, const RunStats& stats, const ExecContext& ctx,
                  std::function<void()> finish)
      : path_(std::move(path)), stats_(stats), ctx_(ctx), finish_(std::move(finish)) {}

  void Prepare() override {
    if (finish_) finish_();
    out_.emplace(AtomicOutput::Create(path_, ctx_.run_files()));
    out_->Write(stats_.ToJson());
    out_->Close();
  }
  void Commit() override { out_->Commit(); }
  std::vector<PendingRename> Renames() const override {
    if (!out_ || out_->temp_path().empty()) return {};
    return {PendingRename{out_->temp_path(), out_->target()}};
  }

 private:
  std::string path_;
  const RunStats& stats_;
  const ExecContext& ctx_;
  std::function<void()> finish_;
  std::optional<AtomicOutput> out_;
};

}  // namespace

void RecordRunOutputs(const Plan& plan, const ExecContext& ctx, RunStats& stats) {
  std::vector<std::pair<int, OutputFile>> files;
  for (WrittenFile& f : ctx.written_outputs()) {
    files.emplace_back(f.owner, OutputFile{std::move(f.path), f.bytes});
  }
  std::vector<bool> is_sink;
  for (const auto& op : plan.operators()) is_sink.push_back(op->role() == OperatorRole::kSink);
  stats.RecordOutputs(files, is_sink);
}

void WriteStatsJson(const std::string& path, const RunStats& stats, const RunFiles& run) {
  AtomicOutput out = AtomicOutput::Create(path, run);
  out.Write(stats.ToJson());
  out.Commit();
}

std::unique_ptr<DeferredCommit> DeferStatsJson(std::string path, const RunStats& stats,
                                               const ExecContext& ctx,
                                               std::function<void()> finish) {
  return std::make_unique<StatsJsonCommit>(std::move(path), stats, ctx, std::move(finish));
}

}  // namespace corpusflow
