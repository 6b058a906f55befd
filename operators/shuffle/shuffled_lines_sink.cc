#include "operators/shuffle/shuffled_lines_sink.h"

#include <algorithm>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"
#include "engine/sharding.h"
#include "engine/stats.h"

namespace corpusflow {

namespace {

class ShuffledLinesWriter : public BatchWriter {
 public:
  ShuffledLinesWriter(const ShuffledLinesSink& sink, std::vector<std::string> columns,
                      std::vector<std::string> outputs, ShardPolicy policy, ShardDealer dealer,
                      ExecContext& ctx)
      : sink_(sink),
        ctx_(ctx),
        columns_(std::move(columns)),
        outputs_(std::move(outputs)),
        dealer_(dealer),
        contiguous_(policy == ShardPolicy::kContiguous),
        streams_(outputs_.size()),
        buffers_(outputs_.size()) {
    for (size_t c = 0; c < outputs_.size(); ++c) {
      streams_[c].resize(dealer_.shards());
      buffers_[c].resize(dealer_.shards());
    }
    // Round-robin writes every shard at once; contiguous pieces one after the other, each
    // closed once the order has passed it, so only one file per output is open at a time.
    OpenThrough(policy == ShardPolicy::kRoundRobin ? dealer_.shards() - 1 : 0);
  }

  void Write(Batch& batch, OpState* /*local*/) override {
    const size_t n = batch.num_records();
    std::vector<const StringColumn*> columns;
    for (const std::string& name : columns_) columns.push_back(&batch.GetString(name));
    size_t i = 0;
    while (i < n) {
      // The records that go to the current shard in a row.
      const uint64_t shard = dealer_.shard();
      OpenThrough(shard);
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n - i, dealer_.RunLength()));
      for (size_t c = 0; c < columns.size(); ++c) {
        std::string& buffer = buffers_[c][shard];
        for (size_t r = i; r < i + take; ++r) {
          buffer.append((*columns[c])[r]);
          buffer.push_back(sink_.delimiter());
        }
        if (buffer.size() >= (1 << 20)) Flush(c, shard);
      }
      dealer_.AdvanceRun(take);
      i += take;
    }
  }

  void Finish() override {
    // Every shard exists, even an empty one.
    OpenThrough(dealer_.shards() - 1);
    for (size_t c = 0; c < streams_.size(); ++c) {
      for (uint64_t shard = 0; shard < dealer_.shards(); ++shard) Close(c, shard);
    }
    // Every shard of every output is committed with the run's other outputs, together, once
    // the whole run succeeded: paired outputs and shards never appear one without the other.
    for (auto& per_output : streams_) {
      for (auto& stream : per_output) ctx_.DeferCommit(DeferOutput(std::move(stream)));
    }
  }

 private:
  /// Create the files of every shard up to `last`; under the contiguous policy, close those
  /// before `last` (the order has passed them).
  void OpenThrough(uint64_t last) {
    for (; opened_ <= last; ++opened_) {
      for (size_t c = 0; c < outputs_.size(); ++c) {
        if (contiguous_ && opened_ > 0) Close(c, opened_ - 1);
        OutputOptions options = sink_.output_options();
        options.run_files = ctx_.run_files();
        streams_[c][opened_] = CreateOutput(sink_.ShardPath(outputs_[c], opened_), options);
      }
    }
  }

  void Close(size_t c, uint64_t shard) {
    Flush(c, shard);
    streams_[c][shard]->Close();  // idempotent
  }

  void Flush(size_t c, uint64_t shard) {
    std::string& buffer = buffers_[c][shard];
    if (buffer.empty()) return;
    streams_[c][shard]->Write(buffer);
    buffer.clear();
  }

  const ShuffledLinesSink& sink_;
  ExecContext& ctx_;
  std::vector<std::string> columns_;
  std::vector<std::string> outputs_;
  ShardDealer dealer_;
  const bool contiguous_;
  /// Shards whose files exist: [0, opened_).
  uint64_t opened_ = 0;
  /// Per output, per shard.
  std::vector<std::vector<std::unique_ptr<OutputStream>>> streams_;
  std::vector<std::vector<std::string>> buffers_;
};

}  // namespace

ShuffledLinesSink::ShuffledLinesSink(std::vector<std::string> columns,
                                     std::vector<std::string> outputs, uint64_t shards,
                                     ShardPolicy policy, char delimiter, OutputOptions output)
    : columns_(std::move(columns)),
      outputs_(std::move(outputs)),
      shards_(std::max<uint64_t>(shards, 1)),
      policy_(policy),
      delimiter_(delimiter),
      output_(std::move(output)) {
  if (columns_.size() != outputs_.size() || columns_.empty()) {
    throw InvalidArgument("one output per field is needed");
  }
  for (const std::string& out : outputs_) {
    const Compression compression =
        output_.compression.value_or(out == "-" ? Compression::kNone : CompressionFromPath(out));
    CheckCompressionLevel(compression, output_.level, "--level",
                          out == "-" ? std::string("stdout") : out);
  }
  if (shards_ > 1) {
    for (const std::string& out : outputs_) {
      if (out == "-") throw InvalidArgument("--shards needs output files, not stdout");
    }
  }
}

void ShuffledLinesSink::Validate(const PlanContext& /*ctx*/) const {
  size_t stdout_count = 0;
  for (const std::string& out : outputs_) {
    if (out == "-") {
      ++stdout_count;
    } else {
      CheckOutputWritable(out);
    }
  }
  if (stdout_count > 1) throw InvalidArgument("only one output can be stdout ('-')");
  // Round-robin keeps every shard of every output open; contiguous one per output at a time.
  if (policy_ == ShardPolicy::kRoundRobin) {
    CheckShardsFitOpenFiles(shards_, outputs_.size(), "shuffle");
  }
}

Schema ShuffledLinesSink::OutputSchema(const Schema& input) const {
  for (const std::string& c : columns_) input.Require(c, FieldType::kString, "shuffle output");
  return input;
}

std::vector<std::string> ShuffledLinesSink::OutputPaths(const Schema& /*input*/) const {
  std::vector<std::string> paths;
  for (const std::string& out : outputs_) {
    if (out == "-") continue;
    for (uint64_t shard = 0; shard < shards_; ++shard) {
      paths.push_back(ShardPath(out, shard));
    }
  }
  return paths;
}

std::string ShuffledLinesSink::Describe() const {
  std::string text = "write lines to ";
  for (size_t i = 0; i < outputs_.size(); ++i) {
    text += (i > 0 ? ", " : "") + (outputs_[i] == "-" ? std::string("stdout") : outputs_[i]);
  }
  if (shards_ > 1) {
    text += " in " + std::to_string(shards_) + " " + std::string(ShardPolicyName(policy_)) +
            " shards each";
  }
  if (delimiter_ == '\0') text += ", each line ending at NUL";
  if (output_.compression) text += ", " + std::string(CompressionName(*output_.compression));
  if (output_.level != 0) text += ", compression level " + std::to_string(output_.level);
  return text;
}

std::string ShuffledLinesSink::ShardPath(const std::string& path, uint64_t shard) const {
  return ShardFilePath(path, shard, shards_);
}

std::string ShuffledLinesSink::TaskLimit() const {
  for (const std::string& output : outputs_) {
    if (output == "-") return "stdout cannot be joined from the parts of several tasks (give -o)";
  }
  if (shards_ > 1) return "sharded output is not resumable yet (write one file)";
  return "";
}

std::string ShuffledLinesSink::RankLimit() const {
  for (const std::string& output : outputs_) {
    if (output == "-") return "stdout cannot be joined from the parts of several MPI ranks";
  }
  if (shards_ > 1) {
    return "sharded output across MPI ranks is not built yet (write one file, which the ranks "
           "join)";
  }
  return "";
}

std::unique_ptr<BatchWriter> ShuffledLinesSink::Open(const OpenContext& ctx) const {
  return std::make_unique<ShuffledLinesWriter>(
      *this, columns_, outputs_, policy_,
      ShardDealer(policy_, shards_, ctx.input.records, "shuffle"), ctx.exec);
}

}  // namespace corpusflow
