#include "operators/formats/sample_sink.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "engine/io/paths.h"
#include "engine/progress.h"

namespace corpusflow {

SampleSinkRun::SampleSinkRun(std::string who, SampleFields fields, int64_t max_id,
                             ShardPolicy policy, const OpenContext& open,
                             std::vector<std::unique_ptr<SampleShardWriter>> writers)
    : who_(std::move(who)),
      fields_(std::move(fields)),
      max_id_(max_id),
      ctx_(open.exec),
      stats_(open.stats),
      dealer_(policy, writers.size(), open.input.records, who_),
      writers_(std::move(writers)) {}

void SampleSinkRun::Write(Batch& batch, OpState* /*local*/) {
  const SampleColumns columns(batch, fields_);
  const size_t n = batch.num_records();
  for (size_t i = 0; i < n; ++i) {
    const SampleView sample = columns[i];
    const uint64_t record = next_record_ + i;
    CheckSample(sample, fields_, max_id_, record, who_);
    const uint64_t shard = dealer_.shard();
    dealer_.Advance(true);
    writers_[shard]->Add(sample, record);
    tokens_ += sample.ids.size();
    DocumentEnds(sample, &ends_);
    documents_ += ends_.size();
    padding_ += PaddingTokens(sample);
    for (const int32_t v : sample.loss_mask) loss_tokens_ += static_cast<uint64_t>(v);
  }
  next_record_ += n;
}

void SampleSinkRun::Finish() {
  const double start = MonotonicSeconds();
  for (auto& writer : writers_) writer->Finish(ctx_, stats_);
  stats_.Add("samples", next_record_);
  stats_.Add("tokens", tokens_);
  stats_.Add("documents", documents_);
  stats_.Add("padding_tokens", padding_);
  if (!fields_.loss_mask.empty()) stats_.Add("loss_tokens", loss_tokens_);
  stats_.Set("finish_seconds", MonotonicSeconds() - start);
}

int64_t MaxIdForWidth(int width, int64_t vocab_size) {
  const int64_t by_width = width == 1   ? 255
                           : width == 2 ? 65535
                                        : int64_t{std::numeric_limits<int32_t>::max()};
  return vocab_size > 0 ? std::min(vocab_size - 1, by_width) : by_width;
}

SampleSinkOperator::SampleSinkOperator(SampleSinkOptions options) : sink_(std::move(options)) {
  CheckSampleSinkOptions(sink_);
}

void SampleSinkOperator::Validate(const PlanContext& /*ctx*/) const {
  // Every shard's name only adds to the prefix's end: one folder holds them all. A missing
  // folder is created by the run (AtomicOutput): its nearest existing ancestor must be writable.
  const std::string file = FirstFile(OutputPrefix(0));
  CheckOutputFolder(std::filesystem::path(file).parent_path(), "cannot write " + file);
}

SampleFields SampleSinkOperator::PlanFields(const Schema& input) const {
  return PlanSampleFields(input, sink_.fields, name());
}

std::string SampleSinkOperator::OutputPrefix(uint32_t shard) const {
  return ShardPrefix(sink_.prefix, shard, sink_.shards);
}

std::string SampleSinkOperator::ShardsPhrase() const {
  if (sink_.shards <= 1) return "";
  return " in " + std::to_string(sink_.shards) + " " +
         std::string(ShardPolicyName(sink_.shard_policy)) + " shards";
}

std::unique_ptr<BatchWriter> SampleSinkOperator::Open(const OpenContext& ctx) const {
  const SampleFields fields = PlanFields(ctx.input_schema);
  std::vector<std::unique_ptr<SampleShardWriter>> writers;
  for (uint32_t shard = 0; shard < sink_.shards; ++shard) {
    writers.push_back(MakeShardWriter(OutputPrefix(shard), fields, ctx));
  }
  return std::make_unique<SampleSinkRun>(name(), fields, MaxId(fields), sink_.shard_policy, ctx,
                                         std::move(writers));
}

}  // namespace corpusflow
