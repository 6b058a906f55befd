#include "operators/formats/write_mds.h"

#include <algorithm>
#include <filesystem>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/registry.h"
#include "engine/units.h"
#include "operators/formats/mds_format.h"
#include "operators/formats/sample_sink.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The largest size limit: shard offsets are uint32.
constexpr uint64_t kMaxSizeLimit = (uint64_t{1} << 32) - 1;

/// Which field a column holds.
enum class Role { kIds, kLossMask, kBoundaries };

/// One MDS folder (one output shard): its shard files as they fill, then its index.json.
class MdsFolderWriter : public SampleShardWriter {
 public:
  MdsFolderWriter(std::string folder, const SampleFields& fields, uint64_t size_limit,
                  std::string who, ExecContext& ctx)
      : folder_(std::move(folder)),
        columns_(WriteMdsOperator::Columns(fields)),
        config_(MdsConfigJson(columns_, size_limit)),
        size_limit_(size_limit),
        who_(std::move(who)),
        ctx_(ctx) {
    for (const std::string& c : columns_) {
      roles_.push_back(c == fields.ids         ? Role::kIds
                       : c == fields.loss_mask ? Role::kLossMask
                                               : Role::kBoundaries);
    }
    // The index is created now, so that a folder that cannot be written fails before any data.
    OutputOptions options;
    options.run_files = ctx.run_files();
    index_ = CreateOutput((std::filesystem::path(folder_) / "index.json").string(), options);
  }

  void Add(const SampleView& sample, uint64_t record) override {
    if (sample.ids.empty()) {
      throw DataError(who_ + ": record " + std::to_string(record + 1) +
                      " has no ids: MDS cannot encode an empty ndarray (filter empty records "
                      "out before write-mds)");
    }
    encoded_.clear();
    for (const Role role : roles_) {
      PutFixed32(&encoded_, static_cast<uint32_t>(MdsInt32ArraySize(Column(sample, role).size())));
    }
    for (const Role role : roles_) AppendMdsInt32Array(Column(sample, role), &encoded_);
    // MDSWriter: a new shard when this sample (and its 4-byte offset) would pass the limit.
    const uint64_t sample_size = encoded_.size() + 4;
    if (!sizes_.empty() && size_limit_ < ShardSize() + sample_size) Flush();
    if (encoded_.size() > kMaxSizeLimit - 4 * (sizes_.size() + 3) - config_.size() - data_.size()) {
      throw DataError(who_ + ": record " + std::to_string(record + 1) +
                      " does not fit an MDS shard (4 GiB at most)");
    }
    data_ += encoded_;
    sizes_.push_back(static_cast<uint32_t>(encoded_.size()));
  }

  void Finish(ExecContext& ctx, OperatorStats& stats) override {
    if (!sizes_.empty()) Flush();
    index_->Write(MdsIndexJson(entries_));
    ctx.DeferCommit(DeferOutput(std::move(index_)), CommitRank::kIndex);
    stats.Add("mds_shards", entries_.size());
  }

 private:
  static std::span<const int32_t> Column(const SampleView& sample, Role role) {
    switch (role) {
      case Role::kIds:
        return sample.ids;
      case Role::kLossMask:
        return sample.loss_mask;
      case Role::kBoundaries:
        return sample.boundaries;
    }
    return {};
  }

  /// The shard's size as MDSWriter counts it: the count, the config, the samples, and 4 bytes
  /// per sample (their offsets) and for the count; the extra final offset is not counted.
  uint64_t ShardSize() const {
    return 4 + 4 + config_.size() + data_.size() + 4 * static_cast<uint64_t>(sizes_.size());
  }

  /// Write the shard being filled and hand it to the run's commit.
  void Flush() {
    const uint64_t n = sizes_.size();
    std::string head;
    PutFixed32(&head, static_cast<uint32_t>(n));
    uint64_t offset = 4 + 4 * (n + 1) + config_.size();
    PutFixed32(&head, static_cast<uint32_t>(offset));
    for (const uint32_t size : sizes_) {
      offset += size;
      PutFixed32(&head, static_cast<uint32_t>(offset));
    }
    head += config_;
    const std::string basename = MdsShardName(entries_.size());
    OutputOptions options;
    options.run_files = ctx_.run_files();
    std::unique_ptr<OutputStream> shard =
        CreateOutput((std::filesystem::path(folder_) / basename).string(), options);
    shard->Write(head);
    shard->Write(data_);
    ctx_.DeferCommit(DeferOutput(std::move(shard)), CommitRank::kData);
    entries_.push_back(MdsShardEntryJson(columns_, size_limit_, basename, offset, n));
    data_.clear();
    sizes_.clear();
  }

  std::string folder_;
  std::vector<std::string> columns_;
  std::vector<Role> roles_;
  std::string config_;
  uint64_t size_limit_;
  std::string who_;
  ExecContext& ctx_;
  std::unique_ptr<OutputStream> index_;
  /// The samples of the shard being filled, and their sizes.
  std::string data_;
  std::vector<uint32_t> sizes_;
  std::string encoded_;
  /// index.json's entries of the shards written.
  std::vector<std::string> entries_;
};

}  // namespace

WriteMdsOperator::WriteMdsOperator(SampleSinkOptions options, uint64_t size_limit)
    : SampleSinkOperator(std::move(options)), size_limit_(size_limit) {
  if (size_limit_ == 0 || size_limit_ > kMaxSizeLimit) {
    throw InvalidArgument(
        "--size-limit must be between 1 byte and 4 GiB - 1 (MDS offsets are "
        "32-bit)");
  }
}

std::vector<std::string> WriteMdsOperator::Columns(const SampleFields& fields) {
  std::vector<std::string> columns = {fields.ids};
  if (!fields.loss_mask.empty()) columns.push_back(fields.loss_mask);
  if (!fields.boundaries.empty()) columns.push_back(fields.boundaries);
  std::sort(columns.begin(), columns.end());
  return columns;
}

std::string WriteMdsOperator::FirstFile(const std::string& prefix) const {
  return (std::filesystem::path(prefix) / "index.json").string();
}

int64_t WriteMdsOperator::MaxId(const SampleFields& fields) const {
  return MaxIdForWidth(4, fields.vocab_size);
}

void WriteMdsOperator::Validate(const PlanContext& ctx) const {
  SampleSinkOperator::Validate(ctx);
  const uint64_t buffers = size_limit_ * sink_options().shards;
  if (ctx.memory_bytes > 0 && buffers > ctx.memory_bytes / 2) {
    throw InvalidArgument(name() + ": --size-limit " + FormatBytes(size_limit_) + " x " +
                          std::to_string(sink_options().shards) +
                          " outputs holds more than half of --memory (" +
                          FormatBytes(ctx.memory_bytes) +
                          ") while a shard fills: give a smaller --size-limit or more memory");
  }
}

Schema WriteMdsOperator::OutputSchema(const Schema& input) const {
  PlanFields(input);
  // Each output holds its index.json and, while it commits, one temp file per shard.
  CheckShardsFitOpenFiles(sink_options().shards, 2, name());
  return input;
}

std::vector<std::string> WriteMdsOperator::OutputPaths(const Schema& /*input*/) const {
  std::vector<std::string> paths;
  for (uint32_t shard = 0; shard < sink_options().shards; ++shard) {
    paths.push_back(FirstFile(OutputPrefix(shard)));
  }
  return paths;
}

std::string WriteMdsOperator::Describe() const {
  return "write MDS shards " + sink_options().prefix + "/shard.*.mds (size limit " +
         FormatBytes(size_limit_) + ")" + ShardsPhrase();
}

std::string WriteMdsOperator::DescribePlanned(const Schema& input) const {
  std::string d = Describe() + ": columns";
  for (const std::string& c : Columns(PlanFields(input))) d += " " + c;
  return d + " as " + kMdsInt32Encoding;
}

std::unique_ptr<SampleShardWriter> WriteMdsOperator::MakeShardWriter(const std::string& prefix,
                                                                     const SampleFields& fields,
                                                                     const OpenContext& ctx) const {
  return std::make_unique<MdsFolderWriter>(prefix, fields, size_limit_, name(), ctx.exec);
}

static const OperatorRegistrar kRegisterWriteMds(OperatorDef{
    .name = "write-mds",
    .role = OperatorRole::kSink,
    .synopsis = "write-mds DIR [--field F] [--loss-mask F] [--boundaries F] [--vocab-size N] "
                "[--size-limit BYTES] [--shards N [--shard-policy P]]",
    .summary = "Write samples as MosaicML streaming MDS shards with index.json (version 2)",
    .details =
        "Writes DIR/shard.00000.mds, DIR/shard.00001.mds, ... and DIR/index.json as MosaicML "
        "streaming's MDSWriter does (no compression, no hashes), so StreamingDataset(local=DIR) "
        "reads it. One sample per record with one column per field written: the ids, and the "
        "loss mask and the boundaries (cu_seqlens) when the input has them, each "
        "ndarray:int32, columns sorted by name. A shard closes when the next sample would pass "
        "--size-limit (default 64M, MDSWriter's); it is held in memory until then. A record "
        "without ids is an error (MDS cannot encode an empty array). --shards N writes N "
        "folders DIR-0000k-of-0000N, each with its index.json. Files are temp files until the "
        "run succeeds, index.json last. docs/formats.md has the layout.",
    .describe =
        [](OptionSet& o) {
          DescribeSampleSinkOptions(o, "output folder");
          o.named.add_options()(
              "size-limit", ByteSizeValue(1, kMaxSizeLimit)->default_value(kMdsDefaultSizeLimit),
              "start a new shard before one would pass this size (K, M, G suffixes)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      return std::make_unique<WriteMdsOperator>(ParseSampleSinkOptions(v),
                                                v["size-limit"].as<uint64_t>());
    },
});

}  // namespace corpusflow
