#include "tests/testing/pipeline_testing.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "engine/error.h"
#include "engine/executor.h"
#include "operators/shuffle/shuffle_keys.h"

namespace corpusflow::testing {
namespace {

/// SplitMix64's output for state `z`: the golden-ratio increment, then Mix64.
uint64_t SplitMix64(uint64_t z) { return Mix64(z + 0x9e3779b97f4a7c15ULL); }

class VectorReader : public BatchReader {
 public:
  VectorReader(const std::vector<std::string>& records, size_t batch_records,
               const std::string& field, std::atomic<uint64_t>& produced)
      : records_(records), batch_records_(batch_records), field_(field), produced_(produced) {}

  bool Next(Batch* out) override {
    if (next_ >= records_.size()) return false;
    out->Reset();
    StringColumn& column = out->AddString(field_);
    const size_t end = std::min(records_.size(), next_ + batch_records_);
    for (; next_ < end; ++next_) column.Append(records_[next_]);
    ++produced_;
    return true;
  }

 private:
  const std::vector<std::string>& records_;
  size_t batch_records_;
  const std::string& field_;
  std::atomic<uint64_t>& produced_;
  size_t next_ = 0;
};

class BatchListReader : public BatchReader {
 public:
  explicit BatchListReader(const std::vector<Batch>& batches) : batches_(batches) {}

  bool Next(Batch* out) override {
    if (next_ >= batches_.size()) return false;
    *out = batches_[next_++];
    return true;
  }

 private:
  const std::vector<Batch>& batches_;
  size_t next_ = 0;
};

FieldValue ValueOf(const Column& column, size_t i) {
  return std::visit(
      [i](const auto& data) -> FieldValue {
        using T = std::decay_t<decltype(data)>;
        if constexpr (std::is_same_v<T, StringColumn>) {
          return std::string(data[i]);
        } else if constexpr (std::is_same_v<T, StringListColumn>) {
          std::vector<std::string> items;
          for (size_t j = 0; j < data.ItemCount(i); ++j) items.emplace_back(data.Item(i, j));
          return items;
        } else if constexpr (std::is_same_v<T, Int32ListListColumn>) {
          std::vector<std::vector<int32_t>> lists;
          for (size_t j = 0; j < data.ItemCount(i); ++j) {
            const auto ids = data.Item(i, j);
            lists.emplace_back(ids.begin(), ids.end());
          }
          return lists;
        } else {
          const auto ids = data[i];
          return std::vector<int32_t>(ids.begin(), ids.end());
        }
      },
      column.data);
}

class CollectingWriter : public BatchWriter {
 public:
  CollectingWriter(CollectedOutput* output, const CollectingSinkOptions& options)
      : output_(output), options_(options) {}
  ~CollectingWriter() override {
    std::lock_guard lock(output_->mu);
    output_->destroyed = true;
  }

  bool ordered() const override { return options_.ordered; }

  void Write(Batch& batch, OpState* /*local*/) override {
    std::lock_guard lock(output_->mu);
    output_->sequences.push_back(batch.sequence());
    output_->first_records.push_back(batch.first_record());
    const size_t n = batch.num_records();
    output_->batch_records.push_back(n);
    if (!options_.field.empty()) {
      const StringColumn& column = batch.GetString(options_.field);
      for (size_t i = 0; i < n; ++i) output_->texts.emplace_back(column[i]);
    }
    if (options_.all_fields) {
      for (size_t i = 0; i < n; ++i) {
        CollectedRecord record;
        for (const Column& column : batch.columns()) {
          record.fields.emplace_back(column.field.name, ValueOf(column, i));
        }
        output_->records.push_back(std::move(record));
      }
    }
  }

  void Finish() override {
    std::lock_guard lock(output_->mu);
    output_->finished = true;
  }

 private:
  CollectedOutput* output_;
  const CollectingSinkOptions& options_;
};

class JitterRun : public TransformRun {
 public:
  JitterRun(uint64_t seed, uint32_t max_micros) : seed_(seed), max_micros_(max_micros) {}
  void Apply(Batch& batch, OpState* /*local*/) override {
    if (max_micros_ == 0) return;
    const uint64_t micros = SplitMix64(seed_ ^ SplitMix64(batch.sequence())) % (max_micros_ + 1);
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

 private:
  uint64_t seed_;
  uint32_t max_micros_;
};

class FailingRun : public TransformRun {
 public:
  FailingRun(uint64_t fail_at_batch, const std::string& message)
      : fail_at_batch_(fail_at_batch), message_(message) {}
  void Apply(Batch& batch, OpState* /*local*/) override {
    if (batch.sequence() == fail_at_batch_) {
      throw DataError(message_ + " (batch " + std::to_string(fail_at_batch_) + ")");
    }
  }

 private:
  uint64_t fail_at_batch_;
  const std::string& message_;
};

class PredicateRun : public TransformRun {
 public:
  PredicateRun(const std::function<bool(std::string_view)>& keep, const std::string& field,
               OperatorStats& stats)
      : keep_(keep), field_(field), stats_(stats) {}
  void Apply(Batch& batch, OpState* /*local*/) override {
    const StringColumn& column = batch.GetString(field_);
    std::vector<bool> keep(column.size());
    uint64_t dropped = 0;
    for (size_t i = 0; i < column.size(); ++i) {
      keep[i] = keep_(column[i]);
      dropped += keep[i] ? 0 : 1;
    }
    if (dropped == 0) return;
    batch.KeepRecords(keep);
    stats_.Drop("predicate", dropped);
  }

 private:
  const std::function<bool(std::string_view)>& keep_;
  const std::string& field_;
  OperatorStats& stats_;
};

class RecordIndexRun : public TransformRun {
 public:
  explicit RecordIndexRun(const std::string& field) : field_(field) {}
  void Apply(Batch& batch, OpState* /*local*/) override {
    const size_t n = batch.num_records();
    StringColumn& column = batch.AddString(field_);
    for (size_t i = 0; i < n; ++i) column.Append(std::to_string(batch.first_record() + i));
  }

 private:
  const std::string& field_;
};

class BufferingRun : public BreakerRun {
 public:
  void Write(Batch& batch, OpState* /*local*/) override { batches_.push_back(batch); }
  void Finish() override {}
  std::unique_ptr<BatchReader> OpenOutput() override {
    return std::make_unique<BatchListReader>(batches_);
  }
  /// It replays every record it consumed.
  InputEstimate OutputEstimate(const InputEstimate& consumed) const override { return consumed; }

 private:
  std::vector<Batch> batches_;
};

}  // namespace

VectorSource::VectorSource(std::vector<std::string> records, size_t batch_records,
                           std::string field)
    : records_(std::move(records)), batch_records_(batch_records), field_(std::move(field)) {
  if (batch_records_ == 0) throw std::invalid_argument("VectorSource: batch_records must be > 0");
  set_name("vector-source");
}

Schema VectorSource::OutputSchema(const Schema& /*input*/) const {
  return Schema({Field{field_, FieldType::kString}});
}

std::string VectorSource::Describe() const {
  return std::to_string(records_.size()) + " records, " + std::to_string(batch_records_) +
         " per batch -> " + field_;
}

std::optional<uint64_t> VectorSource::TotalBytes() const {
  uint64_t total = 0;
  for (const std::string& r : records_) total += r.size() + 1;
  return total;
}

std::unique_ptr<BatchReader> VectorSource::Open(const OpenContext& /*ctx*/) const {
  batches_produced_ = 0;
  return std::make_unique<VectorReader>(records_, batch_records_, field_, batches_produced_);
}

BatchSource::BatchSource(std::vector<Batch> batches) : batches_(std::move(batches)) {
  set_name("batch-source");
}

Schema BatchSource::OutputSchema(const Schema& /*input*/) const {
  return batches_.empty() ? Schema() : batches_.front().schema();
}

std::unique_ptr<BatchReader> BatchSource::Open(const OpenContext& /*ctx*/) const {
  return std::make_unique<BatchListReader>(batches_);
}

const FieldValue& CollectedRecord::Get(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field == name) return value;
  }
  throw std::out_of_range("collected record has no field '" + std::string(name) + "'");
}

CollectingSink::CollectingSink(CollectedOutput* output, CollectingSinkOptions options)
    : output_(output), options_(std::move(options)) {
  set_name("collect");
}

Schema CollectingSink::OutputSchema(const Schema& input) const {
  if (!options_.field.empty()) input.Require(options_.field, FieldType::kString, "collect");
  return input;
}

std::unique_ptr<BatchWriter> CollectingSink::Open(const OpenContext& ctx) const {
  output_->input = ctx.input;
  return std::make_unique<CollectingWriter>(output_, options_);
}

JitterTransform::JitterTransform(uint64_t seed, uint32_t max_micros)
    : seed_(seed), max_micros_(max_micros) {
  set_name("jitter");
}

std::unique_ptr<TransformRun> JitterTransform::Open(const OpenContext& /*ctx*/) const {
  return std::make_unique<JitterRun>(seed_, max_micros_);
}

FailingTransform::FailingTransform(uint64_t fail_at_batch, std::string message)
    : fail_at_batch_(fail_at_batch), message_(std::move(message)) {
  set_name("fail");
}

std::unique_ptr<TransformRun> FailingTransform::Open(const OpenContext& /*ctx*/) const {
  return std::make_unique<FailingRun>(fail_at_batch_, message_);
}

PredicateFilter::PredicateFilter(std::function<bool(std::string_view)> keep, std::string field)
    : keep_(std::move(keep)), field_(std::move(field)) {
  set_name("predicate");
}

Schema PredicateFilter::OutputSchema(const Schema& input) const {
  input.Require(field_, FieldType::kString, "predicate");
  return input;
}

std::unique_ptr<TransformRun> PredicateFilter::Open(const OpenContext& ctx) const {
  return std::make_unique<PredicateRun>(keep_, field_, ctx.stats);
}

RecordIndexTransform::RecordIndexTransform(std::string field) : field_(std::move(field)) {
  set_name("record-index");
}

Schema RecordIndexTransform::OutputSchema(const Schema& input) const {
  Schema out = input;
  out.Set(Field{field_, FieldType::kString});
  return out;
}

std::unique_ptr<TransformRun> RecordIndexTransform::Open(const OpenContext& /*ctx*/) const {
  return std::make_unique<RecordIndexRun>(field_);
}

BufferingBreaker::BufferingBreaker() { set_name("buffer"); }

std::unique_ptr<BreakerRun> BufferingBreaker::Open(const OpenContext& /*ctx*/) const {
  return std::make_unique<BufferingRun>();
}

RunOptions TestRunOptions(int threads, uint64_t memory_bytes, uint64_t batch_bytes) {
  RunOptions options;
  options.threads = threads;
  options.memory_bytes = memory_bytes;
  options.batch_bytes = batch_bytes;
  options.progress = ProgressMode::kNever;
  return options;
}

PlanContext TestPlanContext(const RunOptions& options) { return MakePlanContext(options); }

Plan RunChain(std::vector<std::unique_ptr<Operator>> chain, const RunOptions& options,
              RunStats* stats) {
  Plan plan = Plan::Build(std::move(chain), TestPlanContext(options));
  ExecContext ctx(options);
  RunStats local_stats;
  Execute(plan, ctx, stats != nullptr ? *stats : local_stats);
  return plan;
}

Plan RunChain(std::vector<std::unique_ptr<Operator>> chain, ExecContext& ctx, RunStats* stats) {
  Plan plan = Plan::Build(std::move(chain), TestPlanContext(ctx.options()));
  RunStats local_stats;
  Execute(plan, ctx, stats != nullptr ? *stats : local_stats);
  return plan;
}

std::vector<std::string> ShuffleKeyOrder(const std::vector<std::string>& records, uint64_t seed) {
  const ShuffleKeys keys(seed);
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return keys.Key(a) < keys.Key(b); });
  std::vector<std::string> out;
  for (size_t i : order) out.push_back(records[i]);
  return out;
}

}  // namespace corpusflow::testing
