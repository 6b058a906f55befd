#include "operators/tokenize/vocab.h"

#include <xxhash.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <queue>
#include <string>

#include "engine/cluster.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/external_sort.h"
#include "engine/interrupt.h"
#include "engine/io/compression.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/bert_basic_tokenizer.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "operators/tokenize/tokenize_resources.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The smallest memory share of one worker's counter (a tiny --memory still makes progress).
constexpr uint64_t kMinCounterShare = 64 << 10;
constexpr size_t kInitialSlots = 1 << 10;

/// Counts of distinct tokens: an open-addressing table over an arena of token bytes, so its
/// memory is known and a few allocations hold millions of tokens.
class TokenCounter {
 public:
  TokenCounter() { slots_.resize(kInitialSlots); }

  void Add(std::string_view token, uint64_t n = 1) {
    const uint64_t hash = XXH3_64bits(token.data(), token.size());
    size_t i = hash & (slots_.size() - 1);
    while (true) {
      Slot& slot = slots_[i];
      if (slot.count == 0) break;
      if (slot.hash == hash && slot.length == token.size() &&
          arena_.compare(slot.offset, slot.length, token) == 0) {
        slot.count += n;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = Slot{hash, arena_.size(), token.size(), n};
    arena_.append(token);
    if (++used_ * 2 > slots_.size()) Grow();
  }

  size_t size() const { return used_; }
  size_t MemoryBytes() const { return slots_.size() * sizeof(Slot) + arena_.capacity(); }

  /// (token, count) pairs sorted by token bytes; views into the counter.
  std::vector<std::pair<std::string_view, uint64_t>> SortedEntries() const {
    std::vector<std::pair<std::string_view, uint64_t>> entries;
    entries.reserve(used_);
    for (const Slot& slot : slots_) {
      if (slot.count == 0) continue;
      entries.emplace_back(std::string_view(arena_).substr(slot.offset, slot.length), slot.count);
    }
    std::sort(entries.begin(), entries.end());
    return entries;
  }

  void Clear() {
    slots_.assign(kInitialSlots, Slot{});
    slots_.shrink_to_fit();
    arena_.clear();
    arena_.shrink_to_fit();
    used_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t count = 0;  // 0: free
  };

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& slot : old) {
      if (slot.count == 0) continue;
      size_t i = slot.hash & (slots_.size() - 1);
      while (slots_[i].count != 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t used_ = 0;
};

/// The best `capacity` candidates: by count descending, then token bytes ascending.
class TopTokens {
 public:
  explicit TopTokens(size_t capacity) : capacity_(capacity) {}

  void Offer(std::string_view token, uint64_t count) {
    if (capacity_ == 0) return;
    if (heap_.size() < capacity_) {
      heap_.emplace(count, std::string(token));
      return;
    }
    const Entry& worst = heap_.top();
    if (count > worst.first || (count == worst.first && token < worst.second)) {
      heap_.pop();
      heap_.emplace(count, std::string(token));
    }
  }

  /// The kept tokens, best first.
  std::vector<std::pair<uint64_t, std::string>> Take() {
    std::vector<Entry> out;
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  using Entry = std::pair<uint64_t, std::string>;
  /// "a < b" when a is the better candidate, so the top of the heap is the worst kept one.
  struct Better {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    }
  };

  size_t capacity_;
  std::priority_queue<Entry, std::vector<Entry>, Better> heap_;
};

/// The merged (token, varint count) entries of the sorted runs as (token, total count), one per
/// token, in token order.
class TokenCounts {
 public:
  explicit TokenCounts(std::unique_ptr<SortedEntryStream> entries) : entries_(std::move(entries)) {
    ahead_ = Advance();
  }

  /// Move to the next token; false at the end.
  bool Next() {
    if (!ahead_) return false;
    token_.swap(next_token_);
    count_ = next_count_;
    // The counts of one token are adjacent: sum them.
    while ((ahead_ = Advance()) && next_token_ == token_) count_ += next_count_;
    return true;
  }
  const std::string& token() const { return token_; }
  uint64_t count() const { return count_; }

 private:
  /// Read the next entry into next_token_ / next_count_.
  bool Advance() {
    if (!entries_->Next()) return false;
    if ((++read_ & 0xFFFF) == 0) CheckInterrupt();
    std::string_view value = entries_->value();
    if (!GetVarint64(&value, &next_count_) || !value.empty()) {
      throw CorruptionError("vocab: malformed count of '" + std::string(entries_->key()) + "'");
    }
    next_token_.assign(entries_->key());
    return true;
  }

  std::unique_ptr<SortedEntryStream> entries_;
  bool ahead_ = false;
  std::string token_, next_token_;
  uint64_t count_ = 0, next_count_ = 0;
  uint64_t read_ = 0;
};

/// The bytes of counts each rank sends per round of ReduceTokenCounts with `ranks` ranks and a
/// breaker budget of `budget` bytes: every rank holds one round's messages of all ranks, a
/// sixteenth of the budget (4 KiB to 16 MiB per rank), and ranks times that stays under 1 GiB,
/// well within MPI's 2 GiB int counts.
uint64_t ReduceMessageBytes(int ranks, uint64_t budget) {
  const auto n = static_cast<uint64_t>(ranks);
  return std::max<uint64_t>(
      std::min<uint64_t>({budget / 16 / n, uint64_t{16} << 20, (uint64_t{1} << 30) / n}), 4096);
}

/// An agreement point of the reduction: returns when every rank went well so far; else every
/// rank throws, this one its own exception (an interrupt stays one).
void AgreeOnCounts(Cluster& cluster, const std::exception_ptr& failure) {
  std::string error;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) error = "vocab: counting failed";
  }
  try {
    cluster.AgreeOnOutcome(error);
  } catch (...) {
    if (failure) std::rethrow_exception(failure);
    throw;
  }
}

/// Sum the counts of every rank of `cluster` (each rank's `counts`, in token order) and call
/// `emit(token, total)` for every token of any rank, in token order, on every rank; returns the
/// rounds. Every rank calls it once, at the same point (a collective). Each round every rank
/// whose entries sent so far are all emitted sends its next entries (about `message_bytes`);
/// every rank then emits the tokens up to the smallest last token sent by a rank that has more,
/// so no rank holds more than one message per rank. Each round begins with an agreement, so a
/// rank that fails (here or before: Cluster::Fail) stops every rank.
uint64_t ReduceTokenCounts(Cluster& cluster, TokenCounts& counts, uint64_t message_bytes,
                           const std::function<void(std::string_view, uint64_t)>& emit) {
  const auto ranks = static_cast<size_t>(cluster.size());
  const auto me = static_cast<size_t>(cluster.rank());
  // What each rank sent and is not emitted yet, in token order, and whether it sent its last.
  std::vector<std::deque<std::pair<std::string, uint64_t>>> pending(ranks);
  std::vector<bool> done(ranks, false);
  bool have = counts.Next();
  std::exception_ptr failure;
  uint64_t rounds = 0;
  for (;;) {
    // A message: a flag (1: this rank has more to send), then (varint length, token, varint
    // count) per entry.
    std::string message;
    try {
      if (!done[me] && pending[me].empty()) {
        message.push_back('\0');
        while (have && message.size() < message_bytes) {
          PutLengthPrefixed(&message, counts.token());
          PutVarint64(&message, counts.count());
          have = counts.Next();
        }
        message[0] = have ? '\1' : '\0';
      }
    } catch (...) {
      failure = std::current_exception();
    }
    AgreeOnCounts(cluster, failure);
    bool finished = true;
    for (size_t r = 0; r < ranks; ++r) finished = finished && done[r] && pending[r].empty();
    if (finished) return rounds;
    const std::vector<std::string> all = cluster.GatherAll(message);
    ++rounds;
    try {
      CheckInterrupt();
      for (size_t r = 0; r < ranks; ++r) {
        if (all[r].empty()) continue;
        std::string_view in(all[r]);
        done[r] = in.front() == '\0';
        in.remove_prefix(1);
        while (!in.empty()) {
          std::string_view token;
          uint64_t count = 0;
          if (!GetLengthPrefixed(&in, &token) || !GetVarint64(&in, &count)) {
            throw CorruptionError("vocab: malformed counts from MPI rank " + std::to_string(r));
          }
          pending[r].emplace_back(std::string(token), count);
        }
      }
      // Every token up to `frontier` has all its counts here: no rank with more to send has
      // one at or before it left.
      const std::string* frontier = nullptr;
      for (size_t r = 0; r < ranks; ++r) {
        if (done[r] || pending[r].empty()) continue;
        if (frontier == nullptr || pending[r].back().first < *frontier) {
          frontier = &pending[r].back().first;
        }
      }
      const std::string limit = frontier != nullptr ? *frontier : std::string();
      for (;;) {
        const std::string* least = nullptr;
        for (size_t r = 0; r < ranks; ++r) {
          if (pending[r].empty()) continue;
          if (least == nullptr || pending[r].front().first < *least) {
            least = &pending[r].front().first;
          }
        }
        if (least == nullptr || (frontier != nullptr && limit < *least)) break;
        const std::string token = *least;
        uint64_t total = 0;
        for (size_t r = 0; r < ranks; ++r) {
          if (pending[r].empty() || pending[r].front().first != token) continue;
          total += pending[r].front().second;
          pending[r].pop_front();
        }
        emit(token, total);
      }
    } catch (...) {
      failure = std::current_exception();
    }
  }
}

/// One worker's counter and scratch buffers (the counter itself belongs to the run).
struct VocabLocal : OpState {
  explicit VocabLocal(TokenCounter* c) : counter(c) {}
  TokenCounter* counter;
  std::string repaired;
  std::string normalized;
  UncasedScratch uncased;
  std::vector<std::string_view> words;
  BertBasicTokenizer::Scratch basic;
  std::string piece;
};

class VocabRun : public BatchWriter {
 public:
  VocabRun(const VocabOperator& op, ExecContext& ctx, OperatorStats& stats)
      : op_(op),
        ctx_(ctx),
        stats_(stats),
        segmenter_(LoadJiebaSegmenter(ctx.resources(), op.options().dict_path,
                                      op.options().user_dict_paths)),
        basic_(/*lowercase=*/false),
        counts_(ctx.temp_dir(), "vocab-counts", SortOptions(ctx)) {
    const uint64_t budget = ctx.breaker_memory_bytes();
    counter_share_ = std::max<uint64_t>(kMinCounterShare,
                                        budget / static_cast<uint64_t>(std::max(1, ctx.threads())));
  }

  bool ordered() const override { return false; }

  std::unique_ptr<OpState> MakeLocalState() override {
    std::lock_guard lock(mu_);
    counters_.push_back(std::make_unique<TokenCounter>());
    return std::make_unique<VocabLocal>(counters_.back().get());
  }

  void Write(Batch& batch, OpState* state) override {
    auto& local = static_cast<VocabLocal&>(*state);
    const StringColumn& input = batch.GetString(op_.options().field);
    uint64_t repaired = 0;
    for (size_t i = 0; i < input.size(); ++i) {
      std::string_view text = input[i];
      if (!IsValidUtf8(text)) {
        ReplaceInvalidUtf8(text, &local.repaired);
        text = local.repaired;
        ++repaired;
      }
      CountRecord(text, local);
    }
    if (repaired > 0) stats_.Add("invalid_utf8_replaced", repaired);
    if (local.counter->MemoryBytes() > counter_share_) Spill(*local.counter);
  }

  void Finish() override {
    // Spilled: the counters still in memory become runs too. In memory: their entries go to the
    // sorter's buffer, which spills only if they outgrow the budget.
    const bool spilled = counts_.spilled_runs() > 0;
    for (const auto& counter : counters_) {
      if (counter->size() == 0) continue;
      if (spilled) {
        Spill(*counter);
        continue;
      }
      CheckInterrupt();
      char count[kMaxVarint64Bytes];
      for (const auto& [token, n] : counter->SortedEntries()) {
        counts_.Add(token, std::string_view(count, EncodeVarint64(count, n) - count));
      }
      counter->Clear();
    }
    const std::vector<std::string>& specials = VocabSpecialTokens();
    const VocabOptions& options = op_.options();
    TopTokens top(options.size - specials.size());
    uint64_t distinct = 0;
    auto offer = [&](std::string_view token, uint64_t count) {
      ++distinct;
      if (count < options.min_frequency) return;
      if (std::find(specials.begin(), specials.end(), token) != specials.end()) return;
      top.Offer(token, count);
    };
    TokenCounts counts(counts_.Finish());
    Cluster& cluster = ctx_.cluster();
    if (cluster.single()) {
      while (counts.Next()) offer(counts.token(), counts.count());
    } else {
      // Every rank's counts are summed in token order; rank 0 alone keeps the best, and the
      // other ranks write an empty part of the vocabulary, which the commit joins after rank 0's.
      const bool keep = cluster.rank() == 0;
      const uint64_t rounds = ReduceTokenCounts(
          cluster, counts, ReduceMessageBytes(cluster.size(), ctx_.breaker_memory_bytes()),
          [&](std::string_view token, uint64_t count) {
            if (keep) offer(token, count);
          });
      if (keep) stats_.Add("reduce_rounds", rounds);
    }

    // Under MPI the other ranks write an empty part (no compressed stream's header either), so
    // the file the commit joins is rank 0's, byte for byte.
    const bool writes = ctx_.cluster().rank() == 0;
    OutputOptions output_options;
    output_options.run_files = ctx_.run_files();
    if (!writes) output_options.compression = Compression::kNone;
    std::unique_ptr<OutputStream> out = CreateOutput(options.output, output_options);
    const auto kept = top.Take();
    if (writes) {
      std::string text;
      for (const std::string& special : specials) text += special + "\n";
      for (const auto& [count, kept_token] : kept) {
        text += kept_token;
        text += '\n';
        if (text.size() > (1 << 20)) {
          out->Write(text);
          text.clear();
        }
      }
      out->Write(text);
    }
    out->Close();
    ctx_.DeferCommit(DeferOutput(std::move(out)));
    stats_.Add("spilled_runs", counts_.spilled_runs());
    if (!writes) return;
    stats_.Add("distinct_candidates", distinct);
    stats_.SetInteger("vocab_size", specials.size() + kept.size());
    if (!kept.empty()) stats_.SetInteger("min_kept_count", kept.back().first);
  }

 private:
  void CountRecord(std::string_view text, VocabLocal& local) {
    TokenCounter& counter = *local.counter;
    UncasedText(text, &local.normalized, &local.uncased);
    segmenter_->Cut(local.normalized, &local.words);
    for (std::string_view word : local.words) {
      // A whole jieba word of two or more characters (all of them are block words; "\r\n" is
      // the one two-character token outside blocks).
      if (word.size() > 1 && word != "\r\n" && CountCodePoints(word) > 1) counter.Add(word);
      basic_.Tokenize(word, local.basic, [&](const char32_t* cps, size_t n) {
        for (size_t j = 0; j < n; ++j) {
          local.piece.clear();
          if (j > 0) local.piece = "##";
          AppendUtf8(cps[j], &local.piece);
          counter.Add(local.piece);
        }
      });
    }
  }

  /// Write a counter as a sorted run and empty it. Thread-safe.
  void Spill(TokenCounter& counter) {
    ExternalSorter::RunWriter run = counts_.NewRun();
    char count[kMaxVarint64Bytes];
    for (const auto& [token, n] : counter.SortedEntries()) {
      run.Add(token, std::string_view(count, EncodeVarint64(count, n) - count));
    }
    run.Finish();
    counter.Clear();
  }

  static ExternalSortOptions SortOptions(ExecContext& ctx) {
    ExternalSortOptions options;
    options.memory_bytes = std::max<uint64_t>(kMinCounterShare, ctx.breaker_memory_bytes());
    options.file_system = &ctx.file_system();
    return options;
  }

  const VocabOperator& op_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  std::shared_ptr<const JiebaSegmenter> segmenter_;
  BertBasicTokenizer basic_;
  uint64_t counter_share_ = 0;
  std::mutex mu_;
  std::vector<std::unique_ptr<TokenCounter>> counters_;
  /// (token, varint count) entries: counters that outgrew their share, sorted, and at the end
  /// every counter, merged in token order.
  ExternalSorter counts_;
};

}  // namespace

const std::vector<std::string>& VocabSpecialTokens() {
  static const std::vector<std::string> tokens = [] {
    std::vector<std::string> t = {"[PAD]"};
    for (int i = 1; i <= 99; ++i) t.push_back("[unused" + std::to_string(i) + "]");
    for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) t.emplace_back(s);
    return t;
  }();
  return tokens;
}

VocabOperator::VocabOperator(VocabOptions options) : options_(std::move(options)) {
  if (options_.output.empty()) throw InvalidArgument("needs -o vocab.txt");
  if (options_.size <= VocabSpecialTokens().size()) {
    throw InvalidArgument("--size must be more than the " +
                          std::to_string(VocabSpecialTokens().size()) + " special tokens");
  }
  if (options_.min_frequency == 0) throw InvalidArgument("--min-frequency must be at least 1");
}

void VocabOperator::Validate(const PlanContext& /*ctx*/) const {
  CheckOutputWritable(options_.output);
  CheckInputReadable(JiebaSegmenter::DictionaryPathOrDefault(options_.dict_path));
  for (const std::string& path : options_.user_dict_paths) CheckInputReadable(path);
}

std::vector<std::string> VocabOperator::InputPaths() const {
  std::vector<std::string> paths = options_.user_dict_paths;
  paths.push_back(JiebaSegmenter::DictionaryPathOrDefault(options_.dict_path));
  return paths;
}

std::vector<std::string> VocabOperator::OutputPaths(const Schema& /*input*/) const {
  return {options_.output};
}

Schema VocabOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, name());
  return Schema();
}

std::string VocabOperator::Describe() const {
  return "T5 PEGASUS vocabulary of " + std::to_string(options_.size) + " tokens from " +
         options_.field + " -> " + options_.output;
}

std::unique_ptr<BatchWriter> VocabOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<VocabRun>(*this, ctx.exec, ctx.stats);
}

static const OperatorRegistrar kRegisterVocab(OperatorDef{
    .name = "vocab",
    .role = OperatorRole::kSink,
    .synopsis = "vocab -o vocab.txt [--size 50000] [--field text] [options]",
    .summary = "Build a T5 PEGASUS WordPiece vocabulary (jieba words + characters) as vocab.txt",
    .details =
        "Each record is normalised as the t5pegasus tokenizer does (lowercase, NFD, accents "
        "stripped) and cut by jieba (HMM=False). Candidates: every jieba word of two or more "
        "characters, and the characters of the BERT basic words inside each jieba word (the "
        "first as 'c', the others as '##c'). The vocabulary is BERT's special layout ([PAD]=0, "
        "[unused1..99], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103) followed by the most "
        "frequent candidates, ties broken by token bytes, up to --size lines. Counting stays "
        "within the memory budget (sorted runs spill to --tmp-dir and are merged), and the "
        "result is the same for any --threads and --memory.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("output,o", po::value<std::string>()->required(),
                                "vocab.txt to write")(
              "size", CountValue(0, std::numeric_limits<int32_t>::max())->default_value(50000),
              "lines of the vocabulary, the 104 special tokens included")(
              "field", po::value<std::string>()->default_value("text"), "input string field")(
              "min-frequency", CountValue(1)->default_value(1),
              "leave out candidates seen fewer times")(
              "dict", po::value<std::string>(), "jieba dictionary (default: python3-jieba's)")(
              "user-dict", po::value<std::vector<std::string>>()->composing(),
              "jieba user dictionary (repeatable)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      VocabOptions options;
      options.output = v["output"].as<std::string>();
      options.size = v["size"].as<uint64_t>();
      options.field = v["field"].as<std::string>();
      options.min_frequency = v["min-frequency"].as<uint64_t>();
      if (v.count("dict")) options.dict_path = v["dict"].as<std::string>();
      if (v.count("user-dict")) {
        options.user_dict_paths = v["user-dict"].as<std::vector<std::string>>();
      }
      return std::make_unique<VocabOperator>(std::move(options));
    },
});

}  // namespace corpusflow
