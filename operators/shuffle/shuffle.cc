#include "operators/shuffle/shuffle.h"

#include <filesystem>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/random.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/shuffle/record_shuffler.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

class ShuffleOutput : public BatchReader {
 public:
  explicit ShuffleOutput(RecordShuffler& shuffler) : shuffler_(shuffler) {}
  bool Next(Batch* out) override { return shuffler_.Next(out); }

 private:
  RecordShuffler& shuffler_;
};

ShuffleConfig ConfigFor(const ShuffleSettings& settings, ExecContext& ctx) {
  ShuffleConfig config;
  config.seed = settings.seed;
  config.memory_bytes =
      settings.memory_bytes > 0 ? settings.memory_bytes : ctx.breaker_memory_bytes();
  config.buckets = settings.buckets;
  config.spill = settings.spill;
  config.batch_bytes = ctx.batch_bytes();
  config.file_system = &ctx.file_system();
  config.input_paths = ctx.input_paths();
  if (!ctx.output_paths().empty()) config.output_path = ctx.output_paths().front();
  return config;
}

class ShuffleRun : public BreakerRun {
  struct Local : OpState {
    explicit Local(std::unique_ptr<RecordShuffler::Writer> w) : writer(std::move(w)) {}
    std::unique_ptr<RecordShuffler::Writer> writer;
  };

 public:
  ShuffleRun(const ShuffleSettings& settings, const OpenContext& ctx)
      : settings_(settings),
        shuffler_(ConfigFor(settings, ctx.exec), ctx.input_schema, ctx.exec.temp_dir(), &ctx.stats,
                  &ctx.exec.progress()) {
    if (!settings.seed_given) ctx.stats.SetText("seed_origin", "random");
    // The input's expected size, known at Open (the source's bytes, or what the breaker before
    // consumed), sets the layout with the batch holding record 0.
    shuffler_.SetExpectedInputBytes(ctx.input.bytes.value_or(0));
  }

  /// Workers add batches at once, each with its own writer (record_shuffler.h).
  bool ordered() const override { return false; }
  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<Local>(shuffler_.NewWriter());
  }
  void Write(Batch& batch, OpState* local) override {
    shuffler_.Add(*static_cast<Local*>(local)->writer, batch, batch.first_record());
  }

  void Finish() override { shuffler_.Finish(); }

  /// Every record consumed comes out once: the count is exact for the operator after it.
  InputEstimate OutputEstimate(const InputEstimate& consumed) const override {
    return InputEstimate{consumed.bytes, shuffler_.records()};
  }

  std::unique_ptr<BatchReader> OpenOutput() override {
    return std::make_unique<ShuffleOutput>(shuffler_);
  }

 private:
  const ShuffleSettings& settings_;
  RecordShuffler shuffler_;
};

}  // namespace

ShuffleOperator::ShuffleOperator(ShuffleSettings settings) : settings_(settings) {
  if (settings_.spill.compression != SpillCompression::kNone) {
    // Checks the level against zstd's range.
    SpillBlockEncoder check(settings_.spill);
  }
}

void ShuffleOperator::Validate(const PlanContext& ctx) const {
  const std::filesystem::path parent =
      ctx.options.tmp_dir.empty() ? TempDir::DefaultParent() : ctx.options.tmp_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    throw IoError("shuffle: the temp folder " + parent.string() +
                  " does not exist (set --tmp-dir or $TMPDIR)");
  }
}

std::string ShuffleOperator::Describe() const {
  std::string text = "shuffle all records uniformly (seed " + std::to_string(settings_.seed);
  if (!settings_.seed_given) text += ", drawn at random";
  text += ", memory ";
  text += settings_.memory_bytes > 0 ? FormatBytes(static_cast<double>(settings_.memory_bytes))
                                     : std::string("the run's share");
  text += ", spill ";
  switch (settings_.spill.compression) {
    case SpillCompression::kZstd:
      text += "zstd level " + std::to_string(settings_.spill.level);
      break;
    case SpillCompression::kNone:
      text += "uncompressed";
      break;
    case SpillCompression::kAuto:
      text += "raw unless the temp disk is tight";
      break;
  }
  return text + ")";
}

std::unique_ptr<BreakerRun> ShuffleOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<ShuffleRun>(settings_, ctx);
}

static const OperatorRegistrar kRegisterShuffle(OperatorDef{
    .name = "shuffle",
    .role = OperatorRole::kBreaker,
    .synopsis = "shuffle [--seed N] [--memory SIZE] [--spill-compression auto|zstd|none] "
                "[--spill-level N]",
    .summary = "Shuffle all records uniformly at random (out of core, deterministic per seed)",
    .details =
        "Every permutation of the records is equally likely. The output depends only on the "
        "seed and the input, never on --threads or --memory. Records of any layout (lines, "
        "JSONL fields, token ids) are shuffled whole. A small input (up to 64 MiB of records "
        "when the budget allows) is shuffled in memory; otherwise records are scattered to "
        "buckets in a few spill files in the run's temp folder (checksummed blocks, raw or "
        "zstd-compressed), and each bucket is shuffled in memory in a second pass. --memory is a "
        "ceiling: the shuffle uses no more than its spill route needs (docs/shuffle.md). Without "
        "--seed a random seed is drawn and reported in --stats-json.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("seed", CountValue(),
                                "seed of the permutation (default: random, reported in stats)")(
              "memory", ByteSizeValue(1 << 20),
              "memory for the shuffle, e.g. 2G (default: what the run's --memory leaves)")(
              "spill-compression", po::value<std::string>()->default_value("auto"),
              "spill blocks: auto (raw unless the temp disk is too small for them), zstd, none")(
              "spill-level", IntegerValue(-131072, 22)->default_value(kDefaultSpillLevel),
              "zstd level of spill blocks (negative = faster)")(
              "buckets", CountValue(0, kMaxShuffleBuckets)->default_value(0),
              "force the number of buckets of the first scatter (0 = automatic; at most 65536)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      ShuffleSettings settings;
      if (v.count("seed") > 0) {
        settings.seed = v["seed"].as<uint64_t>();
        settings.seed_given = true;
      } else {
        settings.seed = RandomSeed();
      }
      if (v.count("memory") > 0) settings.memory_bytes = v["memory"].as<uint64_t>();
      settings.buckets = static_cast<uint32_t>(v["buckets"].as<uint64_t>());
      settings.spill.compression = ParseSpillCompression(v["spill-compression"].as<std::string>());
      settings.spill.level = static_cast<int>(v["spill-level"].as<int64_t>());
      return std::make_unique<ShuffleOperator>(settings);
    },
});

}  // namespace corpusflow
