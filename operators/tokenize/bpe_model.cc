#include "operators/tokenize/bpe_model.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <limits>

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {

// ---------------------------------------------------------------------------------------------
// Tables: token bytes -> id, id -> token bytes, and (left id, right id) -> (merge rank, id).

/// An open-addressing table from byte strings (held in one arena) to ids.
class BytesTable {
 public:
  /// False when `bytes` is already there.
  bool Insert(std::string_view bytes, int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t hash = XXH3_64bits(bytes.data(), bytes.size());
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.length == kEmpty) {
        slot = Slot{hash, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(bytes.size()),
                    id};
        arena_.append(bytes);
        ++size_;
        return true;
      }
      if (slot.hash == hash && View(slot) == bytes) return false;
    }
  }

  /// Room for `n` strings of `bytes` bytes in all, without growing.
  void Reserve(size_t n, size_t bytes) {
    arena_.reserve(bytes);
    size_t capacity = 64;
    while (capacity < n * 2) capacity *= 2;
    if (capacity <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.length != kEmpty) Place(slot);
    }
  }

  std::optional<int32_t> Find(std::string_view bytes) const {
    if (size_ == 0) return std::nullopt;
    const uint64_t hash = XXH3_64bits(bytes.data(), bytes.size());
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.length == kEmpty) return std::nullopt;
      if (slot.hash == hash && View(slot) == bytes) return slot.id;
    }
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = kEmpty;
    int32_t id = 0;
  };
  std::string_view View(const Slot& slot) const {
    return std::string_view(arena_.data() + slot.offset, slot.length);
  }
  void Grow() { Reserve(std::max<size_t>(32, size_ * 2), arena_.size() * 2); }
  void Place(const Slot& slot) {
    size_t i = slot.hash & mask_;
    while (slots_[i].length != kEmpty) i = (i + 1) & mask_;
    slots_[i] = slot;
  }

  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// The pairs that merge, by their left id: the pairs of each left id are one row, sorted by
/// right id (compressed rows), so the lookups of a piece touch few cache lines: a row is
/// contiguous and the rows of frequent tokens stay in cache, where a hash table would scatter
/// every pair over tens of MB.
class PairIndex {
 public:
  void Reserve(size_t n) { pending_.reserve(n); }
  void Add(int32_t left, int32_t right, uint32_t rank, int32_t merged) {
    pending_.push_back({left, right, rank, merged});
  }
  /// Sort the pairs added into rows; of a pair added twice the lowest rank stays (the highest
  /// with `keep_highest`).
  void Build(bool keep_highest = false) {
    std::sort(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
      return a.left != b.left     ? a.left < b.left
             : a.right != b.right ? a.right < b.right
                                  : (keep_highest ? a.rank > b.rank : a.rank < b.rank);
    });
    int32_t max_left = -1;
    for (const Pending& p : pending_) max_left = std::max(max_left, p.left);
    row_.assign(static_cast<size_t>(max_left) + 2, 0);
    right_.clear();
    entry_.clear();
    for (size_t i = 0; i < pending_.size(); ++i) {
      const Pending& p = pending_[i];
      if (i > 0 && pending_[i - 1].left == p.left && pending_[i - 1].right == p.right) continue;
      ++row_[static_cast<size_t>(p.left) + 1];
      right_.push_back(p.right);
      entry_.push_back({p.rank, p.merged});
    }
    for (size_t r = 1; r < row_.size(); ++r) row_[r] += row_[r - 1];
    pending_.clear();
    pending_.shrink_to_fit();
  }
  bool Find(int32_t left, int32_t right, uint32_t* rank, int32_t* merged) const {
    if (left < 0 || static_cast<size_t>(left) + 1 >= row_.size()) return false;
    const uint32_t begin = row_[left];
    const uint32_t end = row_[left + 1];
    uint32_t at;
    if (end - begin <= 16) {
      for (at = begin; at < end && right_[at] < right; ++at) {
      }
    } else {
      at = static_cast<uint32_t>(
          std::lower_bound(right_.begin() + begin, right_.begin() + end, right) - right_.begin());
    }
    if (at == end || right_[at] != right) return false;
    *rank = entry_[at].rank;
    *merged = entry_[at].merged;
    return true;
  }
  /// `f(left, right)` for every pair that merges.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t left = 0; left + 1 < row_.size(); ++left) {
      for (uint32_t at = row_[left]; at < row_[left + 1]; ++at) {
        f(static_cast<int32_t>(left), right_[at]);
      }
    }
  }

 private:
  struct Pending {
    int32_t left;
    int32_t right;
    uint32_t rank;
    int32_t merged;
  };
  struct Entry {
    uint32_t rank;
    int32_t merged;
  };
  std::vector<Pending> pending_;
  /// Row r (left id r) is [row_[r], row_[r + 1]) of right_ and entry_.
  std::vector<uint32_t> row_;
  std::vector<int32_t> right_;
  std::vector<Entry> entry_;
};

/// The length of the UTF-8 sequence at `s[i]` by its structure alone (an ASCII byte, or a lead
/// byte and as many continuation bytes as it announces; overlong forms and surrogates count),
/// and its code point; 0 when no such sequence starts there.
inline size_t StructuralChar(std::string_view s, size_t i, uint32_t* cp) {
  const auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) {
    *cp = c0;
    return 1;
  }
  size_t length;
  uint32_t value;
  if (c0 >= 0xC0 && c0 < 0xE0) {
    length = 2, value = c0 & 0x1F;
  } else if (c0 >= 0xE0 && c0 < 0xF0) {
    length = 3, value = c0 & 0x0F;
  } else if (c0 >= 0xF0 && c0 < 0xF8) {
    length = 4, value = c0 & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    value = (value << 6) | (c & 0x3F);
  }
  *cp = value;
  return length;
}

/// The character boundaries a merge can cross. A merge that joins parts across the boundary
/// between characters A and B of a piece makes a pair (left, right) of the pair index whose
/// junction falls there: `left` ends with all of A or with its last bytes, `right` starts with
/// all of B or with its first bytes. Each such junction is kept as one of four keys: (A, B),
/// (A, B's first byte), (A's last byte, B), (A's last byte, B's first byte). A boundary none of
/// whose keys is kept is crossed by no merge, so the parts on either side merge alone and give
/// the ids of the whole (Encode cuts long pieces there). A 128 KiB bit filter in front of the
/// exact set answers most boundaries of CJK text without touching the set.
class Crossings {
 public:
  /// Keep the junction of `left` and `right` (a pair that merges; empty sides are not tokens).
  void AddJunction(std::string_view left, std::string_view right) {
    if (left.empty() || right.empty()) return;
    uint32_t cp_b;
    const size_t length_b = StructuralChar(right, 0, &cp_b);
    if (length_b == 0 && (static_cast<unsigned char>(right[0]) & 0xC0) == 0x80) {
      return;  // inside a character: never a boundary of a piece
    }
    // The last character of `left`: all of it (its lead byte is in `left`), else its last byte.
    size_t j = left.size();
    while (j > 0 && (static_cast<unsigned char>(left[j - 1]) & 0xC0) == 0x80) --j;
    uint32_t cp_a = 0;
    const bool whole_a = j > 0 && StructuralChar(left, j - 1, &cp_a) == left.size() - j + 1;
    const auto last_a = static_cast<unsigned char>(left.back());
    const auto first_b = static_cast<unsigned char>(right[0]);
    const bool whole_b = length_b > 0;
    Insert(whole_a ? (whole_b ? Key(kWhole, cp_a, cp_b) : Key(kPartRight, cp_a, first_b))
                   : (whole_b ? Key(kPartLeft, last_a, cp_b) : Key(kParts, last_a, first_b)));
  }

  /// Whether a merge can cross the boundary between the characters A (`length_a` bytes ending
  /// with `last_a`, code point `cp_a`) and B (`length_b` bytes starting with `first_b`), both
  /// whole sequences (StructuralChar).
  bool Crossed(uint32_t cp_a, size_t length_a, unsigned char last_a, uint32_t cp_b, size_t length_b,
               unsigned char first_b) const {
    if (Has(Key(kWhole, cp_a, cp_b))) return true;
    if (length_b > 1 && Has(Key(kPartRight, cp_a, first_b))) return true;
    if (length_a > 1 && Has(Key(kPartLeft, last_a, cp_b))) return true;
    return length_a > 1 && length_b > 1 && Has(Key(kParts, last_a, first_b));
  }

  bool empty() const { return size_ == 0; }

 private:
  enum Kind : uint64_t { kWhole = 0, kPartRight = 1, kPartLeft = 2, kParts = 3 };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr size_t kFilterWords = size_t{1} << 14;  // 2^20 bits

  static uint64_t Key(Kind kind, uint32_t left, uint32_t right) {
    return (uint64_t{kind} << 60) | (uint64_t{left} << 24) | right;
  }
  static uint64_t Hash(uint64_t key) {  // MurmurHash3's finalizer: every bit mixes
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDULL;
    key ^= key >> 33;
    key *= 0xC4CEB9FE1A85EC53ULL;
    return key ^ (key >> 33);
  }

  bool Has(uint64_t key) const {
    const uint64_t h = Hash(key);
    if (((filter_[h >> 50] >> ((h >> 44) & 63)) & 1) == 0) return false;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return true;
      if (slots_[i] == kEmpty) return false;
    }
  }

  void Insert(uint64_t key) {
    if (filter_.empty()) filter_.assign(kFilterWords, 0);
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = Hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return;
      if (slots_[i] == kEmpty) {
        slots_[i] = key;
        ++size_;
        filter_[h >> 50] |= uint64_t{1} << ((h >> 44) & 63);
        return;
      }
    }
  }

  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), kEmpty);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const uint64_t key : old) {
      if (key != kEmpty) Insert(key);
    }
  }

  std::vector<uint64_t> filter_;
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

struct BpeModel::Tables {
  BytesTable tokens;
  /// The merge of every pair of single bytes, by (first << 8 | second): the first merges of
  /// every piece look up this 512 KiB table, which stays in cache, instead of `merges`.
  struct BytePair {
    uint32_t rank;
    int32_t merged;
  };
  std::vector<BytePair> byte_pairs;
  /// Token bytes by id: offset and length into `by_id_bytes` (length 0: no token).
  std::string by_id_bytes;
  std::vector<std::pair<uint32_t, uint32_t>> by_id;
  PairIndex merges;
  /// The character boundaries a merge can cross (Encode's byte path).
  Crossings crossings;
};

/// What a tokenizer.json's BPE adds to the merge (LoadHf, EncodeWord).
struct BpeModel::HfRules {
  bool byte_level = false;
  /// The continuing subword prefix and end-of-word suffix, as the tables hold tokens (bytes for
  /// a byte-level model).
  std::string prefix;
  std::string suffix;
  /// The unknown token's id; `unk_token` set and `unk` empty: the vocabulary lacks it, an error
  /// when a character needs it (as in HF).
  std::optional<std::string> unk_token;
  std::optional<int32_t> unk;
  bool fuse_unk = false;
  bool byte_fallback = false;
  /// The id of the token `<0xNN>` of each byte (-1: none).
  std::array<int32_t, 256> fallback{};
  /// A byte-level model's tokens that are not written in the byte-level alphabet, by their text:
  /// no piece is made of them, but merges and unk_token may name them.
  BytesTable other;
};

// ---------------------------------------------------------------------------------------------
// The byte-level alphabet.

const std::array<char32_t, 256>& ByteLevelAlphabet() {
  static const std::array<char32_t, 256> alphabet = [] {
    std::array<char32_t, 256> a{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      a[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return a;
  }();
  return alphabet;
}

std::optional<std::string> DecodeByteLevel(std::string_view text) {
  static const std::array<int, 324> bytes_of = [] {
    std::array<int, 324> map;
    map.fill(-1);
    const auto& alphabet = ByteLevelAlphabet();
    for (int b = 0; b < 256; ++b) map[alphabet[b]] = b;
    return map;
  }();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c0 = static_cast<unsigned char>(text[i]);
    char32_t cp;
    size_t n;
    if (c0 < 0x80) {
      cp = c0, n = 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < text.size()) {
      cp = ((c0 & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F), n = 2;
    } else {
      return std::nullopt;  // the alphabet ends at U+0143: two bytes at most
    }
    if (cp >= bytes_of.size() || bytes_of[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(bytes_of[cp]));
    i += n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Loading.

namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/// Standard base64 with '=' padding; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0 || text.empty()) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = Base64Value(c)) < 0) {
        return std::nullopt;
      }
    }
    const uint32_t word = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(word >> 16));
    if (pad < 2) out.push_back(static_cast<char>((word >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(word & 0xFF));
  }
  return out;
}

std::string Hex(unsigned char b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

namespace {
/// The rank of a pair that does not merge.
constexpr uint32_t kNoMerge = std::numeric_limits<uint32_t>::max();

/// Tells models apart in the per-thread caches: a model loaded where a freed one lived must not
/// see its entries, so models are numbered, never told apart by address.
std::atomic<uint64_t> next_model_number{1};

}  // namespace

BpeModel::BpeModel(Rule rule)
    : rule_(rule),
      whole_piece_is_token_(rule == Rule::kRanks),
      number_(next_model_number.fetch_add(1)),
      tables_(std::make_unique<Tables>()) {}
BpeModel::~BpeModel() = default;

namespace {

/// Record token `bytes` as `id`: in the lookup table and by id. `where()` names the file and line
/// (made only for an error).
/// ": id N is out of proportion ...", the message of an id far beyond the file's size.
std::string OutOfProportion(int64_t id) {
  return ": id " + std::to_string(id) +
         " is out of proportion to the file (ids must be nearly dense)";
}

/// Ids are stored densely, so an id may not exceed `max_id` (the size of the file in bytes: a
/// file of N tokens has ids below about N; a damaged one with an id of two billion must not
/// allocate 16 GB).
template <typename Where>
void AddToken(BpeModel::Tables& tables, std::string_view bytes, int32_t id, size_t max_id,
              const Where& where) {
  if (bytes.empty()) throw DataError(where() + ": an empty token");
  if (static_cast<size_t>(id) > max_id) throw DataError(where() + OutOfProportion(id));
  if (!tables.tokens.Insert(bytes, id)) throw DataError(where() + ": a token given twice");
  if (static_cast<size_t>(id) >= tables.by_id.size()) tables.by_id.resize(id + 1, {0, 0});
  if (tables.by_id[id].second != 0) {
    throw DataError(where() + ": id " + std::to_string(id) + " given to two tokens");
  }
  tables.by_id[id] = {static_cast<uint32_t>(tables.by_id_bytes.size()),
                      static_cast<uint32_t>(bytes.size())};
  tables.by_id_bytes.append(bytes);
}

}  // namespace

void ForEachTiktokenLine(const std::string& text, const std::string& path,
                         const std::function<void(std::string_view, int32_t,
                                                  const std::function<std::string()>&)>& on_line) {
  TextLines lines(text);
  std::string_view line;
  const std::function<std::string()> where = [&] {
    return path + ":" + std::to_string(lines.line_number());
  };
  while (lines.Next(&line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      throw DataError(where() + ": expected 'base64-token rank', got '" +
                      std::string(line.substr(0, 60)) + "'");
    }
    const std::string_view rank_text = line.substr(space + 1);
    int32_t rank = -1;
    const auto [end, ec] =
        std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (ec != std::errc() || end != rank_text.data() + rank_text.size() || rank < 0) {
      throw DataError(where() + ": the rank '" + std::string(rank_text) +
                      "' is not a whole number below 2^31");
    }
    if (static_cast<size_t>(rank) > text.size()) throw DataError(where() + OutOfProportion(rank));
    on_line(line.substr(0, space), rank, where);
  }
}

void ForEachVocabJsonEntry(const std::string& path,
                           const std::function<void(std::string_view, int32_t)>& on_entry) {
  const simdjson::padded_string json(ReadWholeFile(path));
  simdjson::ondemand::parser parser;
  try {
    simdjson::ondemand::document doc = parser.iterate(json);
    for (auto member : doc.get_object()) {
      const std::string_view key = member.unescaped_key();
      const int64_t id = member.value().get_int64();
      if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
        throw DataError(path + ": the id of '" + std::string(key) + "' is out of range");
      }
      if (static_cast<size_t>(id) > json.size()) {
        throw DataError(path + ": token '" + std::string(key) + "'" + OutOfProportion(id));
      }
      on_entry(key, static_cast<int32_t>(id));
    }
  } catch (const simdjson::simdjson_error& e) {
    throw DataError(path + ": not a JSON object of token ids: " + e.what());
  }
}

std::unique_ptr<BpeModel> BpeModel::LoadTiktoken(const std::string& path) {
  std::unique_ptr<BpeModel> model(new BpeModel(Rule::kRanks));
  const std::string text = ReadWholeFile(path);
  // Sized for the file's lines at once (about 3/4 of a line's bytes are the token's).
  const auto lines_in_file = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  model->tables_->tokens.Reserve(lines_in_file, text.size() * 3 / 4);
  model->tables_->by_id.reserve(lines_in_file);
  model->tables_->by_id_bytes.reserve(text.size() * 3 / 4);
  ForEachTiktokenLine(
      text, path,
      [&](std::string_view token, int32_t rank, const std::function<std::string()>& where) {
        const std::optional<std::string> bytes = DecodeBase64(token);
        if (!bytes) throw DataError(where() + ": the token is not base64");
        AddToken(*model->tables_, *bytes, rank, text.size(), where);
      });
  if (model->tables_->tokens.size() == 0) throw DataError(path + ": no token");
  for (int b = 0; b < 256; ++b) {
    const std::optional<int32_t> id =
        model->tables_->tokens.Find(std::string(1, static_cast<char>(b)));
    if (!id) {
      throw DataError(path + ": no token for the byte " + Hex(static_cast<unsigned char>(b)) +
                      " (a byte-level BPE needs all 256)");
    }
    model->byte_ids_[b] = *id;
  }
  model->vocab_size_ = static_cast<int64_t>(model->tables_->by_id.size());
  model->IndexSplits();
  model->IndexBytePairs();
  return model;
}

void BpeModel::IndexSplits() {
  // Merging parts a and b gives the token a+b, ranked as that token: every way to cut a token in
  // two tokens is a pair that merges. Indexed by the pair's ids, the merge looks up integers, not
  // byte strings.
  Tables& tables = *tables_;
  size_t cuts = 0;
  for (const auto& [offset, length] : tables.by_id) cuts += length > 1 ? length - 1 : 0;
  tables.merges.Reserve(cuts);
  for (size_t id = 0; id < tables.by_id.size(); ++id) {
    const auto [offset, length] = tables.by_id[id];
    const std::string_view token(tables.by_id_bytes.data() + offset, length);
    for (size_t cut = 1; cut < token.size(); ++cut) {
      const std::optional<int32_t> left = tables.tokens.Find(token.substr(0, cut));
      if (!left) continue;
      const std::optional<int32_t> right = tables.tokens.Find(token.substr(cut));
      if (!right) continue;
      tables.merges.Add(*left, *right, static_cast<uint32_t>(id), static_cast<int32_t>(id));
    }
  }
  tables.merges.Build();
}

void BpeModel::IndexBytePairs() {
  Tables& tables = *tables_;
  tables.byte_pairs.assign(65536, Tables::BytePair{kNoMerge, 0});
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      Tables::BytePair& pair = tables.byte_pairs[(a << 8) | b];
      if (!tables.merges.Find(byte_ids_[a], byte_ids_[b], &pair.rank, &pair.merged)) {
        pair.rank = kNoMerge;
      }
    }
  }
  tables.merges.ForEach([&](int32_t left, int32_t right) {
    tables.crossings.AddJunction(TokenBytes(left), TokenBytes(right));
  });
  // And every character boundary inside a token, reachable by merges or not: a piece with an
  // uncrossed boundary is then never a token as a whole, so EncodeWhole may cut before it looks
  // the piece up.
  for (size_t id = 0; id < tables.by_id.size(); ++id) {
    const std::string_view token = TokenBytes(static_cast<int32_t>(id));
    for (size_t q = 1; q < token.size(); ++q) {
      if ((static_cast<unsigned char>(token[q]) & 0xC0) == 0x80) continue;
      tables.crossings.AddJunction(token.substr(0, q), token.substr(q));
    }
  }
}

std::unique_ptr<BpeModel> BpeModel::LoadGpt2(const std::string& vocab_path,
                                             const std::string& merges_path) {
  std::unique_ptr<BpeModel> model(new BpeModel(Rule::kMerges));
  Tables& tables = *model->tables_;
  ForEachVocabJsonEntry(vocab_path, [&](std::string_view key, int32_t id) {
    const std::optional<std::string> bytes = DecodeByteLevel(key);
    if (!bytes) {
      throw DataError(vocab_path + ": the token '" + std::string(key) +
                      "' is not written in GPT-2's byte-level alphabet");
    }
    AddToken(tables, *bytes, id, std::numeric_limits<size_t>::max(),
             [&] { return vocab_path + ": token '" + std::string(key) + "'"; });
  });
  for (int b = 0; b < 256; ++b) {
    const std::optional<int32_t> id = tables.tokens.Find(std::string(1, static_cast<char>(b)));
    if (!id) {
      throw DataError(vocab_path + ": no token for the byte " + Hex(static_cast<unsigned char>(b)) +
                      " (a byte-level BPE needs all 256)");
    }
    model->byte_ids_[b] = *id;
  }
  const std::string merges = ReadWholeFile(merges_path);
  TextLines lines(merges);
  std::string_view line;
  std::vector<std::string_view> all;
  while (lines.Next(&line)) all.push_back(line);
  uint32_t rank = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    line = all[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (i == 0 && line.starts_with("#version")) continue;
    if (line.empty()) continue;
    const std::string where = merges_path + ":" + std::to_string(i + 1);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      throw DataError(where + ": expected two tokens separated by one space");
    }
    const std::optional<std::string> left = DecodeByteLevel(line.substr(0, space));
    const std::optional<std::string> right = DecodeByteLevel(line.substr(space + 1));
    if (!left || !right) throw DataError(where + ": not in GPT-2's byte-level alphabet");
    const std::optional<int32_t> left_id = tables.tokens.Find(*left);
    const std::optional<int32_t> right_id = tables.tokens.Find(*right);
    const std::optional<int32_t> merged = tables.tokens.Find(*left + *right);
    if (!left_id || !right_id || !merged) {
      throw DataError(where + ": '" + std::string(line) + "' names a token " + vocab_path +
                      " lacks (" +
                      (!left_id    ? "the left one"
                       : !right_id ? "the right one"
                                   : "the merged one") +
                      ")");
    }
    tables.merges.Add(*left_id, *right_id, rank++, *merged);
  }
  tables.merges.Build();
  model->vocab_size_ = static_cast<int64_t>(tables.by_id.size());
  model->IndexBytePairs();
  return model;
}

std::unique_ptr<BpeModel> BpeModel::LoadHf(const HfBpeConfig& c) {
  std::unique_ptr<BpeModel> model(new BpeModel(Rule::kMerges));
  model->whole_piece_is_token_ = c.ignore_merges;
  model->hf_ = std::make_unique<HfRules>();
  HfRules& hf = *model->hf_;
  Tables& tables = *model->tables_;
  hf.byte_level = c.byte_level;
  size_t bytes = 0;
  int64_t id_count = 0;
  for (const auto& [text, id] : c.vocab) bytes += text.size();
  tables.tokens.Reserve(c.vocab.size(), bytes);
  // Ids are stored densely: far sparser ids than the vocabulary's size are a damaged file.
  const size_t max_id = c.vocab.size() * 16 + 65536;
  for (const auto& [text, id] : c.vocab) {
    const auto where = [&] { return c.source + ": model.vocab: token '" + text + "'"; };
    if (id < 0) throw DataError(where() + ": a negative id");
    id_count = std::max<int64_t>(id_count, int64_t{id} + 1);
    if (text.empty()) continue;  // no piece is empty
    if (c.byte_level) {
      if (const std::optional<std::string> decoded = DecodeByteLevel(text)) {
        AddToken(tables, *decoded, id, max_id, where);
      } else if (!hf.other.Insert(text, id)) {
        throw DataError(where() + ": a token given twice");
      }
      continue;
    }
    AddToken(tables, text, id, max_id, where);
  }
  // A token as the file writes it.
  const auto find = [&](std::string_view text) -> std::optional<int32_t> {
    if (!c.byte_level) return tables.tokens.Find(text);
    if (const std::optional<std::string> decoded = DecodeByteLevel(text)) {
      return tables.tokens.Find(*decoded);
    }
    return hf.other.Find(text);
  };
  const size_t prefix_length = c.continuing_subword_prefix.size();
  tables.merges.Reserve(c.merges.size());
  for (size_t rank = 0; rank < c.merges.size(); ++rank) {
    const auto& [left, right] = c.merges[rank];
    const auto fail = [&](const std::string& what) {
      throw DataError(c.source + ": model.merges[" + std::to_string(rank) + "] '" + left + " " +
                      right + "': " + what);
    };
    const std::optional<int32_t> left_id = find(left);
    if (!left_id) fail("the vocabulary has no token '" + left + "'");
    const std::optional<int32_t> right_id = find(right);
    if (!right_id) fail("the vocabulary has no token '" + right + "'");
    // As HF: the right part loses the prefix's length (the continuing subword prefix).
    if (right.size() < prefix_length) fail("the right token is shorter than the subword prefix");
    const std::string merged_text = left + right.substr(prefix_length);
    const std::optional<int32_t> merged = find(merged_text);
    if (!merged) fail("the vocabulary has no merged token '" + merged_text + "'");
    tables.merges.Add(*left_id, *right_id, static_cast<uint32_t>(rank), *merged);
  }
  tables.merges.Build(/*keep_highest=*/true);  // HF's merge map keeps the last of a pair
  hf.unk_token = c.unk_token;
  if (c.unk_token) hf.unk = find(*c.unk_token);
  hf.fuse_unk = c.fuse_unk;
  hf.byte_fallback = c.byte_fallback;
  for (int b = 0; b < 256; ++b) {
    static const char* digits = "0123456789ABCDEF";
    const std::string name = std::string("<0x") + digits[b >> 4] + digits[b & 15] + ">";
    hf.fallback[b] = find(name).value_or(-1);
  }
  if (c.byte_level) {
    const std::optional<std::string> prefix = DecodeByteLevel(c.continuing_subword_prefix);
    const std::optional<std::string> suffix = DecodeByteLevel(c.end_of_word_suffix);
    if (!prefix || !suffix) {
      throw DataError(c.source +
                      ": a byte-level BPE whose continuing_subword_prefix or end_of_word_suffix "
                      "is not written in the byte-level alphabet is not supported");
    }
    hf.prefix = *prefix;
    hf.suffix = *suffix;
  } else {
    hf.prefix = c.continuing_subword_prefix;
    hf.suffix = c.end_of_word_suffix;
  }
  // Encode's byte path serves a byte-level model whose bytes are all tokens, without a prefix or
  // a suffix: then every character is its byte's token.
  model->bytes_suffice_ = c.byte_level && hf.prefix.empty() && hf.suffix.empty();
  for (int b = 0; b < 256; ++b) {
    const std::optional<int32_t> id = tables.tokens.Find(std::string(1, static_cast<char>(b)));
    model->byte_ids_[b] = id.value_or(-1);
    if (!id) model->bytes_suffice_ = false;
  }
  if (model->bytes_suffice_) model->IndexBytePairs();
  model->vocab_size_ = id_count;
  return model;
}

std::optional<int32_t> BpeModel::Find(std::string_view bytes) const {
  return tables_->tokens.Find(bytes);
}

std::string_view BpeModel::TokenBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tables_->by_id.size()) return {};
  const auto [offset, length] = tables_->by_id[id];
  return std::string_view(tables_->by_id_bytes.data() + offset, length);
}

// ---------------------------------------------------------------------------------------------
// Merging.

bool BpeModel::PairRank(int32_t left, int32_t right, uint32_t* rank, int32_t* merged) const {
  // A per-thread direct-mapped cache of recent pairs (64 KiB, in L2): the pairs of natural text
  // follow Zipf's law, so most lookups of a long piece (a Chinese clause) hit it.
  struct Slot {
    uint64_t key = ~uint64_t{0};
    uint32_t rank = 0;
    int32_t merged = 0;
  };
  constexpr size_t kSlots = 4096;
  thread_local Slot cache[kSlots];
  thread_local uint64_t cache_owner = 0;
  if (cache_owner != number_) {
    for (Slot& slot : cache) slot = Slot{};
    cache_owner = number_;
  }
  const uint64_t key = (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
  Slot& slot = cache[(key * 0x9E3779B97F4A7C15ULL) >> 52];
  if (slot.key != key) {
    slot.key = key;
    if (!tables_->merges.Find(left, right, &slot.rank, &slot.merged)) slot.rank = kNoMerge;
  }
  *rank = slot.rank;
  *merged = slot.merged;
  return slot.rank != kNoMerge;
}

namespace {

/// Pieces up to this many bytes merge by scanning; longer ones through a heap.
constexpr size_t kScanBytes = 24;
/// Pieces up to this many bytes are cached.
constexpr size_t kCachedBytes = 64;
/// Pieces from this many bytes on are cut where no merge crosses (Encode).
constexpr size_t kCutBytes = 6;
constexpr size_t kCacheSlots = size_t{1} << 15;

/// The index in Tables::byte_pairs of bytes k and k + 1 of `piece`.
size_t BytePairIndex(std::string_view piece, size_t k) {
  return (size_t{static_cast<unsigned char>(piece[k])} << 8) |
         static_cast<unsigned char>(piece[k + 1]);
}

struct MergeScratch {
  /// The ids of the parts, in order.
  std::vector<int32_t> id;
  /// The rank and merged id of the pair (k, k + 1) (scan) or of part k and its successor (heap).
  std::vector<uint32_t> rank;
  std::vector<int32_t> merged;
  // Heap: linked parts.
  std::vector<uint32_t> next;
  std::vector<uint32_t> prev;
  std::vector<uint32_t> version;
  struct Entry {
    uint32_t rank;
    uint32_t part;
    uint32_t version_left;
    uint32_t version_right;
    int32_t merged;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : part > o.part; }
  };
  std::vector<Entry> heap;
};

struct CacheSlot {
  /// The model's number, shifted left, with 1 for a part of a cut piece (EncodePart).
  uint64_t owner = 0;
  std::string piece;
  std::vector<int32_t> ids;
};

/// The slot of `piece` in this thread's direct-mapped cache of the ids of short pieces.
CacheSlot& CacheSlotOf(std::string_view piece) {
  thread_local std::vector<CacheSlot> cache(kCacheSlots);
  return cache[XXH3_64bits(piece.data(), piece.size()) & (kCacheSlots - 1)];
}

/// Merge the `n` parts in `s.id` and append the ids left to `ids`: the pair of lowest rank first,
/// the leftmost of equal ranks. `initial(k, &rank, &merged)` ranks the pair of the first parts k
/// and k + 1, `pair_rank(left, right, &rank, &merged)` any pair of ids; both return false when
/// the pair does not merge. Short pieces scan arrays, long ones use a heap over a linked list.
template <typename Initial, typename PairRankFn>
void MergeParts(MergeScratch& s, size_t n, Initial&& initial, PairRankFn&& pair_rank,
                std::vector<int32_t>* ids) {
  if (n <= kScanBytes) {
    // Scan: parts in arrays; the pair of lowest rank, leftmost among equals, merges first.
    size_t parts = n;
    s.rank.resize(n);
    s.merged.resize(n);
    auto rank_pair = [&](size_t k) {
      if (!pair_rank(s.id[k], s.id[k + 1], &s.rank[k], &s.merged[k])) {
        s.rank[k] = kNoMerge;
      }
    };
    for (size_t k = 0; k + 1 < parts; ++k) {
      if (!initial(k, &s.rank[k], &s.merged[k])) s.rank[k] = kNoMerge;
    }
    for (;;) {
      uint32_t best = kNoMerge;
      size_t at = 0;
      for (size_t k = 0; k + 1 < parts; ++k) {
        if (s.rank[k] < best) best = s.rank[k], at = k;
      }
      if (best == kNoMerge) break;
      s.id[at] = s.merged[at];
      // Part at + 1 joins part at.
      std::copy(s.id.begin() + at + 2, s.id.begin() + parts, s.id.begin() + at + 1);
      if (at + 2 < parts - 1) {
        // The pairs after the one that merged move down one place.
        std::copy(s.rank.begin() + at + 2, s.rank.begin() + parts - 1, s.rank.begin() + at + 1);
        std::copy(s.merged.begin() + at + 2, s.merged.begin() + parts - 1,
                  s.merged.begin() + at + 1);
      }
      --parts;
      if (at + 1 < parts) rank_pair(at);
      if (at > 0) rank_pair(at - 1);
    }
    ids->insert(ids->end(), s.id.begin(), s.id.begin() + static_cast<std::ptrdiff_t>(parts));
    return;
  }

  // Heap: parts in a linked list; each candidate pair carries the versions of its two parts, so
  // a pair changed by an earlier merge is skipped when it surfaces.
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  s.next.resize(n);
  s.prev.resize(n);
  s.version.assign(n, 0);
  s.merged.resize(n);
  for (size_t k = 0; k < n; ++k) {
    s.next[k] = k + 1 < n ? static_cast<uint32_t>(k + 1) : kNone;
    s.prev[k] = k > 0 ? static_cast<uint32_t>(k - 1) : kNone;
  }
  s.heap.clear();
  auto push = [&](uint32_t k) {
    if (k == kNone || s.next[k] == kNone) return;
    const uint32_t r = s.next[k];
    uint32_t rank;
    int32_t merged;
    if (!pair_rank(s.id[k], s.id[r], &rank, &merged)) return;
    s.heap.push_back({rank, k, s.version[k], s.version[r], merged});
    std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>());
  };
  for (uint32_t k = 0; k + 1 < n; ++k) {
    uint32_t rank;
    int32_t merged;
    if (initial(k, &rank, &merged)) s.heap.push_back({rank, k, 0, 0, merged});
  }
  std::make_heap(s.heap.begin(), s.heap.end(), std::greater<>());
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>());
    const MergeScratch::Entry e = s.heap.back();
    s.heap.pop_back();
    const uint32_t k = e.part;
    const uint32_t r = s.next[k];
    if (s.version[k] != e.version_left || r == kNone || s.version[r] != e.version_right) continue;
    s.id[k] = e.merged;
    ++s.version[k];
    s.version[r] = kNone;  // gone
    s.next[k] = s.next[r];
    if (s.next[r] != kNone) s.prev[s.next[r]] = k;
    push(s.prev[k]);
    push(k);
  }
  for (uint32_t k = 0; k != kNone; k = s.next[k]) ids->push_back(s.id[k]);
}

}  // namespace

namespace {

void CheckPieceSize(std::string_view piece) {
  if (piece.size() <= BpeModel::kMaxPieceBytes) return;
  throw DataError("a pre-token of " + std::to_string(piece.size()) +
                  " bytes (letters, digits or spaces without a break) is longer than the " +
                  std::to_string(BpeModel::kMaxPieceBytes) +
                  " bytes a BPE merge takes (it would hold about 50 bytes per byte); drop or cut "
                  "such records first (filter --max-chars)");
}

}  // namespace

void BpeModel::Encode(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.empty()) return;
  CheckPieceSize(piece);
  if (piece.size() > kCachedBytes) {
    EncodeWhole(piece, ids);
    return;
  }
  // A piece that begins with non-ASCII text (a CJK clause, which rarely recurs) is cut before
  // the cache is asked: its parts are cached instead.
  const bool cut_first =
      piece.size() >= kCutBytes &&
      ((static_cast<unsigned char>(piece[0]) | static_cast<unsigned char>(piece[1])) & 0x80) != 0;
  if (cut_first && EncodeCut(piece, ids)) return;
  CacheSlot& slot = CacheSlotOf(piece);
  const uint64_t owner = number_ << 1;
  if (slot.owner == owner && slot.piece == piece) {
    ids->insert(ids->end(), slot.ids.begin(), slot.ids.end());
    return;
  }
  const size_t before = ids->size();
  // A piece that was cut is not kept: its parts are, and they recur where it does not.
  if (!EncodeWhole(piece, ids, /*try_cut=*/!cut_first)) return;
  slot.owner = owner;
  slot.piece.assign(piece);
  slot.ids.assign(ids->begin() + static_cast<std::ptrdiff_t>(before), ids->end());
}

bool BpeModel::EncodeWhole(std::string_view piece, std::vector<int32_t>* ids, bool try_cut) const {
  if (piece.size() == 1) {
    ids->push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return true;
  }
  // A piece that can be cut is no token (the crossings hold every boundary inside a token).
  if (try_cut && piece.size() >= kCutBytes && EncodeCut(piece, ids)) return false;
  if (whole_piece_is_token_) {
    // tiktoken, and HF's ignore_merges: a piece that is a token is that token.
    if (const std::optional<int32_t> id = tables_->tokens.Find(piece)) {
      ids->push_back(*id);
      return true;
    }
  }
  Merge(piece, ids);
  return true;
}

bool BpeModel::EncodeCut(std::string_view piece, std::vector<int32_t>* ids) const {
  const Crossings& crossings = tables_->crossings;
  if (crossings.empty()) return false;
  size_t part = 0;  // where the part being gathered starts
  bool cut = false;
  uint32_t cp_a;
  size_t length_a = StructuralChar(piece, 0, &cp_a);
  for (size_t b = std::max<size_t>(length_a, 1); b < piece.size();) {
    uint32_t cp_b;
    const size_t length_b = StructuralChar(piece, b, &cp_b);
    if (length_a > 0 && length_b > 0 &&
        !crossings.Crossed(cp_a, length_a, static_cast<unsigned char>(piece[b - 1]), cp_b, length_b,
                           static_cast<unsigned char>(piece[b]))) {
      EncodePart(piece.substr(part, b - part), ids);
      part = b;
      cut = true;
    }
    length_a = length_b;
    cp_a = cp_b;
    b += std::max<size_t>(length_b, 1);
  }
  if (cut) EncodePart(piece.substr(part), ids);
  return cut;
}

void BpeModel::EncodePart(std::string_view part, std::vector<int32_t>* ids) const {
  if (part.size() == 1) {
    ids->push_back(byte_ids_[static_cast<unsigned char>(part[0])]);
    return;
  }
  if (part.size() > kCachedBytes) {
    Merge(part, ids);
    return;
  }
  uint32_t cp = 0;
  if (part.size() <= 4 && StructuralChar(part, 0, &cp) == part.size()) {
    // One character (most parts of CJK text): a cache by code point, with its ids inline.
    struct CharSlot {
      uint64_t owner = 0;
      uint32_t cp = 0;
      uint32_t count = 0;
      std::array<int32_t, 4> ids{};
    };
    constexpr size_t kCharSlots = size_t{1} << 13;
    thread_local std::vector<CharSlot> chars(kCharSlots);
    CharSlot& slot = chars[(cp * 0x9E3779B1u) >> (32 - 13)];
    if (slot.owner == number_ && slot.cp == cp) {
      ids->insert(ids->end(), slot.ids.begin(), slot.ids.begin() + slot.count);
      return;
    }
    const size_t before = ids->size();
    Merge(part, ids);
    const size_t count = ids->size() - before;  // at most 4: one per byte
    slot.owner = number_;
    slot.cp = cp;
    slot.count = static_cast<uint32_t>(count);
    std::copy(ids->begin() + static_cast<std::ptrdiff_t>(before), ids->end(), slot.ids.begin());
    return;
  }
  // Parts share the pieces' cache under their own owner tag: a part that is a token need not
  // merge to it, so its ids may differ from those of the same bytes as a whole piece.
  CacheSlot& slot = CacheSlotOf(part);
  const uint64_t owner = (number_ << 1) | 1;
  if (slot.owner == owner && slot.piece == part) {
    ids->insert(ids->end(), slot.ids.begin(), slot.ids.end());
    return;
  }
  const size_t before = ids->size();
  Merge(part, ids);
  slot.owner = owner;
  slot.piece.assign(part);
  slot.ids.assign(ids->begin() + static_cast<std::ptrdiff_t>(before), ids->end());
}

size_t BpeModel::EncodeWord(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.empty()) return 0;
  CheckPieceSize(piece);
  if (bytes_suffice_) {
    Encode(piece, ids);
    return 0;
  }
  return EncodeCharacters(piece, ids);
}

size_t BpeModel::EncodeCharacters(std::string_view piece, std::vector<int32_t>* ids) const {
  const HfRules& hf = *hf_;
  if (whole_piece_is_token_) {
    if (const std::optional<int32_t> id = tables_->tokens.Find(piece)) {
      ids->push_back(*id);
      return 0;
    }
  }
  thread_local MergeScratch s;
  thread_local std::string key;
  thread_local std::vector<int32_t> fallback;
  s.id.clear();
  size_t unknown = 0;
  bool pending_unk = false;
  const auto flush_unk = [&] {
    if (!pending_unk) return;
    s.id.push_back(*hf.unk);
    ++unknown;
    pending_unk = false;
  };
  // The <0xNN> tokens of the bytes of `key` as the file writes it (a byte-level model's bytes
  // are characters of its alphabet); false when one lacks a token.
  const auto byte_fallback = [&](std::string_view text) {
    fallback.clear();
    std::string written;
    for (const char c : text) {
      written.clear();
      if (hf.byte_level) {
        AppendUtf8(ByteLevelAlphabet()[static_cast<unsigned char>(c)], &written);
      } else {
        written.push_back(c);
      }
      for (const char b : written) {
        const int32_t id = hf.fallback[static_cast<unsigned char>(b)];
        if (id < 0) return false;
        fallback.push_back(id);
      }
    }
    return true;
  };
  for (size_t i = 0; i < piece.size();) {
    size_t length = 1;
    if (!hf.byte_level) {
      char32_t cp;
      const int n = DecodeUtf8(piece.data() + i, piece.data() + piece.size(), &cp);
      length = n > 0 ? static_cast<size_t>(n) : 1;
    }
    key.clear();
    if (i > 0) key += hf.prefix;
    key.append(piece.substr(i, length));
    i += length;
    if (i == piece.size()) key += hf.suffix;
    if (const std::optional<int32_t> id = tables_->tokens.Find(key)) {
      flush_unk();
      s.id.push_back(*id);
      continue;
    }
    if (hf.byte_fallback && byte_fallback(key)) {
      // As HF: a pending unknown token is not put first.
      s.id.insert(s.id.end(), fallback.begin(), fallback.end());
      continue;
    }
    if (!hf.unk_token) continue;  // HF drops the character
    if (!hf.unk) {
      throw DataError("the BPE model's unk_token '" + *hf.unk_token +
                      "' is not in its vocabulary, and a character needs it");
    }
    if (pending_unk && hf.fuse_unk) continue;
    flush_unk();
    pending_unk = true;
  }
  flush_unk();
  const auto pair_rank = [&](int32_t left, int32_t right, uint32_t* rank, int32_t* merged) {
    return PairRank(left, right, rank, merged);
  };
  MergeParts(
      s, s.id.size(),
      [&](size_t k, uint32_t* rank, int32_t* merged) {
        return pair_rank(s.id[k], s.id[k + 1], rank, merged);
      },
      pair_rank, ids);
  return unknown;
}

void BpeModel::Merge(std::string_view piece, std::vector<int32_t>* ids) const {
  thread_local MergeScratch s;
  const size_t n = piece.size();
  s.id.resize(n);
  for (size_t k = 0; k < n; ++k) s.id[k] = byte_ids_[static_cast<unsigned char>(piece[k])];
  // The first pairs are pairs of bytes: the dense table.
  MergeParts(
      s, n,
      [&](size_t k, uint32_t* rank, int32_t* merged) {
        const Tables::BytePair& pair = tables_->byte_pairs[BytePairIndex(piece, k)];
        *rank = pair.rank;
        *merged = pair.merged;
        return pair.rank != kNoMerge;
      },
      [&](int32_t left, int32_t right, uint32_t* rank, int32_t* merged) {
        return PairRank(left, right, rank, merged);
      },
      ids);
}

}  // namespace corpusflow
