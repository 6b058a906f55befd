#include "operators/tokenize/vocab.h"

#include <xxhash.h>

#include <algorithm>
#include <mutex>
#include <queue>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/file_io.h"
#include "engine/io/spill_file.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/bert_basic_tokenizer.h"
#include "operators/tokenize/jieba_segmenter.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr size_t kSpillBlockBytes = 64 << 10;
/// The smallest memory share of one worker's counter (a tiny --memory still makes progress).
constexpr uint64_t kMinCounterShare = 64 << 10;
/// Runs merged at once: their read buffers (one block each) stay within a few MB.
constexpr size_t kMaxMergeFanIn = 64;
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

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (byte < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

/// A sorted stream of (token, count): a spilled run or a counter in memory.
class CountCursor {
 public:
  virtual ~CountCursor() = default;
  /// Move to the next entry; false at the end.
  virtual bool Next() = 0;
  std::string_view token() const { return token_; }
  uint64_t count() const { return count_; }

 protected:
  std::string_view token_;
  uint64_t count_ = 0;
};

class MemoryCursor : public CountCursor {
 public:
  explicit MemoryCursor(std::vector<std::pair<std::string_view, uint64_t>> entries)
      : entries_(std::move(entries)) {}
  bool Next() override {
    if (next_ >= entries_.size()) return false;
    token_ = entries_[next_].first;
    count_ = entries_[next_].second;
    ++next_;
    return true;
  }

 private:
  std::vector<std::pair<std::string_view, uint64_t>> entries_;
  size_t next_ = 0;
};

class RunCursor : public CountCursor {
 public:
  RunCursor(SpillFile& file, std::vector<SpillBlockHandle> blocks)
      : file_(file), blocks_(std::move(blocks)) {}
  bool Next() override {
    while (rest_.empty()) {
      if (next_block_ >= blocks_.size()) return false;
      const SpillBlockHandle& block = blocks_[next_block_++];
      buffer_.resize(block.raw_size);
      file_.Read(block, buffer_.data(), decoder_);
      file_.Release(block);
      rest_ = buffer_;
    }
    uint64_t length = 0;
    if (!GetVarint(&rest_, &length) || length > rest_.size()) Corrupt();
    token_ = rest_.substr(0, length);
    rest_.remove_prefix(length);
    if (!GetVarint(&rest_, &count_)) Corrupt();
    return true;
  }

 private:
  [[noreturn]] void Corrupt() const {
    throw CorruptionError(file_.path().string() + ": malformed vocabulary count run");
  }

  SpillFile& file_;
  std::vector<SpillBlockHandle> blocks_;
  size_t next_block_ = 0;
  SpillBlockDecoder decoder_;
  std::string buffer_;
  std::string_view rest_;
};

/// Writes a sorted run of (token, count) as spill blocks.
class RunWriter {
 public:
  explicit RunWriter(SpillFile& file) : file_(file) {}
  void Add(std::string_view token, uint64_t count) {
    PutVarint(token.size(), &raw_);
    raw_.append(token);
    PutVarint(count, &raw_);
    if (raw_.size() >= kSpillBlockBytes) Flush();
  }
  std::vector<SpillBlockHandle> Finish() {
    Flush();
    return std::move(blocks_);
  }

 private:
  void Flush() {
    if (raw_.empty()) return;
    blocks_.push_back(file_.Append(encoder_.Encode(raw_)));
    raw_.clear();
  }

  SpillFile& file_;
  SpillBlockEncoder encoder_;
  std::string raw_;
  std::vector<SpillBlockHandle> blocks_;
};

/// Merge sorted cursors by token bytes, calling `emit(token, count)` once per distinct token with
/// the sum of its counts.
template <typename Emit>
void MergeCursors(std::vector<std::unique_ptr<CountCursor>>& cursors, Emit&& emit) {
  auto after = [](const CountCursor* a, const CountCursor* b) { return a->token() > b->token(); };
  std::priority_queue<CountCursor*, std::vector<CountCursor*>, decltype(after)> heap(after);
  for (auto& cursor : cursors) {
    if (cursor->Next()) heap.push(cursor.get());
  }
  std::string token;
  while (!heap.empty()) {
    CountCursor* first = heap.top();
    heap.pop();
    token.assign(first->token());
    uint64_t count = first->count();
    if (first->Next()) heap.push(first);
    while (!heap.empty() && heap.top()->token() == token) {
      CountCursor* same = heap.top();
      heap.pop();
      count += same->count();
      if (same->Next()) heap.push(same);
    }
    emit(std::string_view(token), count);
  }
}

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
        segmenter_(
            JiebaSegmenter::Load(JiebaSegmenter::DictionaryPathOrDefault(op.options().dict_path),
                                 op.options().user_dict_paths)),
        basic_(/*lowercase=*/false) {
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
    std::vector<std::unique_ptr<CountCursor>> cursors;
    if (!runs_.empty()) {
      // Counting spilled: every count goes to disk, then runs are merged kMaxMergeFanIn at a
      // time until one final merge remains.
      for (const auto& counter : counters_) {
        if (counter->size() > 0) Spill(*counter);
      }
      size_t next = 0;
      while (runs_.size() - next > kMaxMergeFanIn) {
        std::vector<std::unique_ptr<CountCursor>> group;
        for (size_t i = 0; i < kMaxMergeFanIn; ++i) {
          group.push_back(std::make_unique<RunCursor>(*spill_, std::move(runs_[next++])));
        }
        RunWriter writer(*spill_);
        MergeCursors(group,
                     [&](std::string_view token, uint64_t count) { writer.Add(token, count); });
        runs_.push_back(writer.Finish());
      }
      for (; next < runs_.size(); ++next) {
        cursors.push_back(std::make_unique<RunCursor>(*spill_, std::move(runs_[next])));
      }
    } else {
      for (const auto& counter : counters_) {
        if (counter->size() > 0) {
          cursors.push_back(std::make_unique<MemoryCursor>(counter->SortedEntries()));
        }
      }
    }
    const std::vector<std::string>& specials = VocabSpecialTokens();
    const VocabOptions& options = op_.options();
    TopTokens top(options.size - specials.size());
    uint64_t distinct = 0;
    MergeCursors(cursors, [&](std::string_view token, uint64_t count) {
      ++distinct;
      if (count < options.min_frequency) return;
      if (std::find(specials.begin(), specials.end(), token) != specials.end()) return;
      top.Offer(token, count);
    });

    OutputOptions output_options;
    output_options.run_files = ctx_.run_files();
    std::unique_ptr<OutputStream> out = CreateOutput(options.output, output_options);
    std::string text;
    for (const std::string& special : specials) text += special + "\n";
    const auto kept = top.Take();
    for (const auto& [count, kept_token] : kept) {
      text += kept_token;
      text += '\n';
      if (text.size() > (1 << 20)) {
        out->Write(text);
        text.clear();
      }
    }
    out->Write(text);
    out->Close();
    ctx_.DeferCommit(DeferOutput(std::move(out)));
    stats_.Add("distinct_candidates", distinct);
    stats_.Add("spilled_runs", spilled_runs_);
    stats_.Set("vocab_size", static_cast<double>(specials.size() + kept.size()));
    if (!kept.empty()) stats_.Set("min_kept_count", static_cast<double>(kept.back().first));
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

  /// Write a counter as a sorted run to the spill file and empty it.
  void Spill(TokenCounter& counter) {
    RunWriter writer(SpillFileLocked());
    for (const auto& [token, count] : counter.SortedEntries()) writer.Add(token, count);
    std::vector<SpillBlockHandle> blocks = writer.Finish();
    counter.Clear();
    std::lock_guard lock(mu_);
    runs_.push_back(std::move(blocks));
    ++spilled_runs_;
  }

  SpillFile& SpillFileLocked() {
    std::lock_guard lock(mu_);
    if (!spill_) {
      spill_ = std::make_unique<SpillFile>(ctx_.temp_dir().NewFilePath("vocab-counts", ".spill"),
                                           ctx_.file_system());
    }
    return *spill_;
  }

  const VocabOperator& op_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  std::unique_ptr<JiebaSegmenter> segmenter_;
  BertBasicTokenizer basic_;
  uint64_t counter_share_ = 0;
  std::mutex mu_;
  std::vector<std::unique_ptr<TokenCounter>> counters_;
  std::unique_ptr<SpillFile> spill_;
  std::vector<std::vector<SpillBlockHandle>> runs_;
  uint64_t spilled_runs_ = 0;
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

std::vector<std::string> VocabOperator::OutputPaths() const { return {options_.output}; }

Schema VocabOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, name());
  return Schema();
}

std::string VocabOperator::Describe() const {
  return "T5 PEGASUS vocabulary of " + std::to_string(options_.size) + " tokens from " +
         options_.field + " -> " + options_.output;
}

std::unique_ptr<BatchWriter> VocabOperator::Open(ExecContext& ctx, OperatorStats& stats) const {
  return std::make_unique<VocabRun>(*this, ctx, stats);
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
              "size", po::value<size_t>()->default_value(50000),
              "lines of the vocabulary, the 104 special tokens included")(
              "field", po::value<std::string>()->default_value("text"), "input string field")(
              "min-frequency", po::value<uint64_t>()->default_value(1),
              "leave out candidates seen fewer times")(
              "dict", po::value<std::string>(), "jieba dictionary (default: python3-jieba's)")(
              "user-dict", po::value<std::vector<std::string>>()->composing(),
              "jieba user dictionary (repeatable)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      VocabOptions options;
      options.output = v["output"].as<std::string>();
      options.size = v["size"].as<size_t>();
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
