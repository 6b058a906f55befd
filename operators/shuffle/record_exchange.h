// RecordExchange: pass 1 of the global shuffle across MPI ranks. Every rank reads its own input
// slices (engine/slices.h); a record's sort key is ShuffleKeys of its identity, as in one process,
// and the key names the rank that owns the record: rank r of N owns the r-th of N equal ranges of
// the 64-bit keys. Each rank shuffles the records it owns with its own RecordShuffler (pass 1
// spills to its own --tmp-dir, pass 2 is local) and emits them in key order, so the ranks'
// outputs one after the other are the single-process order, whatever N: the same bytes.
//
// The exchange runs in rounds, on a thread of its own, overlapped with reading:
//   workers (Add, several threads) encode each record as the shuffle spills it, key + varint
//          (length) + encoding, into a queue per owner rank; the key is rescaled into the
//          owner's range (OwnerKey, order-preserving), so that the owner's buckets cover it all;
//   the exchange thread starts a round when a round's bytes are queued (or this rank's input
//          ended): it takes whole records, at most round_bytes / N for each rank (one record at
//          least), agrees on the counts with every rank (Cluster::Exchange::AllToAll, which
//          waits for the others without holding a core) and moves the bytes (AllToAllBytes);
//          the records it receives go into the local shuffler (RecordShuffler::AddKeyed), which
//          spills when its memory is full.
// So a rank receives at most round_bytes per round (plus one record from each rank when records
// are larger than a rank's share), every message is well under MPI's 2 GiB int counts, and
// queued records never exceed queue_bytes: a worker waits for room. A round's counts carry a
// flag "my input ended and nothing is queued"; the round where every rank sets it is the last.
// A final AllToAll tells every rank how many records each one holds (rank_records), for the
// identities after the shuffle, --head-count and progress.
//
// Failure: an error on this rank (a worker, the exchange thread) stops the exchange at once; the
// run's error path then sends the failure notice (Cluster::Fail). A rank waiting in a round, or
// a worker waiting for room, stops with RankFailed when a notice arrived. No round is half done:
// the byte transfer follows the count agreement that every rank reached.
//
// Thread safety: Add from several threads at once, each with its own Scratch; Finish once, on
// one thread, after every Add returned; the accessors after Finish.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/cluster.h"
#include "engine/record_codec.h"

namespace corpusflow {

class Batch;
class RecordShuffler;

class RecordExchange {
 public:
  /// One worker's scratch: the records of one batch for each rank.
  struct Scratch {
    std::vector<std::string> pieces;
  };

  /// `layout`: the planned input schema (every batch's fields). `round_bytes`: what this rank
  /// receives per round at most (and takes from its queues); queued records stay under
  /// 2 x round_bytes. Starts the exchange thread.
  RecordExchange(Cluster& cluster, RecordShuffler& shuffler, const Schema& layout, uint64_t seed,
                 uint64_t round_bytes);
  /// Stops the exchange thread (abandoning a round in progress: the run is failing).
  ~RecordExchange();
  RecordExchange(const RecordExchange&) = delete;
  RecordExchange& operator=(const RecordExchange&) = delete;

  /// Queue the records of `batch` for their owners; keyed as RecordShuffler::Add keys them
  /// (first_record + i, or ordinals[i] when given). Waits while the queues are full. Throws
  /// what stopped the exchange (this rank's error, RankFailed, Interrupted).
  void Add(Scratch& scratch, const Batch& batch, uint64_t first_record,
           std::span<const uint64_t> ordinals = {});
  /// End of this rank's input: returns once every rank's records were exchanged and added to the
  /// shufflers, and the record counts are known. Throws as Add.
  void Finish();

  /// After Finish: the records each rank holds, in rank order.
  const std::vector<uint64_t>& rank_records() const { return rank_records_; }
  /// Rounds of the exchange (the same on every rank), bytes this rank sent to and received from
  /// other ranks, and bytes it kept (its own records).
  uint64_t rounds() const { return rounds_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t bytes_kept() const { return bytes_kept_; }

  /// The rank of `ranks` that owns `key`: floor(key * ranks / 2^64).
  static int Owner(uint64_t key, int ranks);
  /// `key` (owned by `rank`) mapped onto the whole 64-bit range: strictly increasing over the
  /// rank's keys, so their order is kept and the owner's buckets split them evenly.
  static uint64_t OwnerKey(uint64_t key, int rank, int ranks);

 private:
  /// Records queued for one rank: bytes [head, end) of `bytes`.
  struct Queue {
    std::mutex mu;
    std::vector<char> bytes;
    size_t head = 0;
  };

  void Loop();
  /// Move whole records from `queue` to `out`, `cap` bytes at most but one record at least;
  /// returns the bytes moved.
  static uint64_t Take(Queue& queue, uint64_t cap, std::vector<char>& out);
  /// Throw what stopped the exchange, if anything did.
  void ThrowIfStopped();

  Cluster& cluster_;
  RecordShuffler& shuffler_;
  const RecordCodec codec_;
  const uint64_t seed_;
  const int ranks_;
  const int rank_;
  const uint64_t round_bytes_;
  const uint64_t queue_bytes_;
  std::unique_ptr<Cluster::Exchange> exchange_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::atomic<uint64_t> queued_{0};
  std::atomic<uint64_t> read_bytes_{0};

  std::mutex mu_;
  /// Workers wait for room; the exchange thread for a round's worth or the end of input.
  std::condition_variable room_cv_;
  std::condition_variable work_cv_;
  bool input_done_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  /// Set by the exchange thread when it stopped on an error (error_) or a failure notice
  /// (noticed_code_); read by workers without the lock.
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  int noticed_code_ = 0;

  std::vector<uint64_t> rank_records_;
  uint64_t rounds_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_kept_ = 0;
  /// Declared last: started when everything above is ready.
  std::thread thread_;
};

}  // namespace corpusflow
