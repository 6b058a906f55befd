#include "operators/formats/write_olmo.h"

#include <filesystem>
#include <limits>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/registry.h"
#include "operators/formats/olmo_format.h"
#include "operators/formats/sample_sink.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The files of one output (one shard).
class OlmoShardWriter : public SampleShardWriter {
 public:
  OlmoShardWriter(std::string prefix, int width, bool mask, int32_t eos, std::string who,
                  const RunFiles& run)
      : prefix_(std::move(prefix)),
        src_(std::filesystem::path(OlmoTokensPath(prefix_)).filename().string()),
        width_(width),
        eos_(eos),
        who_(std::move(who)) {
    OutputOptions options;
    options.run_files = run;
    tokens_ = CreateOutput(OlmoTokensPath(prefix_), options);
    if (mask) mask_ = CreateOutput(OlmoMaskPath(prefix_), options);
    metadata_ = CreateOutput(OlmoMetadataPath(prefix_), options);
  }

  void Add(const SampleView& sample, uint64_t record) override {
    const std::span<const int32_t> eos(&eos_, 1);
    const std::span<const int32_t> one(&kOne, 1);
    buffer_.clear();
    metadata_buffer_.clear();
    if (!sample.has_boundaries) {
      if (sample.ids.empty()) return;
      // One document: the EOS is appended unless the record already ends with it.
      const bool append = sample.ids.back() != eos_;
      AppendTokens(sample.ids, width_, &buffer_);
      if (append) {
        AppendTokens(eos, width_, &buffer_);
        ++appended_;
      }
      const uint64_t length = sample.ids.size() + (append ? 1 : 0);
      AddDocument(written_, written_ + length, record);
      if (mask_ != nullptr) {
        mask_buffer_.clear();
        AppendMaskBytes(sample.loss_mask, &mask_buffer_);
        if (append) AppendMaskBytes(one, &mask_buffer_);
        mask_->Write(mask_buffer_);
      }
      written_ += length;
    } else {
      // A packed sample: written as it is; its documents must end with the EOS.
      uint64_t start = 0;
      for (size_t j = 1; j < sample.boundaries.size(); ++j) {
        const auto end = static_cast<uint64_t>(sample.boundaries[j]);
        if (sample.ids[end - 1] != eos_) {
          throw DataError(who_ + ": record " + std::to_string(record + 1) + ", document " +
                          std::to_string(j - 1) + " (tokens " + std::to_string(start) + ".." +
                          std::to_string(end) + ") ends with id " +
                          std::to_string(sample.ids[end - 1]) + ", not the EOS " +
                          std::to_string(eos_) +
                          ": OLMo finds documents by their EOS (pack with an EOD at each "
                          "document's end)");
        }
        AddDocument(written_ + start, written_ + end, record);
        start = end;
      }
      AppendTokens(sample.ids, width_, &buffer_);
      if (mask_ != nullptr) {
        mask_buffer_.clear();
        AppendMaskBytes(sample.loss_mask, &mask_buffer_);
        mask_->Write(mask_buffer_);
      }
      written_ += sample.ids.size();
    }
    tokens_->Write(buffer_);
    metadata_->Write(metadata_buffer_);
  }

  void Finish(ExecContext& ctx, OperatorStats& stats) override {
    ctx.DeferCommit(DeferOutput(std::move(tokens_)), CommitRank::kData);
    if (mask_ != nullptr) ctx.DeferCommit(DeferOutput(std::move(mask_)), CommitRank::kData);
    ctx.DeferCommit(DeferOutput(std::move(metadata_)), CommitRank::kIndex);
    stats.Add("eos_appended", appended_);
  }

 private:
  static constexpr int32_t kOne = 1;

  void AddDocument(uint64_t start, uint64_t end, uint64_t record) {
    metadata_buffer_ += OlmoMetadataLine(start, end, documents_++, src_, record + 1);
  }

  std::string prefix_;
  std::string src_;
  int width_;
  int32_t eos_;
  std::string who_;
  std::unique_ptr<OutputStream> tokens_;
  std::unique_ptr<OutputStream> mask_;
  std::unique_ptr<OutputStream> metadata_;
  uint64_t written_ = 0;
  uint64_t documents_ = 0;
  uint64_t appended_ = 0;
  std::string buffer_;
  std::string mask_buffer_;
  std::string metadata_buffer_;
};

}  // namespace

WriteOlmoOperator::WriteOlmoOperator(SampleSinkOptions options, int64_t eos)
    : SampleSinkOperator(std::move(options)), eos_(eos) {
  if (eos_ < 0 || eos_ > std::numeric_limits<int32_t>::max()) {
    throw InvalidArgument(
        "--eos ID is required: the id that ends every document (OLMo finds "
        "documents by it)");
  }
}

std::string WriteOlmoOperator::FirstFile(const std::string& prefix) const {
  return OlmoTokensPath(prefix);
}

int64_t WriteOlmoOperator::MaxId(const SampleFields& fields) const {
  return MaxIdForWidth(OlmoTokenWidth(fields.vocab_size), fields.vocab_size);
}

Schema WriteOlmoOperator::OutputSchema(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  if (eos_ > MaxId(fields)) {
    throw InvalidArgument(name() + ": --eos " + std::to_string(eos_) +
                          " is out of range for field '" + fields.ids + "' (ids 0.." +
                          std::to_string(MaxId(fields)) + ")");
  }
  CheckShardsFitOpenFiles(sink_options().shards, fields.loss_mask.empty() ? 2 : 3, name());
  return input;
}

std::vector<std::string> WriteOlmoOperator::OutputPaths(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  std::vector<std::string> paths;
  for (uint32_t shard = 0; shard < sink_options().shards; ++shard) {
    const std::string prefix = OutputPrefix(shard);
    paths.push_back(OlmoTokensPath(prefix));
    if (!fields.loss_mask.empty()) paths.push_back(OlmoMaskPath(prefix));
    paths.push_back(OlmoMetadataPath(prefix));
  }
  return paths;
}

std::string WriteOlmoOperator::Describe() const {
  return "write an OLMo token memmap " + sink_options().prefix + ".npy (EOS " +
         std::to_string(eos_) + ")" + ShardsPhrase();
}

std::string WriteOlmoOperator::DescribePlanned(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  const int width = OlmoTokenWidth(fields.vocab_size);
  std::string d =
      Describe() + ": " + fields.ids + " as uint" + std::to_string(8 * width) + " (" +
      (fields.vocab_size > 0 ? "vocabulary " + std::to_string(fields.vocab_size)
                             : std::string("vocabulary size unknown: uint32 holds any id")) +
      ")";
  if (!fields.boundaries.empty()) d += ", documents from " + fields.boundaries;
  if (!fields.loss_mask.empty()) d += ", loss mask " + fields.loss_mask + " in _mask.npy";
  return d;
}

std::unique_ptr<SampleShardWriter> WriteOlmoOperator::MakeShardWriter(
    const std::string& prefix, const SampleFields& fields, const OpenContext& ctx) const {
  return std::make_unique<OlmoShardWriter>(prefix, OlmoTokenWidth(fields.vocab_size),
                                           !fields.loss_mask.empty(), static_cast<int32_t>(eos_),
                                           name(), ctx.exec.run_files());
}

static const OperatorRegistrar kRegisterWriteOlmo(OperatorDef{
    .name = "write-olmo",
    .role = OperatorRole::kSink,
    .synopsis = "write-olmo PREFIX --eos ID [--field F] [--loss-mask F] [--boundaries F] "
                "[--vocab-size N] [--shards N [--shard-policy P]]",
    .summary = "Write token ids as an OLMo raw token memmap (.npy) with EOS boundaries",
    .details =
        "Writes PREFIX.npy (the ids as a raw little-endian memmap without header: uint8, uint16 "
        "or uint32, the smallest that holds the vocabulary, as OLMo-core chooses; uint32 when "
        "the vocabulary size is unknown), PREFIX.csv.gz (start,end,id,src,loc per document, "
        "Dolma's metadata) and PREFIX_mask.npy (one 0/1 byte per token, OLMo-core's "
        "label_mask_paths, when a loss mask is written). Documents end with --eos: a record "
        "without boundaries is one document and gets the EOS appended unless it ends with it; "
        "a record with boundaries (cu_seqlens, a packed sample) is written as it is and each of "
        "its documents must end with the EOS. --shards N writes PREFIX-0000k-of-0000N.npy and "
        "so on. Files are temp files until the run succeeds. docs/formats.md has the layout.",
    .describe =
        [](OptionSet& o) {
          DescribeSampleSinkOptions(o, "output prefix (PREFIX.npy)");
          o.named.add_options()("eos", IntegerValue(0, std::numeric_limits<int32_t>::max()),
                                "the EOS id that ends every document (required)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      return std::make_unique<WriteOlmoOperator>(ParseSampleSinkOptions(v),
                                                 v.count("eos") > 0 ? v["eos"].as<int64_t>() : -1);
    },
});

}  // namespace corpusflow
