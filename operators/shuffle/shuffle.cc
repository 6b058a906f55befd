#include "operators/shuffle/shuffle.h"

#include <algorithm>
#include <atomic>
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
#include "operators/shuffle/shuffle_keys.h"
#include "operators/shuffle/smallest_keys.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The shuffled records, cut after `limit` of them (--head-count); the records never emitted
/// are counted as dropped when the output ends.
class ShuffleOutput : public BatchReader {
 public:
  ShuffleOutput(RecordShuffler& shuffler, std::optional<uint64_t> limit, uint64_t consumed,
                OperatorStats& stats)
      : shuffler_(shuffler), limit_(limit), consumed_(consumed), stats_(stats) {}

  bool Next(Batch* out) override {
    if (limit_ && emitted_ >= *limit_) return End();
    if (!shuffler_.Next(out)) return End();
    const uint64_t n = out->num_records();
    if (limit_ && emitted_ + n > *limit_) {
      std::vector<bool> keep(n, false);
      std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(*limit_ - emitted_), true);
      out->KeepRecords(keep);
    }
    emitted_ += out->num_records();
    return true;
  }

 private:
  bool End() {
    if (limit_ && !ended_) {
      ended_ = true;
      if (consumed_ > emitted_) stats_.Drop("beyond --head-count", consumed_ - emitted_);
    }
    return false;
  }

  RecordShuffler& shuffler_;
  const std::optional<uint64_t> limit_;
  const uint64_t consumed_;
  OperatorStats& stats_;
  uint64_t emitted_ = 0;
  bool ended_ = false;
};

/// The budget of the shuffle's run: --memory, or what the run leaves to a breaker.
uint64_t BudgetFor(const ShuffleSettings& settings, ExecContext& ctx) {
  return settings.memory_bytes > 0 ? settings.memory_bytes : ctx.breaker_memory_bytes();
}

/// Whether --head-count filters in pass 1: when its keys take at most an eighth of the budget
/// (otherwise every record is shuffled and the output is cut, the same bytes).
bool FiltersHeadCount(const ShuffleSettings& settings, uint64_t budget) {
  return settings.head_count && SmallestKeys::MemoryFor(*settings.head_count) <= budget / 8;
}

ShuffleConfig ConfigFor(const ShuffleSettings& settings, ExecContext& ctx) {
  ShuffleConfig config;
  config.seed = settings.seed;
  const uint64_t budget = BudgetFor(settings, ctx);
  config.memory_bytes =
      budget -
      (FiltersHeadCount(settings, budget) ? SmallestKeys::MemoryFor(*settings.head_count) : 0);
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
    /// --head-count filter scratch, reused from batch to batch.
    std::vector<uint64_t> keys;
    std::vector<bool> keep;
    std::vector<uint64_t> ordinals;
  };

 public:
  ShuffleRun(const ShuffleSettings& settings, const OpenContext& ctx)
      : settings_(settings),
        stats_(ctx.stats),
        shuffler_(ConfigFor(settings, ctx.exec), ctx.input_schema, ctx.exec.temp_dir(), &ctx.stats,
                  &ctx.exec.progress()) {
    if (!settings.seed_given) ctx.stats.SetText("seed_origin", "random");
    if (FiltersHeadCount(settings, BudgetFor(settings, ctx.exec))) {
      smallest_.emplace(*settings.head_count);
    }
    // The input's expected size, known at Open (the source's bytes, or what the breaker before
    // consumed), sets the layout with the batch holding record 0. With a --head-count filter
    // only a sample of it reaches the shuffle, so it is left unknown.
    if (!smallest_) shuffler_.SetExpectedInputBytes(ctx.input.bytes.value_or(0));
  }

  /// Workers add batches at once, each with its own writer (record_shuffler.h).
  bool ordered() const override { return false; }
  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<Local>(shuffler_.NewWriter());
  }
  void Write(Batch& batch, OpState* local) override {
    Local& state = *static_cast<Local*>(local);
    const uint64_t first = batch.first_record();
    consumed_.fetch_add(batch.num_records(), std::memory_order_relaxed);
    if (!smallest_) {
      shuffler_.Add(*state.writer, batch, first);
      return;
    }
    // Keep only the records that may be among the first --head-count of the order, each keyed
    // by its own ordinal; the batch of record 0 keeps record 0 (it sets the shuffle's layout).
    const size_t n = batch.num_records();
    const ShuffleKeys keys(settings_.seed);
    state.keys.resize(n);
    for (size_t i = 0; i < n; ++i) state.keys[i] = keys.Key(first + i);
    smallest_->Admit(state.keys, state.keep);
    if (first == 0 && n > 0) state.keep[0] = true;
    state.ordinals.clear();
    for (size_t i = 0; i < n; ++i) {
      if (state.keep[i]) state.ordinals.push_back(first + i);
    }
    if (state.ordinals.size() < n) batch.KeepRecords(state.keep);
    shuffler_.Add(*state.writer, batch, first, state.ordinals);
  }

  void Finish() override { shuffler_.Finish(); }

  /// Every record consumed comes out once (the first --head-count of them): the count is exact
  /// for the operator after it.
  InputEstimate OutputEstimate(const InputEstimate& consumed) const override {
    const uint64_t records = shuffler_.records();
    return InputEstimate{consumed.bytes,
                         settings_.head_count ? std::min(records, *settings_.head_count) : records};
  }

  std::unique_ptr<BatchReader> OpenOutput() override {
    return std::make_unique<ShuffleOutput>(shuffler_, settings_.head_count, consumed_.load(),
                                           stats_);
  }

 private:
  const ShuffleSettings& settings_;
  OperatorStats& stats_;
  std::atomic<uint64_t> consumed_{0};
  /// The --head-count filter of pass 1, when its keys fit the budget.
  std::optional<SmallestKeys> smallest_;
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
  text += ")";
  if (settings_.head_count) {
    text += ", then only the first " + std::to_string(*settings_.head_count) +
            " records of the order (--head-count)";
  }
  return text;
}

std::unique_ptr<BreakerRun> ShuffleOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<ShuffleRun>(settings_, ctx);
}

static const OperatorRegistrar kRegisterShuffle(OperatorDef{
    .name = "shuffle",
    .role = OperatorRole::kBreaker,
    .synopsis = "shuffle [--seed N] [--memory SIZE] [--head-count N] "
                "[--spill-compression auto|zstd|none] [--spill-level N]",
    .summary = "Shuffle all records uniformly at random (out of core, deterministic per seed)",
    .details =
        "Every permutation of the records is equally likely. The output depends only on the "
        "seed and the input, never on --threads or --memory. Records of any layout (lines, "
        "JSONL fields, token ids) are shuffled whole. A small input (up to 64 MiB of records "
        "when the budget allows) is shuffled in memory; otherwise records are scattered to "
        "buckets in a few spill files in the run's temp folder (checksummed blocks, raw or "
        "zstd-compressed), and each bucket is shuffled in memory in a second pass. --memory is a "
        "ceiling: the shuffle uses no more than its spill route needs (docs/shuffle.md). Without "
        "--seed a random seed is drawn and reported in --stats-json. --head-count N (-n) emits "
        "only the first N records of the same order, a uniform sample of N records as shuf -n "
        "gives: records that cannot be among them are dropped as they arrive (counted as "
        "beyond_head_count), so a small sample of a huge input neither fills memory nor "
        "spills.",
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
              "force the number of buckets of the first scatter (0 = automatic; at most 65536)")(
              "head-count,n", CountValue(),
              "output only the first N records of the order (a uniform sample, as shuf -n)");
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
      if (v.count("head-count") > 0) settings.head_count = v["head-count"].as<uint64_t>();
      return std::make_unique<ShuffleOperator>(settings);
    },
});

}  // namespace corpusflow
