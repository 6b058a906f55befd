#include "operators/formats/write_datatrove.h"

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/registry.h"
#include "operators/formats/datatrove_format.h"
#include "operators/formats/sample_sink.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The files of one dataset (one shard).
class DatatroveShardWriter : public SampleShardWriter {
 public:
  DatatroveShardWriter(std::string prefix, int token_size, bool loss, std::string tokenizer,
                       const RunFiles& run)
      : prefix_(std::move(prefix)), token_size_(token_size), tokenizer_(std::move(tokenizer)) {
    OutputOptions options;
    options.run_files = run;
    tokens_ = CreateOutput(DatatroveTokensPath(prefix_), options);
    index_ = CreateOutput(DatatroveIndexPath(prefix_), options);
    if (loss) loss_ = CreateOutput(DatatroveLossPath(prefix_), options);
    metadata_ = CreateOutput(DatatroveMetadataPath(prefix_), options);
  }

  void Add(const SampleView& sample, uint64_t /*record*/) override {
    buffer_.clear();
    AppendTokens(sample.ids, token_size_, &buffer_);
    tokens_->Write(buffer_);
    if (loss_ != nullptr) {
      buffer_.clear();
      AppendMaskBytes(sample.loss_mask, &buffer_);
      loss_->Write(buffer_);
    }
    DocumentEnds(sample, &ends_);
    buffer_.clear();
    for (const uint64_t end : ends_) PutFixed64(&buffer_, written_ + end);
    index_->Write(buffer_);
    written_ += sample.ids.size();
  }

  void Finish(ExecContext& ctx, OperatorStats& /*stats*/) override {
    metadata_->Write(DatatroveMetadataText(tokenizer_, token_size_, written_));
    ctx.DeferCommit(DeferOutput(std::move(tokens_)), CommitRank::kData);
    if (loss_ != nullptr) ctx.DeferCommit(DeferOutput(std::move(loss_)), CommitRank::kData);
    ctx.DeferCommit(DeferOutput(std::move(index_)), CommitRank::kIndex);
    ctx.DeferCommit(DeferOutput(std::move(metadata_)), CommitRank::kIndex);
  }

 private:
  std::string prefix_;
  int token_size_;
  std::string tokenizer_;
  std::unique_ptr<OutputStream> tokens_;
  std::unique_ptr<OutputStream> index_;
  std::unique_ptr<OutputStream> loss_;
  std::unique_ptr<OutputStream> metadata_;
  uint64_t written_ = 0;
  std::string buffer_;
  std::vector<uint64_t> ends_;
};

}  // namespace

WriteDatatroveOperator::WriteDatatroveOperator(SampleSinkOptions options, std::string tokenizer)
    : SampleSinkOperator(std::move(options)), tokenizer_(std::move(tokenizer)) {
  if (tokenizer_.find_first_of("|\n\r") != std::string::npos) {
    throw InvalidArgument("--tokenizer must not hold '|' or a line break (got '" + tokenizer_ +
                          "')");
  }
}

std::string WriteDatatroveOperator::FirstFile(const std::string& prefix) const {
  return DatatroveTokensPath(prefix);
}

int64_t WriteDatatroveOperator::MaxId(const SampleFields& fields) const {
  return MaxIdForWidth(DatatroveTokenSize(fields.vocab_size), fields.vocab_size);
}

Schema WriteDatatroveOperator::OutputSchema(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  CheckShardsFitOpenFiles(sink_options().shards, fields.loss_mask.empty() ? 3 : 4, name());
  return input;
}

std::vector<std::string> WriteDatatroveOperator::OutputPaths(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  std::vector<std::string> paths;
  for (uint32_t shard = 0; shard < sink_options().shards; ++shard) {
    const std::string prefix = OutputPrefix(shard);
    paths.push_back(DatatroveTokensPath(prefix));
    paths.push_back(DatatroveIndexPath(prefix));
    if (!fields.loss_mask.empty()) paths.push_back(DatatroveLossPath(prefix));
    paths.push_back(DatatroveMetadataPath(prefix));
  }
  return paths;
}

std::string WriteDatatroveOperator::Describe() const {
  return "write datatrove tokenized files " + sink_options().prefix + ".ds" + ShardsPhrase();
}

std::string WriteDatatroveOperator::DescribePlanned(const Schema& input) const {
  const SampleFields fields = PlanFields(input);
  const int token_size = DatatroveTokenSize(fields.vocab_size);
  std::string d =
      Describe() + ": " + fields.ids + " as " + std::to_string(token_size) + "-byte tokens (" +
      (fields.vocab_size > 0 ? "vocabulary " + std::to_string(fields.vocab_size)
                             : std::string("vocabulary size unknown: 4 bytes hold any id")) +
      ")";
  if (!fields.boundaries.empty()) d += ", documents from " + fields.boundaries;
  if (!fields.loss_mask.empty()) d += ", loss mask " + fields.loss_mask + " in .ds.loss";
  return d;
}

std::unique_ptr<SampleShardWriter> WriteDatatroveOperator::MakeShardWriter(
    const std::string& prefix, const SampleFields& fields, const OpenContext& ctx) const {
  // The vocabulary's name stands in for the tokenizer's unless it would break the line's
  // `NAME|SIZE` layout.
  const std::string& source = fields.vocabulary_source;
  const bool source_fits = !source.empty() && source.find_first_of("|\n\r") == std::string::npos;
  const std::string tokenizer = !tokenizer_.empty() ? tokenizer_
                                : source_fits       ? source
                                                    : "Unknown Tokenizer";
  return std::make_unique<DatatroveShardWriter>(prefix, DatatroveTokenSize(fields.vocab_size),
                                                !fields.loss_mask.empty(), tokenizer,
                                                ctx.exec.run_files());
}

static const OperatorRegistrar kRegisterWriteDatatrove(OperatorDef{
    .name = "write-datatrove",
    .role = OperatorRole::kSink,
    .synopsis = "write-datatrove PREFIX [--field F] [--loss-mask F] [--boundaries F] "
                "[--vocab-size N] [--tokenizer NAME] [--shards N [--shard-policy P]]",
    .summary = "Write token ids as datatrove/nanotron tokenized files (.ds, .ds.index, ...)",
    .details =
        "Writes PREFIX.ds (every record's ids, concatenated, little-endian: 2-byte tokens when "
        "the vocabulary has at most 65536 ids, else or when unknown 4-byte ones, as datatrove's "
        "DocumentTokenizer), PREFIX.ds.index (the end of every document in tokens, uint64), "
        "PREFIX.ds.loss (one 0/1 byte per token, when a loss mask is written) and "
        "PREFIX.ds.metadata (TOKENIZER|TOKEN_SIZE, the token count and its humanized form), which "
        "nanotron's DatatroveFolderDataset reads with seq_len = sample length - 1. A record is "
        "one document, or, with --boundaries (cu_seqlens: 0, then each document's end), one "
        "document per boundary plus the padding after the last. Ids are checked against the "
        "token size and the vocabulary; a bad loss mask or boundary list stops the run naming the "
        "record. --shards N writes PREFIX-0000k-of-0000N.ds and so on. Files are temp files "
        "until the run succeeds. docs/formats.md has the layout.",
    .describe =
        [](OptionSet& o) {
          DescribeSampleSinkOptions(o, "output prefix (PREFIX.ds)");
          o.named.add_options()("tokenizer", po::value<std::string>()->default_value(""),
                                "tokenizer name in .ds.metadata (default: the field's vocabulary "
                                "file, else 'Unknown Tokenizer')");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      return std::make_unique<WriteDatatroveOperator>(ParseSampleSinkOptions(v),
                                                      v["tokenizer"].as<std::string>());
    },
});

}  // namespace corpusflow
