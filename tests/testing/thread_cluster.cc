#include "tests/testing/thread_cluster.h"

#include <chrono>
#include <cstring>

namespace corpusflow::testing {
namespace {

std::string Pack(const std::vector<uint64_t>& values) {
  std::string bytes(values.size() * sizeof(uint64_t), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

uint64_t Unpack(const std::string& bytes, size_t i) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data() + i * sizeof(uint64_t), sizeof(uint64_t));
  return value;
}

class ThreadRank : public Cluster {
 public:
  ThreadRank(ThreadWorld& world, int rank) : world_(world), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return world_.size(); }

  uint64_t MaxAll(uint64_t value) override {
    uint64_t out = 0;
    world_.Meet(
        rank_, [&](std::vector<std::string>& slots) { slots[rank_] = Pack({value}); },
        [&](const std::vector<std::string>& slots) {
          for (const std::string& s : slots) out = std::max(out, Unpack(s, 0));
        },
        [] { return true; });
    return out;
  }

  std::vector<std::string> GatherAll(const std::string& bytes) override {
    std::vector<std::string> out;
    world_.Meet(
        rank_, [&](std::vector<std::string>& slots) { slots[rank_] = bytes; },
        [&](const std::vector<std::string>& slots) { out = slots; }, [] { return true; });
    return out;
  }

  int AgreeOnStatus(int exit_code) override {
    return static_cast<int>(MaxAll(static_cast<uint64_t>(exit_code)));
  }

  std::unique_ptr<Exchange> OpenExchange() override {
    return std::make_unique<ThreadExchange>(world_, rank_);
  }

 protected:
  void SendFailureNotice(int exit_code) override { world_.notice.store(exit_code); }
  int ReceivedFailureNotice() override { return world_.notice.load(); }

 private:
  class ThreadExchange : public Exchange {
   public:
    ThreadExchange(ThreadWorld& world, int rank) : world_(world), rank_(rank) {}

    bool AllToAll(std::vector<uint64_t>& out, std::vector<uint64_t>& in,
                  const std::function<bool()>& keep_waiting) override {
      in.assign(out.size(), 0);
      return world_.Meet(
          rank_, [&](std::vector<std::string>& slots) { slots[rank_] = Pack(out); },
          [&](const std::vector<std::string>& slots) {
            for (size_t r = 0; r < slots.size(); ++r) in[r] = Unpack(slots[r], rank_);
          },
          keep_waiting);
    }

    bool AllToAllBytes(std::vector<char>& send, const std::vector<uint64_t>& counts,
                       std::vector<char>& received, const std::vector<uint64_t>& received_counts,
                       const std::function<bool()>& keep_waiting) override {
      uint64_t total = 0;
      for (uint64_t c : received_counts) total += c;
      received.clear();
      received.reserve(total);
      const bool met = world_.Meet(
          rank_,
          [&](std::vector<std::string>& slots) {
            // The slot holds the offsets of each rank's message, then the bytes.
            std::vector<uint64_t> offsets(counts.size() + 1, 0);
            for (size_t r = 0; r < counts.size(); ++r) offsets[r + 1] = offsets[r] + counts[r];
            slots[rank_] = Pack(offsets) + std::string(send.data(), offsets.back());
          },
          [&](const std::vector<std::string>& slots) {
            const size_t header = (slots.size() + 1) * sizeof(uint64_t);
            for (size_t r = 0; r < slots.size(); ++r) {
              const uint64_t begin = Unpack(slots[r], rank_), end = Unpack(slots[r], rank_ + 1);
              const char* p = slots[r].data() + header;
              received.insert(received.end(), p + begin, p + end);
            }
          },
          keep_waiting);
      if (met && received.size() != total) throw Error("ThreadExchange: the counts disagree");
      return met;
    }

   private:
    ThreadWorld& world_;
    int rank_;
  };

  ThreadWorld& world_;
  int rank_;
};

}  // namespace

ThreadWorld::ThreadWorld(int ranks) : slots_(static_cast<size_t>(ranks)) {
  for (int r = 0; r < ranks; ++r) ranks_.push_back(std::make_unique<ThreadRank>(*this, r));
}

ThreadWorld::~ThreadWorld() = default;

bool ThreadWorld::Meet(int rank, const std::function<void(std::vector<std::string>&)>& put,
                       const std::function<void(const std::vector<std::string>&)>& read,
                       const std::function<bool()>& keep_waiting) {
  std::unique_lock lock(mu_);
  // The previous collective's slots are still being read: wait until every rank left it.
  cv_.wait(lock, [&] { return left_ == 0; });
  const uint64_t generation = generation_;
  put(slots_);
  if (++arrived_ == size()) {
    ++generation_;
    left_ = size();
    cv_.notify_all();
  }
  while (generation_ == generation) {
    if (cv_.wait_for(lock, std::chrono::milliseconds(5),
                     [&] { return generation_ != generation; })) {
      break;
    }
    lock.unlock();
    const bool go_on = keep_waiting();
    lock.lock();
    // Abandoned: this rank makes no more calls (the run is failing), so the others never meet.
    if (!go_on && generation_ == generation) return false;
  }
  read(slots_);
  if (--left_ == 0) {
    arrived_ = 0;
    cv_.notify_all();
  }
  return true;
}

}  // namespace corpusflow::testing
