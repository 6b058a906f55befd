#include "operators/shuffle/record_exchange.h"

#include <tbb/task.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/batch.h"
#include "engine/check.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"
#include "operators/shuffle/record_shuffler.h"
#include "operators/shuffle/shuffle_keys.h"
#include "operators/shuffle/shuffle_record.h"

namespace corpusflow {
namespace {

using u128 = unsigned __int128;

/// The first key of `rank`'s range: ceil(rank * 2^64 / ranks), as 128 bits (2^64 for rank ==
/// ranks).
u128 RangeStart(int rank, int ranks) {
  return ((static_cast<u128>(rank) << 64) + static_cast<u128>(ranks) - 1) /
         static_cast<u128>(ranks);
}

/// The largest record the exchange moves: a round's messages stay far below MPI's 2 GiB.
constexpr uint64_t kMaxExchangeRecord = uint64_t{1} << 30;

/// How long a waiting thread sleeps before it looks again for an error or a notice.
constexpr auto kPoll = std::chrono::milliseconds(20);

}  // namespace

int RecordExchange::Owner(uint64_t key, int ranks) {
  return static_cast<int>((static_cast<u128>(key) * static_cast<u128>(ranks)) >> 64);
}

uint64_t RecordExchange::OwnerKey(uint64_t key, int rank, int ranks) {
  const u128 start = RangeStart(rank, ranks);
  const u128 span = RangeStart(rank + 1, ranks) - start;
  // (key - start) * 2^64 / span: span <= 2^64, so distinct keys stay distinct, in order.
  return static_cast<uint64_t>((static_cast<u128>(key - static_cast<uint64_t>(start)) << 64) /
                               span);
}

RecordExchange::RecordExchange(Cluster& cluster, RecordShuffler& shuffler, const Schema& layout,
                               uint64_t seed, uint64_t round_bytes)
    : cluster_(cluster),
      shuffler_(shuffler),
      codec_(layout),
      seed_(seed),
      ranks_(cluster.size()),
      rank_(cluster.rank()),
      round_bytes_(round_bytes),
      queue_bytes_(2 * round_bytes),
      exchange_(cluster.OpenExchange()) {
  CF_CHECK(round_bytes_ >= static_cast<uint64_t>(ranks_), "RecordExchange: a round of no bytes");
  for (int r = 0; r < ranks_; ++r) queues_.push_back(std::make_unique<Queue>());
  thread_ = std::thread([this] { Loop(); });
}

RecordExchange::~RecordExchange() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecordExchange::ThrowIfStopped() {
  if (!failed_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mu_);
  if (error_) std::rethrow_exception(error_);
  throw RankFailed(noticed_code_);
}

void RecordExchange::Add(Scratch& scratch, const Batch& batch, uint64_t first_record,
                         std::span<const uint64_t> ordinals) {
  ThrowIfStopped();
  const size_t n = batch.num_records();
  if (n == 0) return;
  CF_CHECK(ordinals.empty() || ordinals.size() == n, "shuffle: one ordinal per record");
  if (!codec_.Matches(batch)) {
    throw Error("shuffle: a batch has the fields " + batch.schema().ToString() +
                " but the plan gave it " + codec_.layout().ToString());
  }
  const ShuffleKeys keys(seed_);
  const RecordEncoder encoder(batch);
  scratch.pieces.resize(static_cast<size_t>(ranks_));
  for (std::string& piece : scratch.pieces) piece.clear();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = keys.Key(ordinals.empty() ? first_record + i : ordinals[i]);
    const int owner = Owner(key, ranks_);
    const size_t size = encoder.EncodedSize(i);
    if (size > kMaxExchangeRecord) {
      throw Error("shuffle: a record of " + FormatBytes(static_cast<double>(size)) +
                  " is larger than the exchange between MPI ranks takes (" +
                  FormatBytes(static_cast<double>(kMaxExchangeRecord)) + ")");
    }
    AppendShuffleRecord(&scratch.pieces[static_cast<size_t>(owner)], OwnerKey(key, owner, ranks_),
                        encoder, i, size);
  }
  read_bytes_.fetch_add(batch.DataBytes(), std::memory_order_relaxed);
  uint64_t added = 0;
  for (int r = 0; r < ranks_; ++r) {
    const std::string& piece = scratch.pieces[static_cast<size_t>(r)];
    if (piece.empty()) continue;
    Queue& queue = *queues_[static_cast<size_t>(r)];
    std::lock_guard lock(queue.mu);
    queue.bytes.insert(queue.bytes.end(), piece.begin(), piece.end());
    added += piece.size();
  }
  const uint64_t queued = queued_.fetch_add(added, std::memory_order_acq_rel) + added;
  if (queued >= round_bytes_) work_cv_.notify_one();
  // Wait for room: the exchange thread takes a round at a time.
  while (queued_.load(std::memory_order_acquire) > queue_bytes_) {
    {
      std::unique_lock lock(mu_);
      room_cv_.wait_for(lock, kPoll, [&] {
        return queued_.load(std::memory_order_acquire) <= queue_bytes_ ||
               failed_.load(std::memory_order_acquire);
      });
    }
    ThrowIfStopped();
    CheckInterrupt();
    if (tbb::is_current_task_group_canceling()) return;
  }
}

void RecordExchange::Finish() {
  {
    std::lock_guard lock(mu_);
    input_done_ = true;
  }
  work_cv_.notify_all();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (room_cv_.wait_for(lock, kPoll, [&] { return finished_ || failed_.load(); })) break;
    }
    CheckInterrupt();
  }
  ThrowIfStopped();
  thread_.join();
  shuffler_.AddInputBytes(read_bytes_.load());
}

uint64_t RecordExchange::Take(Queue& queue, uint64_t cap, std::vector<char>& out) {
  std::lock_guard lock(queue.mu);
  const char* const begin = queue.bytes.data() + queue.head;
  const char* const end = queue.bytes.data() + queue.bytes.size();
  const char* p = begin;
  while (p < end) {
    const char* next = ShuffleRecordEnd(p, end);
    CF_CHECK(next != nullptr, "shuffle: a malformed record in an exchange queue");
    if (p > begin && static_cast<uint64_t>(next - begin) > cap) break;
    p = next;
  }
  const auto taken = static_cast<uint64_t>(p - begin);
  out.insert(out.end(), begin, p);
  queue.head += taken;
  if (queue.head == queue.bytes.size()) {
    queue.bytes.clear();
    queue.head = 0;
  } else if (queue.head > queue.bytes.size() / 2) {
    queue.bytes.erase(queue.bytes.begin(),
                      queue.bytes.begin() + static_cast<ptrdiff_t>(queue.head));
    queue.head = 0;
  }
  return taken;
}

void RecordExchange::Loop() {
  const auto ranks = static_cast<size_t>(ranks_);
  const uint64_t cap = std::max<uint64_t>(1, round_bytes_ / ranks);
  std::vector<char> send, received;
  std::vector<uint64_t> counts(ranks), out(ranks), in(ranks), received_counts(ranks);
  int noticed = 0;
  // The collectives wait for the others as long as this run goes on and no rank failed.
  const auto keep_waiting = [&] {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    noticed = cluster_.FailureNoticed();
    return noticed == 0;
  };
  const auto stop = [&](std::exception_ptr error, int code) {
    {
      std::lock_guard lock(mu_);
      error_ = error;
      noticed_code_ = code;
    }
    failed_.store(true, std::memory_order_release);
    room_cv_.notify_all();
  };
  try {
    for (;;) {
      bool input_done = false;
      {
        // Wait for a round's worth of records or the end of input, looking for a notice.
        std::unique_lock lock(mu_);
        const auto ready = [&] {
          return stopping_ || input_done_ || queued_.load() >= round_bytes_;
        };
        while (!ready() && noticed == 0) {
          if (work_cv_.wait_for(lock, kPoll, ready)) break;
          lock.unlock();
          noticed = cluster_.FailureNoticed();
          lock.lock();
        }
        if (stopping_) return;
        input_done = input_done_;
      }
      if (noticed != 0) return stop(nullptr, noticed);

      send.clear();
      uint64_t taken = 0;
      for (size_t r = 0; r < ranks; ++r) {
        counts[r] = Take(*queues_[r], cap, send);
        taken += counts[r];
      }
      // After the end of input nothing is queued any more: once empty, this rank is done.
      const uint64_t left = queued_.fetch_sub(taken) - taken;
      const bool done = input_done && left == 0;
      room_cv_.notify_all();

      for (size_t r = 0; r < ranks; ++r) out[r] = counts[r] << 1 | (done ? 1 : 0);
      if (!exchange_->AllToAll(out, in, keep_waiting)) {
        if (noticed != 0) stop(nullptr, noticed);
        return;
      }
      bool all_done = true;
      for (size_t r = 0; r < ranks; ++r) {
        received_counts[r] = in[r] >> 1;
        all_done = all_done && (in[r] & 1) != 0;
      }
      if (!exchange_->AllToAllBytes(send, counts, received, received_counts, keep_waiting)) {
        if (noticed != 0) stop(nullptr, noticed);
        return;
      }
      ++rounds_;
      for (size_t r = 0; r < ranks; ++r) {
        if (r == static_cast<size_t>(rank_)) {
          bytes_kept_ += counts[r];
        } else {
          bytes_sent_ += counts[r];
          bytes_received_ += received_counts[r];
        }
      }
      shuffler_.AddKeyed(std::string_view(received.data(), received.size()));
      if (all_done) break;
    }
    // Every rank's records are in place: how many each one holds.
    std::fill(out.begin(), out.end(), shuffler_.records());
    if (!exchange_->AllToAll(out, in, keep_waiting)) {
      if (noticed != 0) stop(nullptr, noticed);
      return;
    }
    rank_records_ = in;
    {
      std::lock_guard lock(mu_);
      finished_ = true;
    }
    room_cv_.notify_all();
  } catch (...) {
    stop(std::current_exception(), 0);
  }
}

}  // namespace corpusflow
