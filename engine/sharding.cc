#include "engine/sharding.h"

#include <sys/resource.h>

#include <algorithm>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/io/compression.h"

namespace corpusflow {
namespace {

/// "-00002-of-00008", or "-00002" when `count` is 0.
std::string ShardSuffix(uint64_t index, uint64_t count) {
  auto pad = [](uint64_t v) {
    std::string digits = std::to_string(v);
    return digits.size() < 5 ? std::string(5 - digits.size(), '0') + digits : digits;
  };
  return "-" + pad(index) + (count > 0 ? "-of-" + pad(count) : "");
}

}  // namespace

uint64_t RoundRobinTurn(Cluster& cluster, uint64_t written, uint64_t shards) {
  if (cluster.single() || shards <= 1) return 0;
  cluster.Agree();
  const std::vector<std::string> counts = cluster.GatherAll(std::to_string(written));
  uint64_t turn = 0;
  for (int r = 0; r < cluster.rank(); ++r) {
    turn = (turn + std::stoull(counts[static_cast<size_t>(r)]) % shards) % shards;
  }
  return turn;
}

std::string_view ShardPolicyName(ShardPolicy policy) {
  return policy == ShardPolicy::kRoundRobin ? "round-robin" : "contiguous";
}

ShardPolicy ParseShardPolicy(std::string_view name) {
  if (name == "round-robin") return ShardPolicy::kRoundRobin;
  if (name == "contiguous") return ShardPolicy::kContiguous;
  throw InvalidArgument("unknown --shard-policy '" + std::string(name) +
                        "' (expected round-robin or contiguous)");
}

void CheckShardsFitOpenFiles(uint64_t shards, uint64_t files_per_shard, std::string_view who,
                             std::string_view alternative) {
  struct rlimit limit {};
  if (shards <= 1 || getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return;
  }
  const uint64_t files = shards * files_per_shard;  // both at most kMaxShards-sized: no overflow
  if (files + kSpareDescriptors <= limit.rlim_cur) return;
  std::string message = who.empty() ? "" : std::string(who) + ": ";
  message += "--shards " + std::to_string(shards) + " keeps " + std::to_string(files) +
             " files open at once, more than `ulimit -n` (" + std::to_string(limit.rlim_cur) +
             ") allows less " + std::to_string(kSpareDescriptors) +
             " for the run's other files; raise the limit (ulimit -n) or use fewer shards" +
             std::string(alternative);
  throw InvalidArgument(message);
}

std::string ShardFilePath(const std::string& path, uint64_t index, uint64_t count) {
  if (count == 1) return path;
  const std::string base = StripCompressionExtension(path);
  const std::string codec_ext = path.substr(base.size());
  const size_t slash = base.rfind('/');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = base.rfind('.');
  // A leading dot (".hidden") starts the name; it is no extension.
  const bool has_ext = dot != std::string::npos && dot > name_start;
  const std::string stem = has_ext ? base.substr(0, dot) : base;
  const std::string ext = has_ext ? base.substr(dot) : std::string();
  return stem + ShardSuffix(index, count) + ext + codec_ext;
}

std::string ShardPrefix(const std::string& prefix, uint64_t index, uint64_t count) {
  if (count == 1) return prefix;
  return prefix + ShardSuffix(index, count);
}

ShardDealer::ShardDealer(ShardPolicy policy, uint64_t shards, std::optional<uint64_t> records,
                         std::string_view who)
    : policy_(policy), shards_(std::max<uint64_t>(shards, 1)) {
  if (policy_ == ShardPolicy::kContiguous && shards_ > 1) {
    if (!records) {
      throw InvalidArgument(std::string(who) +
                            ": --shard-policy contiguous needs the number of records before "
                            "the first one arrives, known right after a breaker such as "
                            "shuffle; put it there or use --shard-policy round-robin");
    }
    records_ = *records;
    // Empty leading shards (fewer records than shards) are skipped over at once.
    while (shard_ + 1 < shards_ && End(shard_) == 0) ++shard_;
  }
}

uint64_t ShardDealer::End(uint64_t s) const {
  if (s + 1 >= shards_) return UINT64_MAX;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(records_) * (s + 1)) / shards_);
}

uint64_t ShardDealer::RunLength() const {
  if (shards_ == 1) return UINT64_MAX;
  if (policy_ == ShardPolicy::kRoundRobin) return 1;
  return End(shard_) - dealt_;
}

void ShardDealer::Advance(bool kept) {
  if (shards_ == 1) return;
  if (policy_ == ShardPolicy::kRoundRobin) {
    if (kept) {
      ++dealt_;
      shard_ = shard_ + 1 == shards_ ? 0 : shard_ + 1;
    }
    return;
  }
  ++dealt_;
  while (dealt_ >= End(shard_)) ++shard_;
}

void ShardDealer::AdvanceRun(uint64_t n) {
  if (shards_ == 1 || n == 0) return;
  CF_DCHECK(n <= RunLength());
  if (policy_ == ShardPolicy::kRoundRobin) {
    shard_ = (shard_ + n) % shards_;
    dealt_ += n;
    return;
  }
  dealt_ += n;
  while (dealt_ >= End(shard_)) ++shard_;
}

}  // namespace corpusflow
