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
#include "operators/shuffle/record_exchange.h"
#include "operators/shuffle/record_shuffler.h"
#include "operators/shuffle/shuffle_keys.h"
#include "operators/shuffle/shuffle_tasks.h"
#include "operators/shuffle/smallest_keys.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The shuffled records, cut after `limit` of them (--head-count); the records never emitted
/// are counted as dropped when the output ends.
class ShuffleOutput : public BatchReader {
 public:
  /// `origin`: the identity of the first record emitted (engine/slices.h): 0 for one process,
  /// under MPI the records of the ranks before this one, so that the records after the shuffle
  /// are numbered as one process numbers them.
  ShuffleOutput(RecordShuffler& shuffler, std::optional<uint64_t> limit, uint64_t consumed,
                uint64_t origin, OperatorStats& stats)
      : shuffler_(shuffler), limit_(limit), consumed_(consumed), origin_(origin), stats_(stats) {}

  bool Next(Batch* out) override {
    if (limit_ && emitted_ >= *limit_) return End();
    if (!shuffler_.Next(out)) return End();
    out->set_origin(origin_);
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
  const uint64_t origin_;
  OperatorStats& stats_;
  uint64_t emitted_ = 0;
  bool ended_ = false;
};

/// The budget of the shuffle's run: --memory, or what the run leaves to a breaker.
uint64_t BudgetFor(const ShuffleSettings& settings, const ExecContext& ctx) {
  return settings.memory_bytes > 0 ? settings.memory_bytes : ctx.breaker_memory_bytes();
}

/// Whether --head-count filters in pass 1: when its keys take at most an eighth of the budget
/// (otherwise every record is shuffled and the output is cut, the same bytes).
bool FiltersHeadCount(const ShuffleSettings& settings, uint64_t budget) {
  return settings.head_count && SmallestKeys::MemoryFor(*settings.head_count) <= budget / 8;
}

/// Bytes a rank receives per exchange round under MPI (0 for one process): --exchange-bytes, or
/// a sixteenth of the budget within [64 KiB, 256 MiB]. The exchange holds about four rounds
/// (queued, taken, received), which the shuffler's memory leaves to it.
uint64_t ExchangeRoundBytes(const ShuffleSettings& settings, ExecContext& ctx) {
  if (ctx.cluster().single()) return 0;
  if (settings.exchange_bytes > 0) return settings.exchange_bytes;
  return std::clamp<uint64_t>(BudgetFor(settings, ctx) / 16, uint64_t{64} << 10,
                              uint64_t{256} << 20);
}

ShuffleConfig ConfigFor(const ShuffleSettings& settings, ExecContext& ctx) {
  ShuffleConfig config;
  config.seed = settings.seed;
  uint64_t budget = BudgetFor(settings, ctx);
  budget = std::max(budget - std::min(budget, 4 * ExchangeRoundBytes(settings, ctx)), budget / 2);
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
    /// Under MPI: the batch's records for each rank.
    RecordExchange::Scratch exchange;
    /// --head-count filter scratch, reused from batch to batch.
    std::vector<uint64_t> keys;
    std::vector<bool> keep;
    std::vector<uint64_t> ordinals;
  };

 public:
  ShuffleRun(const ShuffleSettings& settings, const OpenContext& ctx)
      : settings_(settings),
        stats_(ctx.stats),
        cluster_(ctx.exec.cluster()),
        shuffler_(ConfigFor(settings, ctx.exec), ctx.input_schema, ctx.exec.temp_dir(), &ctx.stats,
                  &ctx.exec.progress()) {
    if (!settings.seed_given) ctx.stats.SetText("seed_origin", "random");
    if (FiltersHeadCount(settings, BudgetFor(settings, ctx.exec))) {
      smallest_.emplace(*settings.head_count);
    }
    // The input's expected size, known at Open (the source's bytes, or what the breaker before
    // consumed), sets the layout with the batch holding record 0 (under MPI, a rank's share of
    // it with its first round). With a --head-count filter only a sample of it reaches the
    // shuffle, so it is left unknown.
    Cluster& cluster = ctx.exec.cluster();
    if (!smallest_) {
      shuffler_.SetExpectedInputBytes(ctx.input.bytes.value_or(0) /
                                      static_cast<uint64_t>(cluster.size()));
    }
    if (!cluster.single()) {
      exchange_ =
          std::make_unique<RecordExchange>(cluster, shuffler_, ctx.input_schema, settings.seed,
                                           ExchangeRoundBytes(settings, ctx.exec));
    }
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
      kept_.fetch_add(batch.num_records(), std::memory_order_relaxed);
      if (exchange_) {
        exchange_->Add(state.exchange, batch, first);
      } else {
        shuffler_.Add(*state.writer, batch, first);
      }
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
    kept_.fetch_add(state.ordinals.size(), std::memory_order_relaxed);
    if (exchange_) {
      exchange_->Add(state.exchange, batch, first, state.ordinals);
    } else {
      shuffler_.Add(*state.writer, batch, first, state.ordinals);
    }
  }

  void Finish() override {
    if (exchange_) {
      exchange_->Finish();
      // The ranks before this one hold the first records of the order.
      const std::vector<uint64_t>& held = exchange_->rank_records();
      const auto rank = static_cast<size_t>(cluster_.rank());
      for (size_t r = 0; r < rank; ++r) origin_ += held[r];
      if (rank == 0) stats_.Add("exchange_rounds", exchange_->rounds());
      stats_.Add("exchange_bytes_sent", exchange_->bytes_sent());
      stats_.Add("exchange_bytes_kept", exchange_->bytes_kept());
      exchange_.reset();
    }
    shuffler_.Finish();
  }

  /// Every record consumed comes out once (the first --head-count of them): the count is exact
  /// for the operator after it. Under MPI, this rank's part of them.
  InputEstimate OutputEstimate(const InputEstimate& consumed) const override {
    return InputEstimate{consumed.bytes, Emitted()};
  }

  std::unique_ptr<BatchReader> OpenOutput() override {
    std::optional<uint64_t> limit;
    if (settings_.head_count) limit = Emitted();
    // The records this rank answers for: those it dropped in pass 1 and those it holds (under
    // MPI, others than it kept), so that the ranks' drops add up to the records not emitted.
    const uint64_t answered = consumed_.load() - kept_.load() + shuffler_.records();
    return std::make_unique<ShuffleOutput>(shuffler_, limit, answered, origin_, stats_);
  }

 private:
  /// The records this rank emits: those it holds, cut at --head-count (the first of the order
  /// are the ranks' before it).
  uint64_t Emitted() const {
    const uint64_t held = shuffler_.records();
    if (!settings_.head_count) return held;
    const uint64_t room = *settings_.head_count - std::min(*settings_.head_count, origin_);
    return std::min(held, room);
  }

  const ShuffleSettings& settings_;
  OperatorStats& stats_;
  Cluster& cluster_;
  std::atomic<uint64_t> consumed_{0};
  /// Records passed on to the shuffle (all, or those the --head-count filter kept).
  std::atomic<uint64_t> kept_{0};
  /// The identity of this rank's first record out: the records of the ranks before it.
  uint64_t origin_ = 0;
  /// The --head-count filter of pass 1, when its keys fit the budget.
  std::optional<SmallestKeys> smallest_;
  RecordShuffler shuffler_;
  /// Pass 1 across MPI ranks (null for one process). Declared after the shuffler it feeds:
  /// destroyed first, its thread stopped before the shuffler goes.
  std::unique_ptr<RecordExchange> exchange_;
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

std::string ShuffleOperator::TaskLimit() const {
  if (!settings_.seed_given) {
    return "a resumed shuffle must draw the same order: give --seed N";
  }
  if (settings_.head_count) return "--head-count is not resumable yet";
  return "";
}

uint64_t ShuffleOperator::KeyRanges(const ExecContext& ctx, uint64_t input_bytes) const {
  return ShuffleKeyRanges(BudgetFor(settings_, ctx), input_bytes);
}

std::unique_ptr<InputTaskWriter> ShuffleOperator::OpenInputTask(
    const OpenContext& ctx, const std::filesystem::path& folder, uint64_t ranges,
    std::unique_ptr<InputTaskWriter> previous) const {
  return OpenShuffleInputTask(ConfigFor(settings_, ctx.exec), ctx, folder, ranges,
                              std::move(previous));
}

void ShuffleOperator::CheckInputTask(const std::filesystem::path& folder, uint64_t ranges) const {
  CheckShuffleInputTask(folder, ranges);
}

std::vector<uint64_t> ShuffleOperator::GroupRanges(const ExecContext& ctx,
                                                   const std::vector<uint64_t>& records,
                                                   const std::vector<uint64_t>& bytes) const {
  return GroupShuffleRanges(BudgetFor(settings_, ctx), records, bytes);
}

std::unique_ptr<BatchReader> ShuffleOperator::OpenOutputTask(
    const OpenContext& ctx, const OutputTaskSpan& task, uint64_t ranges,
    const std::vector<std::filesystem::path>& inputs, const std::optional<OutputTaskSpan>& next,
    std::unique_ptr<BatchReader> previous) const {
  return OpenShuffleOutputTask(ConfigFor(settings_, ctx.exec), ctx, task, ranges, inputs, next,
                               std::move(previous));
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
        "spills. Under mpirun/srun the ranks shuffle together: each sends every record to the "
        "rank that owns its key in all-to-all rounds of --exchange-bytes, shuffles what it owns "
        "in its own --tmp-dir and emits its range of the same order: the output is the single "
        "process's bytes for any number of ranks (docs/scale-out.md).",
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
              "output only the first N records of the order (a uniform sample, as shuf -n)")(
              "exchange-bytes", ByteSizeValue(1 << 10),
              "under MPI: bytes a rank receives per exchange round (default: a 16th of the "
              "memory, 64K to 256M)");
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
      if (v.count("exchange-bytes") > 0) {
        settings.exchange_bytes = v["exchange-bytes"].as<uint64_t>();
      }
      return std::make_unique<ShuffleOperator>(settings);
    },
});

}  // namespace corpusflow
