// Statistical tests of the global shuffle (REFERENCE.md section 1, "Uniformity tests that are not
// flaky"): all permutations of N = 4 and 5, item x position, near-pair window, block composition
// and seed independence. They drive RecordShuffler in-process, always under layouts that force
// many buckets and re-scatters with tiny budgets next to the in-memory path, and the shuffle
// across MPI ranks (RecordExchange) with the ranks as threads (tests/testing/thread_cluster.h),
// with exchange rounds of a few records: every permutation there is the single process's. Seeds are
// fixed and every test fails only at p < 1e-6 (or |z| > 6). A negative control (the non-uniform
// "shuffle chunks then interleave" algorithm) shows the tests can fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/temp_dir.h"
#include "engine/random.h"
#include "operators/shuffle/record_exchange.h"
#include "operators/shuffle/record_shuffler.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/thread_cluster.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;

// ---- Chi-square tail probabilities (regularised upper incomplete gamma function).

double GammaQ(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 100000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return 1.0 - sum * std::exp(log_prefix);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_prefix) * h;
}

/// P(X >= x) for X chi-square with `dof` degrees of freedom.
double ChiSquareTail(double x, double dof) { return GammaQ(dof / 2, x / 2); }

constexpr double kAlpha = 1e-6;

TEST(ShuffleUniformityTest, ChiSquareTailMatchesTheReferenceThresholds) {
  // REFERENCE.md: 119 d.o.f. fails above 207.2, 225 d.o.f. above 340.6 (p = 1e-6).
  EXPECT_NEAR(std::log10(ChiSquareTail(207.2, 119)), -6, 0.05);
  EXPECT_NEAR(std::log10(ChiSquareTail(340.6, 225)), -6, 0.05);
  EXPECT_NEAR(ChiSquareTail(2.0, 2), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(ChiSquareTail(10.0, 1), 0.0015654022580025, 1e-9);
}

// ---- The shuffle under test.

struct Layout {
  const char* name;
  uint64_t memory;
  uint32_t buckets;
  uint32_t rescatter;
  uint32_t block;
};

// Records are the decimal ordinals; with tiny budgets a few of them fill the arena and a bucket
// of more than a couple of records is scattered again.
const Layout kInMemory{"in memory", 64 << 20, 0, 0, 0};
const Layout kBinary{"2 buckets, 2-way re-scatters", 90, 2, 2, 24};
const Layout kWide{"8 buckets, automatic re-scatters", 140, 8, 0, 40};

/// Shuffles 0..n-1 again and again, reusing one temp folder; as one process, or as `ranks` MPI
/// ranks (threads) that each read a contiguous share of the records and exchange them in rounds
/// of `round_bytes`, their outputs one after the other.
class PermutationSource {
 public:
  explicit PermutationSource(const Layout& layout, int ranks = 1, uint64_t round_bytes = 0)
      : layout_(layout), ranks_(ranks), round_bytes_(round_bytes), temp_(dir_.path()) {}

  /// The output order of the records 0..n-1 under `seed`.
  std::vector<uint32_t> Permutation(uint32_t n, uint64_t seed) {
    if (ranks_ > 1) return AcrossRanks(n, seed);
    RecordShuffler shuffler(Config(seed), Schema({Field{"text", FieldType::kString, 0}}), temp_,
                            nullptr, nullptr);
    Batch batch;
    StringColumn& text = batch.AddString("text");
    for (uint32_t i = 0; i < n; ++i) text.Append(std::to_string(i));
    shuffler.Add(batch, 0);
    shuffler.Finish();
    // Every layout but the in-memory one spills (the inputs are chosen so).
    if (layout_.memory < (64 << 20) && n >= 4) {
      EXPECT_FALSE(shuffler.in_memory());
    }
    rescatters_ += shuffler.rescatters();
    std::vector<uint32_t> order;
    order.reserve(n);
    Batch out;
    while (shuffler.Next(&out)) {
      const StringColumn& column = out.GetString("text");
      for (size_t i = 0; i < column.size(); ++i) {
        order.push_back(static_cast<uint32_t>(std::stoul(std::string(column[i]))));
      }
    }
    return order;
  }

  uint64_t rescatters() const { return rescatters_; }
  /// Exchange rounds of the runs across ranks so far.
  uint64_t rounds() const { return rounds_; }

 private:
  /// The shuffle of one run under the layout.
  ShuffleConfig Config(uint64_t seed) const {
    ShuffleConfig config;
    config.seed = seed;
    config.memory_bytes = layout_.memory;
    config.buckets = layout_.buckets;
    config.rescatter_buckets = layout_.rescatter;
    config.block_bytes = layout_.block;
    config.batch_bytes = 1 << 20;
    return config;
  }

  std::vector<uint32_t> AcrossRanks(uint32_t n, uint64_t seed) {
    testing::ThreadWorld world(ranks_);
    std::vector<std::vector<uint32_t>> orders(static_cast<size_t>(ranks_));
    std::vector<std::string> errors(static_cast<size_t>(ranks_));
    std::vector<uint64_t> rounds(static_cast<size_t>(ranks_));
    std::vector<uint64_t> rescatters(static_cast<size_t>(ranks_));
    const Schema schema({Field{"text", FieldType::kString, 0}});
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks_; ++r) {
      threads.emplace_back([&, r] {
        try {
          RecordShuffler shuffler(Config(seed), schema, temp_, nullptr, nullptr);
          RecordExchange exchange(world.rank(r), shuffler, schema, seed, round_bytes_);
          // This rank's share of the input, in batches of 3 records (of 1,000 for large inputs):
          // records arrive over many rounds, as from a reader.
          const uint64_t first = uint64_t{n} * r / ranks_, end = uint64_t{n} * (r + 1) / ranks_;
          const uint64_t step = n > 10000 ? 1000 : 3;
          RecordExchange::Scratch scratch;
          for (uint64_t i = first; i < end; i += step) {
            Batch batch;
            StringColumn& text = batch.AddString("text");
            for (uint64_t k = i; k < std::min(end, i + step); ++k) text.Append(std::to_string(k));
            exchange.Add(scratch, batch, i);
          }
          exchange.Finish();
          rounds[static_cast<size_t>(r)] = exchange.rounds();
          shuffler.Finish();
          rescatters[static_cast<size_t>(r)] = shuffler.rescatters();
          Batch out;
          while (shuffler.Next(&out)) {
            const StringColumn& column = out.GetString("text");
            for (size_t i = 0; i < column.size(); ++i) {
              orders[static_cast<size_t>(r)].push_back(
                  static_cast<uint32_t>(std::stoul(std::string(column[i]))));
            }
          }
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    std::vector<uint32_t> order;
    for (int r = 0; r < ranks_; ++r) {
      EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
      // Every rank takes part in every round.
      EXPECT_EQ(rounds[static_cast<size_t>(r)], rounds[0]);
      order.insert(order.end(), orders[static_cast<size_t>(r)].begin(),
                   orders[static_cast<size_t>(r)].end());
    }
    rounds_ += rounds[0];
    for (uint64_t k : rescatters) rescatters_ += k;
    return order;
  }

  Layout layout_;
  int ranks_;
  uint64_t round_bytes_;
  uint64_t rounds_ = 0;
  ScopedTempDir dir_;
  TempDir temp_;
  uint64_t rescatters_ = 0;
};

/// Index of a permutation of 0..n-1 in lexicographic order (Lehmer code).
size_t PermutationRank(const std::vector<uint32_t>& p) {
  size_t rank = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t smaller = 0;
    for (size_t j = i + 1; j < p.size(); ++j) smaller += p[j] < p[i];
    rank = rank * (p.size() - i) + smaller;
  }
  return rank;
}

size_t Factorial(size_t n) { return n <= 1 ? 1 : n * Factorial(n - 1); }

/// Counts of each of the n! outcomes over 200 * n! seeds.
std::vector<uint64_t> PermutationCounts(const std::function<std::vector<uint32_t>(uint64_t)>& run,
                                        uint32_t n) {
  const size_t outcomes = Factorial(n);
  std::vector<uint64_t> counts(outcomes, 0);
  for (uint64_t s = 0; s < 200 * outcomes; ++s) {
    const auto p = run(1000000 + s);
    EXPECT_EQ(p.size(), n);
    ++counts[PermutationRank(p)];
  }
  return counts;
}

double PermutationChiSquare(const std::vector<uint64_t>& counts) {
  double total = 0;
  for (uint64_t c : counts) total += static_cast<double>(c);
  const double expected = total / static_cast<double>(counts.size());
  double x2 = 0;
  for (uint64_t c : counts) x2 += (c - expected) * (c - expected) / expected;
  return x2;
}

/// A layout run as MPI ranks: ranks, and bytes per exchange round.
struct RankLayout {
  Layout layout;
  int ranks = 1;
  uint64_t round_bytes = 0;
};

void CheckAllPermutations(uint32_t n, const std::vector<RankLayout>& layouts) {
  std::vector<uint64_t> reference;
  for (const RankLayout& ranked : layouts) {
    const Layout& layout = ranked.layout;
    SCOPED_TRACE(std::string(layout.name) + ", " + std::to_string(ranked.ranks) +
                 " ranks, N=" + std::to_string(n));
    PermutationSource source(layout, ranked.ranks, ranked.round_bytes);
    const auto counts =
        PermutationCounts([&](uint64_t seed) { return source.Permutation(n, seed); }, n);
    for (size_t k = 0; k < counts.size(); ++k) EXPECT_GT(counts[k], 0u) << "permutation " << k;
    const double x2 = PermutationChiSquare(counts);
    const double dof = static_cast<double>(counts.size() - 1);
    EXPECT_GT(ChiSquareTail(x2, dof), kAlpha) << "chi-square " << x2 << " with " << dof << " dof";
    if (layout.memory < kInMemory.memory) {
      EXPECT_GT(source.rescatters(), 0u);
    }
    // The output depends on the seed only: every layout sees the same permutations.
    if (reference.empty()) {
      reference = counts;
    } else {
      EXPECT_EQ(counts, reference);
    }
  }
}

TEST(ShuffleUniformityTest, AllPermutationsOfFourAreEquallyLikely) {
  CheckAllPermutations(4, {{kInMemory}, {kBinary}, {kWide}});
}

TEST(ShuffleUniformityTest, AllPermutationsOfFiveAreEquallyLikely) {
  CheckAllPermutations(5, {{kInMemory}, {kBinary}, {kWide}});
}

// Across MPI ranks: each rank owns a range of the keys and shuffles what it receives; rounds of
// 16 bytes hold one record per rank or two, so the records cross in many rounds. Every
// permutation is the single process's for the same seed, and they are uniform (50 seeds per
// permutation: the test of the single process above has the power, this one the equality).
TEST(ShuffleUniformityTest, AllPermutationsOfFourAreEquallyLikelyAcrossRanks) {
  constexpr uint32_t n = 4;
  PermutationSource one(kInMemory);
  PermutationSource two(kInMemory, 2, 16);
  PermutationSource three(kBinary, 3, 16);
  std::vector<uint64_t> counts(Factorial(n), 0);
  for (uint64_t s = 0; s < 50 * counts.size(); ++s) {
    const auto p = one.Permutation(n, 1000000 + s);
    EXPECT_EQ(two.Permutation(n, 1000000 + s), p) << "seed " << s;
    EXPECT_EQ(three.Permutation(n, 1000000 + s), p) << "seed " << s;
    ++counts[PermutationRank(p)];
  }
  EXPECT_GT(ChiSquareTail(PermutationChiSquare(counts), static_cast<double>(counts.size() - 1)),
            kAlpha);
  // More than one round per run: a record or two per rank in each.
  EXPECT_GT(two.rounds(), 50 * counts.size());
  EXPECT_GT(three.rescatters(), 0u);
}

TEST(ShuffleUniformityTest, SpilledLayoutsReallyScatterAgain) {
  PermutationSource binary(kBinary);
  PermutationSource wide(kWide);
  for (uint64_t s = 0; s < 20; ++s) {
    EXPECT_EQ(binary.Permutation(40, s), wide.Permutation(40, s));
  }
  EXPECT_GT(binary.rescatters(), 200u);
  EXPECT_GT(wide.rescatters(), 20u);
}

TEST(ShuffleUniformityTest, ItemByPositionTableIsFlat) {
  constexpr uint32_t n = 12;
  constexpr uint64_t runs = 12000;
  for (const Layout& layout : {kBinary, kWide}) {
    SCOPED_TRACE(layout.name);
    PermutationSource source(layout);
    std::vector<std::vector<uint64_t>> table(n, std::vector<uint64_t>(n, 0));
    for (uint64_t s = 0; s < runs; ++s) {
      const auto p = source.Permutation(n, 5000000 + s);
      for (uint32_t pos = 0; pos < n; ++pos) ++table[p[pos]][pos];
    }
    const double expected = static_cast<double>(runs) / n;
    double x2 = 0;
    for (const auto& row : table) {
      for (uint64_t c : row) x2 += (c - expected) * (c - expected) / expected;
    }
    // Rows and columns both sum to `runs`: scale by (N-1)/N, (N-1)^2 degrees of freedom.
    x2 *= static_cast<double>(n - 1) / n;
    EXPECT_GT(ChiSquareTail(x2, (n - 1) * (n - 1)), kAlpha) << "chi-square " << x2;
  }
}

/// Input neighbours (within 50) that end up within 20 of each other: z-score against the exact
/// expectation for a uniform permutation.
double NearPairZ(const std::vector<uint32_t>& order) {
  const size_t n = order.size();
  std::vector<int64_t> pos(n);
  for (size_t k = 0; k < n; ++k) pos[order[k]] = static_cast<int64_t>(k);
  constexpr int64_t kInput = 50, kOutput = 20;
  double pairs = 0, near = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j <= std::min(n - 1, i + kInput); ++j) {
      pairs += 1;
      if (std::llabs(pos[i] - pos[j]) <= kOutput) near += 1;
    }
  }
  // Two distinct uniform positions are within 20 with probability 2 sum_{d=1..20}(n-d) / n(n-1).
  double close = 0;
  for (int64_t d = 1; d <= kOutput; ++d) close += 2.0 * static_cast<double>(n - d);
  const double p = close / (static_cast<double>(n) * static_cast<double>(n - 1));
  const double mean = pairs * p;
  return (near - mean) / std::sqrt(mean * (1 - p));
}

const Layout kLarge{"2 MB budget, automatic buckets and re-scatters", 2 << 20, 0, 0, 4096};
const Layout kLargeForced{"512 KB budget, 64 buckets, 2-way re-scatters", 512 << 10, 64, 2, 1024};

TEST(ShuffleUniformityTest, NearPairsAreAsFrequentAsInAUniformPermutation) {
  constexpr uint32_t n = 200000;
  for (const Layout& layout : {kInMemory, kLarge, kLargeForced}) {
    SCOPED_TRACE(layout.name);
    PermutationSource source(layout);
    for (uint64_t seed : {1, 2}) {
      const double z = NearPairZ(source.Permutation(n, seed));
      EXPECT_LT(std::fabs(z), 6) << "seed " << seed;
    }
  }
}

/// Chi-square of the 16 x 16 table (input block of a record, output window it lands in).
double BlockCompositionChiSquare(const std::vector<uint32_t>& order) {
  const size_t n = order.size();
  std::vector<std::vector<double>> table(16, std::vector<double>(16, 0));
  for (size_t k = 0; k < n; ++k) table[order[k] * 16 / n][k * 16 / n] += 1;
  const double expected = static_cast<double>(n) / 256;
  double x2 = 0;
  for (const auto& row : table) {
    for (double c : row) x2 += (c - expected) * (c - expected) / expected;
  }
  return x2;
}

TEST(ShuffleUniformityTest, OutputWindowsMixEveryInputBlock) {
  constexpr uint32_t n = 1 << 16;
  for (const Layout& layout : {kInMemory, kLarge, kLargeForced}) {
    SCOPED_TRACE(layout.name);
    PermutationSource source(layout);
    for (uint64_t seed = 10; seed < 14; ++seed) {
      const double x2 = BlockCompositionChiSquare(source.Permutation(n, seed));
      EXPECT_LT(x2, 340.6) << "seed " << seed;
    }
  }
}

TEST(ShuffleUniformityTest, AcrossRanksTheOrderIsTheSingleProcessOneAndPassesTheBattery) {
  // 4 ranks spilling with a 128 KB budget each in 2 buckets scattered again, rounds of 4 KB:
  // hundreds of rounds.
  constexpr uint32_t n = 200000;
  PermutationSource ranks(
      Layout{"128 KB budget, 2 buckets, 2-way re-scatters", 128 << 10, 2, 2, 1024}, 4, 4 << 10);
  PermutationSource one(kInMemory);
  for (uint64_t seed : {1, 2}) {
    const auto order = ranks.Permutation(n, seed);
    EXPECT_EQ(order, one.Permutation(n, seed)) << "seed " << seed;
    EXPECT_LT(std::fabs(NearPairZ(order)), 6) << "seed " << seed;
    EXPECT_LT(BlockCompositionChiSquare(order), 340.6) << "seed " << seed;
  }
  EXPECT_GT(ranks.rounds(), 200u);
  EXPECT_GT(ranks.rescatters(), 0u);
}

double KendallTauZ(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  const size_t n = a.size();
  std::vector<int64_t> pa(n), pb(n);
  for (size_t k = 0; k < n; ++k) {
    pa[a[k]] = static_cast<int64_t>(k);
    pb[b[k]] = static_cast<int64_t>(k);
  }
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const int64_t x = (pa[i] - pa[j]) * (pb[i] - pb[j]);
      s += x > 0 ? 1 : -1;
    }
  }
  const double dn = static_cast<double>(n);
  const double tau = s / (dn * (dn - 1) / 2);
  return tau / std::sqrt(2 * (2 * dn + 5) / (9 * dn * (dn - 1)));
}

TEST(ShuffleUniformityTest, ConsecutiveSeedsGiveIndependentPermutations) {
  constexpr uint32_t n = 3000;
  PermutationSource source(
      Layout{"16 KB budget, 16 buckets, 2-way re-scatters", 16 << 10, 16, 2, 256});
  PermutationSource memory(kInMemory);
  for (uint64_t s : {0, 1, 41, 1000, 123456789}) {
    const auto a = source.Permutation(n, s);
    const auto b = source.Permutation(n, s + 1);
    EXPECT_LT(std::fabs(KendallTauZ(a, b)), 6) << "seeds " << s << ", " << s + 1;
    // Nor is any permutation related to the input order.
    std::vector<uint32_t> identity(n);
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_LT(std::fabs(KendallTauZ(a, identity)), 6) << "seed " << s;
    EXPECT_EQ(a, memory.Permutation(n, s));
  }
}

// ---- Negative control: the blog algorithm (shuffle m chunks, then emit line k of every chunk
// in a random chunk order) is not uniform, and the tests above see it.

std::vector<uint32_t> ChunkInterleave(uint32_t n, uint32_t chunks, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<uint32_t>> parts(chunks);
  for (uint32_t i = 0; i < n; ++i) parts[i * chunks / n].push_back(i);
  for (auto& part : parts) std::shuffle(part.begin(), part.end(), rng);
  std::vector<uint32_t> out;
  for (size_t k = 0; out.size() < n; ++k) {
    std::vector<uint32_t> order(chunks);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t c : order) {
      if (k < parts[c].size()) out.push_back(parts[c][k]);
    }
  }
  return out;
}

TEST(ShuffleUniformityTest, TheTestsRejectANonUniformShuffle) {
  const auto counts =
      PermutationCounts([](uint64_t seed) { return ChunkInterleave(4, 2, seed); }, 4);
  const size_t missing = static_cast<size_t>(std::count(counts.begin(), counts.end(), 0u));
  EXPECT_EQ(missing, 8u);  // only (2!)^2 (2!)^2 = 16 of the 24 permutations can occur
  EXPECT_LT(ChiSquareTail(PermutationChiSquare(counts), 23), kAlpha);
  EXPECT_GT(std::fabs(NearPairZ(ChunkInterleave(200000, 64, 1))), 6);
}

}  // namespace
}  // namespace corpusflow
