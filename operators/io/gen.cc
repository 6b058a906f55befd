#include "operators/io/gen.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/file_system.h"
#include "engine/random.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/io/english_words.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Bytes a word copy may write past the word (words are copied 16 bytes at a time).
constexpr size_t kCopySlack = 16;

/// One slot of an alias table: the slot's own word with probability threshold / 2^32, else its
/// alias. Both words' locations are stored in the slot, so a draw touches one cache line.
struct AliasSlot {
  uint32_t threshold;
  uint32_t offset[2];
  uint8_t length[2];
};

/// Words drawn by weight in O(1) with Walker's alias method (Vose's construction).
class WordSampler {
 public:
  /// Add a word and its weight (before Build). REQUIRES: word.size() <= 255.
  void Add(std::string_view word, double weight) {
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
    lengths_.push_back(static_cast<uint8_t>(word.size()));
    bytes_.append(word);
    weights_.push_back(weight);
    max_length_ = std::max(max_length_, word.size());
  }

  /// Build the alias table. REQUIRES: at least one word, positive weights.
  void Build() {
    const size_t n = weights_.size();
    bytes_.append(kCopySlack, '\0');
    double total = 0;
    for (double w : weights_) total += w;
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights_[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    std::vector<uint32_t> alias(n);
    std::vector<double> keep(n, 1.0);
    for (size_t i = 0; i < n; ++i) alias[i] = static_cast<uint32_t>(i);
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back();
      small.pop_back();
      const uint32_t l = large.back();
      keep[s] = scaled[s];
      alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Whatever is left (rounding) keeps its own word with probability 1.
    slots_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      AliasSlot& slot = slots_[i];
      const double p = keep[i] * 4294967296.0;
      slot.threshold = p >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(p);
      const uint32_t other = p >= 4294967295.0 ? static_cast<uint32_t>(i) : alias[i];
      slot.offset[0] = offsets_[i];
      slot.length[0] = lengths_[i];
      slot.offset[1] = offsets_[other];
      slot.length[1] = lengths_[other];
    }
    weights_.clear();
    weights_.shrink_to_fit();
  }

  /// Copy a random word to `p` and return its length. REQUIRES: kCopySlack writable bytes
  /// past the word.
  size_t Emit(SplitMix64& rng, char* p) const {
    // One draw: its high half picks the slot by multiply-shift (uniform to within
    // size() / 2^32, kept for speed and for the documented output), its low half the coin.
    const uint64_t r = rng.Next();
    const AliasSlot& slot = slots_[((r >> 32) * slots_.size()) >> 32];
    const int k = static_cast<uint32_t>(r) >= slot.threshold ? 1 : 0;
    const char* src = bytes_.data() + slot.offset[k];
    const size_t length = slot.length[k];
    std::memcpy(p, src, kCopySlack);
    if (length > kCopySlack) std::memcpy(p + kCopySlack, src + kCopySlack, length - kCopySlack);
    return length;
  }

  size_t size() const { return offsets_.size(); }
  size_t max_length() const { return max_length_; }

 private:
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<uint8_t> lengths_;
  std::vector<double> weights_;
  std::vector<AliasSlot> slots_;
  size_t max_length_ = 0;
};

/// Whether `word` is made only of CJK Unified Ideographs U+4E00..U+9FFF (3-byte UTF-8 each).
bool IsChineseWord(std::string_view word) {
  if (word.empty() || word.size() % 3 != 0) return false;
  for (size_t i = 0; i < word.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(word[i]);
    const auto b1 = static_cast<unsigned char>(word[i + 1]);
    const auto b2 = static_cast<unsigned char>(word[i + 2]);
    if (b0 < 0xE4 || b0 > 0xE9 || (b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return false;
    if (b0 == 0xE4 && b1 < 0xB8) return false;
  }
  return true;
}

/// The contents of the dictionary file; throws IoError naming it.
std::string ReadWholeFile(const std::string& path) {
  File file = FileSystem::Default().OpenForRead(path, "cannot open dictionary");
  std::string data;
  char buffer[1 << 16];
  while (const size_t n = file.Read(buffer, sizeof buffer)) data.append(buffer, n);
  return data;
}

/// Add the Chinese words of a jieba dictionary ("word freq [tag]" per line) weighted by
/// frequency. Words with other characters (ASCII, symbols) and zero frequencies are skipped.
void LoadChineseWords(const std::string& path, WordSampler* sampler) {
  const std::string data = ReadWholeFile(path);
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string_view line(data.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    uint64_t freq = 0;
    bool ok = space != std::string_view::npos && space > 0;
    if (ok) {
      size_t i = space + 1;
      const size_t digits_begin = i;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9' && freq < (uint64_t{1} << 50)) {
        freq = freq * 10 + static_cast<uint64_t>(line[i] - '0');
        ++i;
      }
      ok = i > digits_begin && (i == line.size() || line[i] == ' ');
    }
    if (!ok) {
      throw DataError(path + ":" + std::to_string(line_number) +
                      ": malformed dictionary line (expected 'word frequency [tag]')");
    }
    const std::string_view word = line.substr(0, space);
    if (freq == 0 || word.size() > 255 || !IsChineseWord(word)) continue;
    sampler->Add(word, static_cast<double>(freq));
  }
  if (sampler->size() == 0) throw DataError(path + ": no Chinese words with a frequency");
}

/// ASCII terms that mixed Chinese text is sprinkled with (written for this project).
constexpr std::string_view kAsciiTerms[] = {
    "AI",    "GPU",    "CPU",   "API",   "Python", "Linux", "Windows", "iPhone", "Android",
    "HTTP",  "JSON",   "USB",   "Wi-Fi", "5G",     "PDF",   "DNA",     "NBA",    "CEO",
    "App",   "GitHub", "Java",  "C++",   "SQL",    "Excel", "PPT",     "iPad",   "Google",
    "Tesla", "OK",     "VR",    "Bug",   "IT",     "KTV",   "WTO",     "GDP",    "MP3",
    "4K",    "Top10",  "Q&A",   "B2B",   "O2O",    "SUV",   "LED",     "HTML",   "Go",
    "Rust",  "Docker", "Redis", "MBA",   "PhD",    "IPO",   "PM2.5",   "Mac",    "Office"};

// UTF-8 punctuation.
constexpr std::string_view kChineseComma = "，";
constexpr std::string_view kChineseEnumComma = "、";
constexpr std::string_view kChineseSemicolon = "；";
constexpr std::string_view kChinesePeriod = "。";
constexpr std::string_view kChineseExclamation = "！";
constexpr std::string_view kChineseQuestion = "？";
constexpr std::string_view kYear = "年";

inline char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

inline char* PutNumber(char* p, uint32_t value) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

/// A number in one of a few shapes: 1234, 2019年 (Chinese only), 3.5, 42%.
char* PutNumberTerm(SplitMix64& rng, char* p, bool chinese) {
  switch (rng.Below(4)) {
    case 0:
      return PutNumber(p, 1 + rng.Below(9999));
    case 1:
      p = PutNumber(p, 1950 + rng.Below(75));
      return chinese ? Put(p, kYear) : p;
    case 2:
      p = PutNumber(p, rng.Below(100));
      *p++ = '.';
      return PutNumber(p, 1 + rng.Below(9));
    default:
      p = PutNumber(p, 1 + rng.Below(99));
      *p++ = '%';
      return p;
  }
}

/// Longest ASCII insert: a term or a number term.
constexpr size_t kMaxInsertBytes = 16;
constexpr int kMaxChineseClauses = 4;
constexpr int kMaxChineseClauseWords = 12;
constexpr int kMaxEnglishClauses = 3;
constexpr int kMaxEnglishClauseWords = 12;
/// Largest document target (the last sentence may go past it).
constexpr uint64_t kMaxDocumentTarget = uint64_t{1} << 14;

}  // namespace

struct CorpusGenerator::Tables {
  WordSampler chinese;
  WordSampler english;
  /// Upper bound of one sentence plus its separator, in bytes.
  size_t max_sentence_bytes = 0;
};

namespace {

/// Writes the sentences of one document.
class DocumentWriter {
 public:
  DocumentWriter(const WordSampler& chinese, const WordSampler& english, SplitMix64& rng)
      : chinese_(chinese), english_(english), rng_(rng) {}

  /// A Chinese sentence; with probability insert_rate/16 per clause an ASCII term or number.
  char* ChineseSentence(char* p, uint32_t insert_rate) {
    const int clauses = 1 + static_cast<int>(rng_.Below(kMaxChineseClauses));
    for (int c = 0; c < clauses; ++c) {
      const uint32_t words = 2 + rng_.Below(kMaxChineseClauseWords - 1);
      uint32_t insert_at = words + 1;
      if (insert_rate > 0 && rng_.Below(16) < insert_rate) insert_at = rng_.Below(words + 1);
      for (uint32_t w = 0; w < words; ++w) {
        if (w == insert_at) p = AsciiInsert(p);
        p += chinese_.Emit(rng_, p);
      }
      if (insert_at == words) p = AsciiInsert(p);
      if (c + 1 < clauses) {
        const uint32_t r = rng_.Below(20);
        p = Put(p, r < 14 ? kChineseComma : r < 17 ? kChineseEnumComma : kChineseSemicolon);
      }
    }
    const uint32_t r = rng_.Below(100);
    return Put(p, r < 85 ? kChinesePeriod : r < 92 ? kChineseQuestion : kChineseExclamation);
  }

  /// An English sentence; with probability insert_rate/16 per clause a number.
  char* EnglishSentence(char* p, uint32_t insert_rate) {
    const uint32_t shape = rng_.Below(8);
    const int clauses = shape < 5 ? 1 : shape < 7 ? 2 : 3;
    char* const first = p;
    for (int c = 0; c < clauses; ++c) {
      const uint32_t words = 3 + rng_.Below(kMaxEnglishClauseWords - 2);
      uint32_t insert_at = words + 1;
      if (insert_rate > 0 && rng_.Below(16) < insert_rate) insert_at = 1 + rng_.Below(words - 1);
      for (uint32_t w = 0; w < words; ++w) {
        if (p != first) *p++ = ' ';
        if (w == insert_at) {
          p = PutNumberTerm(rng_, p, /*chinese=*/false);
          *p++ = ' ';
        }
        p += english_.Emit(rng_, p);
      }
      if (c + 1 < clauses) *p++ = ',';
    }
    if (*first >= 'a' && *first <= 'z') *first = static_cast<char>(*first - 'a' + 'A');
    const uint32_t r = rng_.Below(100);
    *p++ = r < 85 ? '.' : r < 93 ? '?' : '!';
    return p;
  }

 private:
  char* AsciiInsert(char* p) {
    if (rng_.Below(2) == 0) {
      return Put(p, kAsciiTerms[rng_.Below(std::size(kAsciiTerms))]);
    }
    return PutNumberTerm(rng_, p, /*chinese=*/true);
  }

  const WordSampler& chinese_;
  const WordSampler& english_;
  SplitMix64& rng_;
};

}  // namespace

GenLanguage ParseGenLanguage(std::string_view text) {
  if (text == "zh") return GenLanguage::kChinese;
  if (text == "en") return GenLanguage::kEnglish;
  if (text == "mixed") return GenLanguage::kMixed;
  throw InvalidArgument("--lang must be zh, en or mixed, not '" + std::string(text) + "'");
}

std::string_view GenLanguageName(GenLanguage language) {
  switch (language) {
    case GenLanguage::kChinese:
      return "zh";
    case GenLanguage::kEnglish:
      return "en";
    case GenLanguage::kMixed:
      return "mixed";
  }
  return "?";
}

CorpusGenerator::CorpusGenerator(const GenOptions& options) : options_(options) {
  auto tables = std::make_unique<Tables>();
  if (options.language != GenLanguage::kEnglish) {
    LoadChineseWords(options.dict_path, &tables->chinese);
    tables->chinese.Build();
  }
  // English words by a Zipf-like law on their rank.
  const auto words = CommonEnglishWords();
  for (size_t rank = 0; rank < words.size(); ++rank) {
    tables->english.Add(words[rank], 1.0 / (static_cast<double>(rank) + 2.7));
  }
  tables->english.Build();
  const size_t chinese_clause =
      kMaxChineseClauseWords * tables->chinese.max_length() + kMaxInsertBytes + 3;
  const size_t english_clause =
      kMaxEnglishClauseWords * (tables->english.max_length() + 1) + kMaxInsertBytes + 2;
  tables->max_sentence_bytes =
      std::max(kMaxChineseClauses * chinese_clause, kMaxEnglishClauses * english_clause) + 8 +
      kCopySlack;
  tables_ = std::move(tables);
}

CorpusGenerator::~CorpusGenerator() = default;

size_t CorpusGenerator::chinese_word_count() const { return tables_->chinese.size(); }

std::string_view CorpusGenerator::Generate(uint64_t index, std::string* scratch) const {
  const Tables& t = *tables_;
  const size_t capacity = kMaxDocumentTarget + 2 * t.max_sentence_bytes;
  if (scratch->size() < capacity) scratch->resize(capacity);
  SplitMix64 rng(Mix64(Mix64(options_.seed) + index * 0xd1b54a32d192ed03ULL));

  // Target length, log-normal-ish: 2^(3 + Binomial(10, 1/2)) .. twice that, so 8 B to 16 KiB
  // with a median near 400 B.
  const int exponent = 3 + std::popcount(rng.Next() & 0x3ff);
  const uint64_t target = (uint64_t{1} << exponent) + rng.Below(1u << exponent);

  // Mixed documents: each sentence is English with probability english_share/8; Chinese
  // clauses get an ASCII term or number with probability 3/16, English ones a number with 1/16.
  uint32_t english_share = 0;
  uint32_t chinese_inserts = 0;
  uint32_t english_inserts = 0;
  switch (options_.language) {
    case GenLanguage::kChinese:
      break;
    case GenLanguage::kEnglish:
      english_share = 8;
      break;
    case GenLanguage::kMixed:
      english_share = 1 + rng.Below(5);
      chinese_inserts = 3;
      english_inserts = 1;
      break;
  }

  DocumentWriter writer(t.chinese, t.english, rng);
  char* const begin = scratch->data();
  char* p = begin;
  bool previous_english = false;
  for (;;) {
    const bool english = english_share == 8 || (english_share > 0 && rng.Below(8) < english_share);
    if (p != begin) {
      if (rng.Below(4) == 0 && options_.paragraphs) {
        *p++ = '\n';
      } else if (previous_english) {
        *p++ = ' ';
      }
    }
    p = english ? writer.EnglishSentence(p, english_inserts)
                : writer.ChineseSentence(p, chinese_inserts);
    previous_english = english;
    if (static_cast<uint64_t>(p - begin) >= target) break;
  }
  return std::string_view(begin, static_cast<size_t>(p - begin));
}

namespace {

/// Consecutive documents generated together by one worker.
struct DocumentChunk {
  std::string bytes;
  /// End offset of each document in `bytes`.
  std::vector<uint32_t> ends;
};

/// The generator of `options`, its word tables built from the dictionary once per run.
std::shared_ptr<const CorpusGenerator> LoadGenerator(const GenOptions& options, ExecContext& ctx) {
  const std::string kind = "gen-" + std::string(GenLanguageName(options.language)) + "-seed-" +
                           std::to_string(options.seed) + (options.paragraphs ? "-paragraphs" : "");
  return ctx.resources().Get<CorpusGenerator>(
      ResourceCache::FileKey(kind, {options.dict_path}),
      [&] { return std::make_unique<CorpusGenerator>(options); });
}

/// Documents per chunk: about 48 KB of text, enough to amortise a task.
constexpr uint64_t kDocumentsPerChunk = 64;

/// Generates documents ahead in parallel chunks (documents depend only on their index, so the
/// output is the same for any thread count) and hands them out in order.
class GenReader : public BatchReader {
 public:
  GenReader(const GenOptions& options, ExecContext& ctx)
      : options_(options), ctx_(ctx), generator_(LoadGenerator(options, ctx)) {}

  bool Next(Batch* out) override {
    if (done_) return false;
    if (out->columns().size() != 1 || out->columns().front().field.name != options_.field) {
      out->Reset();
    }
    StringColumn& column = out->AddString(options_.field);
    const uint64_t batch_bytes = ctx_.batch_bytes();
    const uint64_t produced_before = produced_bytes_;
    while (!done_ && column.DataBytes() < batch_bytes) {
      if (chunk_ == chunks_.size()) GenerateAhead(batch_bytes);
      const DocumentChunk& chunk = chunks_[chunk_];
      const uint32_t begin = document_ == 0 ? 0 : chunk.ends[document_ - 1];
      const uint32_t end = chunk.ends[document_];
      column.Append(std::string_view(chunk.bytes.data() + begin, end - begin));
      if (++document_ == chunk.ends.size()) {
        ++chunk_;
        document_ = 0;
      }
      ++documents_out_;
      produced_bytes_ += end - begin + 1;
      done_ = (options_.bytes > 0 && produced_bytes_ >= options_.bytes) ||
              (options_.docs > 0 && documents_out_ >= options_.docs);
    }
    ctx_.progress().AddBytes(produced_bytes_ - produced_before);
    return column.size() > 0;
  }

 private:
  /// Replace the (consumed) chunks with about one batch of new documents, one chunk per task.
  void GenerateAhead(uint64_t batch_bytes) {
    size_t count = static_cast<size_t>(batch_bytes / (kDocumentsPerChunk * 700) + 1);
    count = std::max(count, static_cast<size_t>(2 * ctx_.threads()));
    uint64_t documents = count * kDocumentsPerChunk;
    if (options_.docs > 0) documents = std::min(documents, options_.docs - next_to_generate_);
    count = static_cast<size_t>((documents + kDocumentsPerChunk - 1) / kDocumentsPerChunk);
    chunks_.resize(count);
    const uint64_t first = next_to_generate_;
    tbb::parallel_for(size_t{0}, count, [&](size_t c) {
      DocumentChunk& chunk = chunks_[c];
      chunk.bytes.clear();
      chunk.ends.clear();
      std::string& scratch = scratch_.local();
      const uint64_t begin = first + c * kDocumentsPerChunk;
      const uint64_t end = std::min(begin + kDocumentsPerChunk, first + documents);
      for (uint64_t i = begin; i < end; ++i) {
        chunk.bytes.append(generator_->Generate(i, &scratch));
        chunk.ends.push_back(static_cast<uint32_t>(chunk.bytes.size()));
      }
    });
    next_to_generate_ = first + documents;
    chunk_ = 0;
    document_ = 0;
  }

  const GenOptions& options_;
  ExecContext& ctx_;
  std::shared_ptr<const CorpusGenerator> generator_;
  tbb::enumerable_thread_specific<std::string> scratch_;
  std::vector<DocumentChunk> chunks_;
  /// The next document to hand out: chunks_[chunk_], document document_ of it.
  size_t chunk_ = 0;
  size_t document_ = 0;
  uint64_t next_to_generate_ = 0;
  uint64_t documents_out_ = 0;
  uint64_t produced_bytes_ = 0;
  bool done_ = false;
};

}  // namespace

GenOperator::GenOperator(GenOptions options) : options_(std::move(options)) {}

void GenOperator::Validate(const PlanContext& /*ctx*/) const {
  if (options_.bytes == 0 && options_.docs == 0) {
    throw InvalidArgument("gen needs --bytes SIZE or --docs N");
  }
  if (options_.language != GenLanguage::kEnglish) {
    if (::access(options_.dict_path.c_str(), R_OK) != 0) {
      ThrowIoError("gen: cannot read dictionary", options_.dict_path, errno);
    }
  }
}

Schema GenOperator::OutputSchema(const Schema& /*input*/) const {
  return Schema({Field{options_.field, FieldType::kString}});
}

std::string GenOperator::Describe() const {
  std::string limit;
  if (options_.bytes > 0) limit = FormatBytes(static_cast<double>(options_.bytes));
  if (options_.docs > 0) {
    limit += (limit.empty() ? "" : " or ") + std::to_string(options_.docs) + " documents";
  }
  std::string text = "generate " + limit + " of synthetic " +
                     std::string(GenLanguageName(options_.language)) + " text (seed " +
                     std::to_string(options_.seed) + (options_.paragraphs ? ", paragraphs" : "") +
                     ") -> " + options_.field;
  return text;
}

std::optional<uint64_t> GenOperator::TotalBytes() const {
  if (options_.bytes == 0) return std::nullopt;
  return options_.bytes;
}

std::unique_ptr<BatchReader> GenOperator::Open(const OpenContext& ctx) const {
  ctx.stats.SetInteger("seed", options_.seed);
  ctx.stats.SetText("lang", std::string(GenLanguageName(options_.language)));
  return std::make_unique<GenReader>(options_, ctx.exec);
}

static const OperatorRegistrar kRegisterGen(OperatorDef{
    .name = "gen",
    .role = OperatorRole::kSource,
    .synopsis = "gen --bytes SIZE [--lang zh|en|mixed] [--seed N] [options]",
    .summary = "Generate a deterministic synthetic corpus (Chinese, English or mixed)",
    .details =
        "Documents of a few words to several KB made of sentences with real punctuation: "
        "Chinese words drawn by frequency from the jieba dictionary, common English words, or "
        "a mix of both with digits and ASCII terms. Generation stops after the document that "
        "brings the text bytes plus one newline per document to --bytes, so `gen --bytes 2G | "
        "write x.txt` writes a file of about 2 GiB. The same seed gives byte-identical output "
        "for any --threads and --memory.",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("bytes", ByteSizeValue(1), "stop after about SIZE bytes (e.g. 2G)");
          add("docs", CountValue(1), "stop after N documents");
          add("lang", po::value<std::string>()->default_value("mixed"), "zh, en or mixed");
          add("seed", CountValue()->default_value(1), "random seed");
          add("paragraphs", po::bool_switch(),
              "separate paragraphs with '\\n' (for JSONL output; otherwise a document is one "
              "line)");
          add("field", po::value<std::string>()->default_value("text"), "column to produce");
          add("dict", po::value<std::string>()->default_value(CORPUSFLOW_JIEBA_DICT),
              "jieba dictionary the Chinese words come from");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      GenOptions options;
      if (v.count("bytes")) options.bytes = v["bytes"].as<uint64_t>();
      if (v.count("docs")) options.docs = v["docs"].as<uint64_t>();
      if (options.bytes == 0 && options.docs == 0) {
        throw InvalidArgument(
            "give --bytes SIZE (or --docs N); usage: gen --bytes SIZE "
            "[--lang zh|en|mixed] [--seed N]");
      }
      options.language = ParseGenLanguage(v["lang"].as<std::string>());
      options.seed = v["seed"].as<uint64_t>();
      options.paragraphs = v["paragraphs"].as<bool>();
      options.field = v["field"].as<std::string>();
      if (options.field.empty()) throw InvalidArgument("--field must not be empty");
      options.dict_path = v["dict"].as<std::string>();
      return std::make_unique<GenOperator>(std::move(options));
    },
});

}  // namespace corpusflow
