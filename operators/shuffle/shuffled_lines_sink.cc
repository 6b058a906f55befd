#include "operators/shuffle/shuffled_lines_sink.h"

#include <algorithm>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"
#include "engine/stats.h"
#include "operators/io/write.h"
#include "operators/shuffle/shuffle.h"

namespace corpusflow {

namespace {

class ShuffledLinesWriter : public BatchWriter {
 public:
  ShuffledLinesWriter(const ShuffledLinesSink& sink, std::vector<std::string> columns,
                      std::vector<std::string> outputs, uint64_t shards, uint64_t total,
                      ExecContext& ctx, OperatorStats& stats)
      : sink_(sink),
        ctx_(ctx),
        columns_(std::move(columns)),
        outputs_(std::move(outputs)),
        shards_(std::max<uint64_t>(shards, 1)),
        total_(total),
        stats_(stats),
        streams_(outputs_.size()),
        buffers_(outputs_.size()) {
    Open(0);
  }

  void Write(Batch& batch, OpState* /*local*/) override {
    const size_t n = batch.num_records();
    std::vector<const StringColumn*> columns;
    for (const std::string& name : columns_) columns.push_back(&batch.GetString(name));
    size_t i = 0;
    while (i < n) {
      // Records up to the end of the current shard.
      const uint64_t end = ShardEnd(shard_);
      if (written_ >= end && shard_ + 1 < shards_) {
        Open(shard_ + 1);
        continue;
      }
      const size_t take = static_cast<size_t>(
          std::min<uint64_t>(n - i, shard_ + 1 < shards_ ? end - written_ : n - i));
      for (size_t c = 0; c < columns.size(); ++c) {
        std::string& buffer = buffers_[c];
        for (size_t r = i; r < i + take; ++r) {
          buffer.append((*columns[c])[r]);
          buffer.push_back('\n');
        }
        if (buffer.size() >= (1 << 20)) Flush(c);
      }
      i += take;
      written_ += take;
    }
  }

  void Finish() override {
    // Every shard exists, even an empty one.
    while (shard_ + 1 < shards_) Open(shard_ + 1);
    for (size_t c = 0; c < streams_.size(); ++c) {
      Flush(c);
      streams_[c].back()->Close();
    }
    // Every shard of every output is committed with the run's other outputs, together, once
    // the whole run succeeded: paired outputs and shards never appear one without the other.
    for (auto& per_output : streams_) {
      for (auto& stream : per_output) ctx_.DeferCommit(DeferOutput(std::move(stream)));
    }
    stats_.SetText("output",
                   outputs_.size() == 1 ? outputs_[0] : std::to_string(outputs_.size()) + " files");
  }

 private:
  uint64_t ShardEnd(uint64_t shard) const {
    if (shards_ == 1) return UINT64_MAX;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(total_) * (shard + 1)) / shards_);
  }

  void Flush(size_t c) {
    if (buffers_[c].empty()) return;
    streams_[c].back()->Write(buffers_[c]);
    buffers_[c].clear();
  }

  void Open(uint64_t shard) {
    for (size_t c = 0; c < outputs_.size(); ++c) {
      if (!streams_[c].empty()) {
        Flush(c);
        streams_[c].back()->Close();
      }
      OutputOptions options;
      options.run_files = ctx_.run_files();
      streams_[c].push_back(CreateOutput(sink_.ShardPath(outputs_[c], shard), options));
    }
    shard_ = shard;
  }

  const ShuffledLinesSink& sink_;
  ExecContext& ctx_;
  std::vector<std::string> columns_;
  std::vector<std::string> outputs_;
  uint64_t shards_;
  uint64_t total_;
  OperatorStats& stats_;
  std::vector<std::vector<std::unique_ptr<OutputStream>>> streams_;
  std::vector<std::string> buffers_;
  uint64_t shard_ = 0;
  uint64_t written_ = 0;
};

}  // namespace

ShuffledLinesSink::ShuffledLinesSink(std::vector<std::string> columns,
                                     std::vector<std::string> outputs, uint64_t shards,
                                     const ShuffleTally* tally)
    : columns_(std::move(columns)), outputs_(std::move(outputs)), shards_(shards), tally_(tally) {
  if (columns_.size() != outputs_.size() || columns_.empty()) {
    throw InvalidArgument("one output per field is needed");
  }
  CF_CHECK(shards_ <= 1 || tally_ != nullptr,
           "ShuffledLinesSink: contiguous shards need the shuffle's tally");
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
}

Schema ShuffledLinesSink::OutputSchema(const Schema& input) const {
  for (const std::string& c : columns_) input.Require(c, FieldType::kString, "shuffle output");
  return input;
}

std::vector<std::string> ShuffledLinesSink::OutputPaths(const Schema& /*input*/) const {
  std::vector<std::string> paths;
  for (const std::string& out : outputs_) {
    if (out == "-") continue;
    for (uint64_t shard = 0; shard < std::max<uint64_t>(shards_, 1); ++shard) {
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
  if (shards_ > 1) text += " in " + std::to_string(shards_) + " contiguous shards each";
  return text;
}

std::string ShuffledLinesSink::ShardPath(const std::string& path, uint64_t shard) const {
  return shards_ > 1 ? WriteOperator::ShardPath(path, shard, shards_) : path;
}

std::unique_ptr<BatchWriter> ShuffledLinesSink::Open(const OpenContext& ctx) const {
  uint64_t total = 0;
  if (shards_ > 1) {
    CF_CHECK(tally_->finished.load(),
             "ShuffledLinesSink opened before the shuffle finished pass 1");
    total = tally_->records.load();
  }
  return std::make_unique<ShuffledLinesWriter>(*this, columns_, outputs_, shards_, total, ctx.exec,
                                               ctx.stats);
}

}  // namespace corpusflow
