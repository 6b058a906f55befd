#include "operators/pack/packer.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstddef>

#include "engine/check.h"

namespace corpusflow {
namespace {

/// Make `ids` an empty buffer of `capacity` ids or more: its own, `spare`'s (a recycled window's
/// buffer, taken), or a new one, counted in `allocated`.
template <typename Ids>
void ReserveBuffer(Ids& ids, Ids& spare, uint64_t capacity, uint64_t& allocated) {
  ids.clear();
  if (ids.capacity() >= capacity) return;
  if (spare.capacity() >= capacity) {
    ids.swap(spare);
    spare.clear();
    return;
  }
  Ids buffer;
  buffer.reserve(capacity);
  ids.swap(buffer);
  ++allocated;
}

/// Append `n` copies of `value` to `values`.
void AppendFill(std::vector<int32_t>& values, size_t n, int32_t value) {
  values.resize(values.size() + n, value);
}

}  // namespace

void AdviseHugePages(void* data, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePageBytes - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

void EmitSample(std::span<const int32_t> ids, std::span<const uint32_t> ends, uint32_t length,
                int32_t pad_id, SampleColumns& out) {
  CF_DCHECK(!ids.empty() && ids.size() <= length);
  const size_t filled = ids.size();
  std::vector<int32_t>& values = out.input_ids.values();
  values.insert(values.end(), ids.begin(), ids.end());
  AppendFill(values, length - filled, pad_id);
  out.input_ids.EndRecord();
  AppendFill(out.loss_mask.values(), filled, 1);
  AppendFill(out.loss_mask.values(), length - filled, 0);
  out.loss_mask.EndRecord();
  out.cu_seqlens.AppendValue(0);
  for (const uint32_t end : ends) {
    if (end < filled) out.cu_seqlens.AppendValue(static_cast<int32_t>(end));
  }
  out.cu_seqlens.AppendValue(static_cast<int32_t>(filled));
  out.cu_seqlens.EndRecord();
  out.SampleDone();
}

// ---------------------------------------------------------------------------------------------
// ConcatPacker

ConcatPacker::ConcatPacker(ConcatOptions options)
    : options_(options), window_(options.length + (options.plus_one ? 1 : 0)) {
  CF_CHECK(options_.length >= 1, "ConcatPacker: length must be >= 1");
  CF_CHECK(options_.window_tokens >= 1, "ConcatPacker: empty window");
  ids_.reserve(window_);
}

uint64_t ConcatPacker::WindowMemoryBytes(const ConcatOptions& options) {
  const uint64_t window = options.length + (options.plus_one ? 1 : 0);
  const uint64_t tokens = std::max(options.window_tokens, window);
  // The window's ids (32-bit, and while a window is widened its 16-bit ids besides); per sample
  // (at most one per L ids, plus the last) its bin end, per piece (at most one per id, plus one
  // per sample) a Piece; the ends of the sample being filled.
  const uint64_t samples = tokens / options.length + 1;
  return tokens * (sizeof(int32_t) + sizeof(uint16_t)) + samples * sizeof(uint32_t) +
         (tokens + samples) * sizeof(PackedWindow::Piece) + window * sizeof(uint32_t);
}

uint64_t ConcatPacker::WindowCapacity() const {
  return std::max<uint64_t>(options_.window_tokens, window_);
}

void ConcatPacker::set_window_sink(std::function<void(PackedWindow&&)> sink) {
  CF_CHECK(counts_.documents == 0, "ConcatPacker::set_window_sink after Add");
  sink_ = std::move(sink);
  // The window's ids go to a buffer of its final size at once: growing it would copy.
  ids_ = WindowIds();
  narrow_ = true;
  ReserveBuffer(narrow_ids_, spare_.narrow_tokens, WindowCapacity(), counts_.window_buffers);
}

void ConcatPacker::Recycle(PackedWindow&& window) {
  spare_ = std::move(window);
  spare_.Clear();
}

void ConcatPacker::Add(std::span<const int32_t> document, SampleColumns& out) {
  CF_DCHECK(!document.empty());
  ++counts_.documents;
  ++unemitted_documents_;
  Push(document, out);
  if (options_.eod) {
    const int32_t eod = *options_.eod;
    Push(std::span<const int32_t>(&eod, 1), out);
  }
  // A document that ends exactly where a window ends was emitted with it; its end inside the
  // next window is then the overlap it left there (plus_one), or nothing.
  if (Held() > start_) ends_.push_back(static_cast<uint32_t>(Held() - start_));
}

void ConcatPacker::Push(std::span<const int32_t> ids, SampleColumns& out) {
  while (!ids.empty()) {
    const size_t take = std::min<size_t>(window_ - (Held() - start_), ids.size());
    if (narrow_ && !AppendNarrow(ids.first(take), std::nullopt, narrow_ids_)) Widen();
    if (!narrow_) {
      ids_.insert(ids_.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(take));
    }
    ids = ids.subspan(take);
    if (Held() - start_ == window_) EmitFull(out);
  }
}

void ConcatPacker::EmitCurrent(size_t filled, SampleColumns& out) {
  if (!sink_) {
    EmitSample(std::span<const int32_t>(ids_.data() + start_, filled), ends_, window_,
               options_.pad_id, out);
    return;
  }
  // One bin: the document pieces of the sample, each ending at a document end inside it, the
  // last at `filled`.
  std::vector<PackedWindow::Piece>& pieces = window_being_built_.pieces;
  uint64_t begin = start_;
  for (const uint32_t end : ends_) {
    if (end >= filled) break;
    pieces.push_back(PackedWindow::Piece{begin, static_cast<uint32_t>(start_ + end - begin)});
    begin = start_ + end;
  }
  pieces.push_back(PackedWindow::Piece{begin, static_cast<uint32_t>(start_ + filled - begin)});
  window_being_built_.bin_ends.push_back(static_cast<uint32_t>(pieces.size()));
}

void ConcatPacker::EmitFull(SampleColumns& out) {
  EmitCurrent(window_, out);
  ++counts_.samples;
  counts_.tokens += window_;
  // The next window starts L ids further: it begins with this one's last window - L ids.
  const uint32_t stride = options_.length;
  start_ += stride;
  size_t kept = 0;
  for (const uint32_t end : ends_) {
    if (end > stride) ends_[kept++] = end - stride;
  }
  ends_.resize(kept);
  carried_ = Held() - start_;
  unemitted_documents_ = 0;
  if (!sink_) {
    ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  } else if (start_ + window_ > WindowCapacity()) {
    HandOver(/*more=*/true);
  }
}

void ConcatPacker::Widen() {
  CF_DCHECK(narrow_);
  ReserveBuffer(ids_, spare_.tokens, WindowCapacity(), counts_.window_buffers);
  ids_.insert(ids_.end(), narrow_ids_.begin(), narrow_ids_.end());
  narrow_ = false;
  // The 16-bit buffer stays, emptied: it leaves with the window and comes back for a later one.
  narrow_ids_.clear();
}

void ConcatPacker::HandOver(bool more) {
  // The next window starts with the ids from start_ on (fewer than a sample), in 16 bits when
  // they fit: kept aside while the window leaves with its buffers.
  carry_narrow_.clear();
  carry_.clear();
  bool carry_is_narrow = true;
  if (more) {
    if (narrow_) {
      carry_narrow_.insert(carry_narrow_.end(),
                           narrow_ids_.begin() + static_cast<std::ptrdiff_t>(start_),
                           narrow_ids_.end());
    } else if (!AppendNarrow(std::span<const int32_t>(ids_).subspan(start_), std::nullopt,
                             carry_narrow_)) {
      carry_is_narrow = false;
      carry_.insert(carry_.end(), ids_.begin() + static_cast<std::ptrdiff_t>(start_), ids_.end());
    }
  }
  window_being_built_.narrow = narrow_;
  window_being_built_.tokens.swap(ids_);
  window_being_built_.narrow_tokens.swap(narrow_ids_);
  start_ = 0;
  // A window without a sample (the end of a stream with nothing left) keeps its buffers here.
  if (window_being_built_.bins() > 0) {
    sink_(std::move(window_being_built_));
  } else {
    Recycle(std::move(window_being_built_));
  }
  // The next window: the pieces and bins of the window given back (when one was), and a buffer
  // of ids of a whole window.
  window_being_built_ = PackedWindow();
  window_being_built_.pieces.swap(spare_.pieces);
  window_being_built_.bin_ends.swap(spare_.bin_ends);
  if (!more) return;
  narrow_ = carry_is_narrow;
  if (narrow_) {
    ReserveBuffer(narrow_ids_, spare_.narrow_tokens, WindowCapacity(), counts_.window_buffers);
    narrow_ids_.insert(narrow_ids_.end(), carry_narrow_.begin(), carry_narrow_.end());
  } else {
    ReserveBuffer(ids_, spare_.tokens, WindowCapacity(), counts_.window_buffers);
    ids_.insert(ids_.end(), carry_.begin(), carry_.end());
  }
}

void ConcatPacker::Finish(SampleColumns& out) {
  const size_t filled = Held() - start_;
  if (filled > carried_) {
    if (options_.keep_last) {
      EmitCurrent(filled, out);
      ++counts_.samples;
      counts_.tokens += filled;
      counts_.padding += window_ - filled;
    } else {
      counts_.dropped_tokens += filled - carried_;
      counts_.dropped_documents += unemitted_documents_;
    }
  }
  if (sink_) HandOver(/*more=*/false);
  ids_.clear();
  start_ = 0;
  ends_.clear();
  carried_ = 0;
  unemitted_documents_ = 0;
}

// ---------------------------------------------------------------------------------------------
// BinPacker

BinPacker::BinPacker(BinPackOptions options) : options_(options) {
  CF_CHECK(options_.length >= 1, "BinPacker: length must be >= 1");
  CF_CHECK(options_.window_pieces >= 1 && options_.window_tokens >= 1, "BinPacker: empty window");
}

uint64_t BinPacker::WindowMemoryBytes(const BinPackOptions& options) {
  const uint64_t length = options.length;
  // A window is packed after the piece that fills it: it holds fewer than window_tokens + L ids,
  // and at most window_pieces pieces of at most L ids.
  const uint64_t tokens = std::min(options.window_tokens + length, options.window_pieces * length);
  const uint64_t pieces = std::min(options.window_pieces, tokens);
  // The window's ids (32-bit, and while a window that stops fitting in 16 bits is widened, its
  // 16-bit ids besides); per piece: Piece, order, bin, emission order, and per bin (at most one
  // per piece): room and link; per room value: the stack head and the sort count; the room
  // bitsets. The samples leave through SampleColumns::after_sample as they are made.
  return tokens * (sizeof(int32_t) + sizeof(uint16_t)) +
         pieces * (sizeof(Piece) + 5 * sizeof(uint32_t)) +
         (length + 1) * (sizeof(int32_t) + sizeof(uint32_t)) + (length / 64 + 2) * 8 * 2;
}

void BinPacker::Add(std::span<const int32_t> document, SampleColumns& out) {
  CF_DCHECK(!document.empty());
  ++counts_.documents;
  const uint64_t length = options_.length;
  const uint64_t total = document.size() + (options_.eod ? 1 : 0);
  if (total > length) ++counts_.split_documents;
  for (uint64_t begin = 0; begin < total; begin += length) {
    const uint64_t end = std::min(begin + length, total);
    const uint64_t doc_end = std::min<uint64_t>(end, document.size());
    const std::span<const int32_t> ids =
        begin < doc_end ? document.subspan(begin, doc_end - begin) : std::span<const int32_t>();
    AddPiece(ids, end == total ? options_.eod : std::nullopt, out);
  }
}

void BinPacker::AddPiece(std::span<const int32_t> ids, std::optional<int32_t> tail,
                         SampleColumns& out) {
  const uint64_t offset = narrow_ ? narrow_tokens_.size() : tokens_.size();
  if (narrow_ && !AppendNarrow(ids, tail, narrow_tokens_)) Widen();
  if (!narrow_) {
    tokens_.insert(tokens_.end(), ids.begin(), ids.end());
    if (tail) tokens_.push_back(*tail);
  }
  const uint64_t held = narrow_ ? narrow_tokens_.size() : tokens_.size();
  pieces_.push_back(Piece{offset, static_cast<uint32_t>(held - offset)});
  ++counts_.pieces;
  if (pieces_.size() >= options_.window_pieces || held >= options_.window_tokens) {
    PackWindow(out);
  }
}

void BinPacker::Finish(SampleColumns& out) {
  finishing_ = true;
  if (!pieces_.empty()) PackWindow(out);
}

void BinPacker::Recycle(PackedWindow&& window) {
  spare_ = std::move(window);
  spare_.Clear();
}

void BinPacker::PackWindow(SampleColumns& out) {
  const uint32_t length = options_.length;
  const size_t n = pieces_.size();
  ++counts_.windows;
  order_.resize(n);
  if (options_.policy == BinPolicy::kBestFitDecreasing) {
    // Longest first, ties in arrival order: a counting sort over the sizes 1..L.
    count_.assign(length + 1, 0);
    for (const Piece& piece : pieces_) ++count_[piece.size];
    uint32_t position = 0;
    for (uint32_t size = length; size >= 1; --size) {
      const uint32_t c = count_[size];
      count_[size] = position;
      position += c;
    }
    for (size_t i = 0; i < n; ++i) order_[count_[pieces_[i].size]++] = static_cast<uint32_t>(i);
  } else {
    for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
  }
  bin_of_.resize(n);
  const uint32_t bins =
      options_.policy == BinPolicy::kBestFitDecreasing ? PlaceBestFit() : PlaceFirstFit();

  // Emit bins in the order they were opened, each bin's pieces in the order they were placed.
  count_.assign(bins + 1, 0);
  for (size_t k = 0; k < n; ++k) ++count_[bin_of_[k] + 1];
  for (uint32_t b = 0; b < bins; ++b) count_[b + 1] += count_[b];
  emit_order_.resize(n);
  for (size_t k = 0; k < n; ++k) emit_order_[count_[bin_of_[k]]++] = static_cast<uint32_t>(k);
  // count_[b] is now the end of bin b in emit_order_.
  PackedWindow& window = window_;  // with a sink: a recycled window's pieces and bins, if any
  window.pieces.resize(n);
  for (size_t k = 0; k < n; ++k) window.pieces[k] = pieces_[order_[emit_order_[k]]];
  window.bin_ends.assign(count_.begin(), count_.begin() + bins);
  // The window takes the ids; the packer gets the previous window's buffers back (or nothing).
  window.narrow = narrow_;
  window.narrow_tokens.swap(narrow_tokens_);
  window.tokens.swap(tokens_);
  narrow_ = true;
  const uint64_t tokens = window.ids();
  counts_.samples += bins;
  counts_.tokens += tokens;
  counts_.padding += uint64_t{bins} * length - tokens;
  if (sink_) {
    sink_(std::move(window));
    // The next window takes the buffers of the window given back meanwhile, when one was; its
    // ids go to a buffer of their final size at once: growing it would copy.
    window = std::move(spare_);
    spare_ = PackedWindow();
    if (!finishing_) ReserveWindow();
  } else {
    for (uint32_t b = 0; b < bins; ++b) window.EmitBin(b, length, options_.pad_id, out);
    window.tokens.clear();
    window.narrow_tokens.clear();
  }
  pieces_.clear();
}

void BinPacker::set_window_sink(std::function<void(PackedWindow&&)> sink) {
  CF_CHECK(counts_.documents == 0, "BinPacker::set_window_sink after Add");
  sink_ = std::move(sink);
  ReserveWindow();
}

uint64_t BinPacker::WindowCapacity() const {
  // A window is packed after the piece that reaches window_tokens, or the window_pieces-th.
  const uint64_t length = options_.length;
  return std::min(options_.window_tokens + length, options_.window_pieces * length);
}

void BinPacker::ReserveWindow() {
  const uint64_t capacity = WindowCapacity();
  // A recycled window's buffers (window_'s), 32-bit included: they travel with the windows.
  ReserveBuffer(narrow_tokens_, window_.narrow_tokens, capacity, counts_.window_buffers);
  tokens_.clear();
  if (tokens_.capacity() < capacity && window_.tokens.capacity() >= capacity) {
    tokens_.swap(window_.tokens);
  }
  window_.narrow_tokens.clear();
  window_.tokens.clear();
}

void BinPacker::Widen() {
  CF_DCHECK(narrow_);
  tokens_.clear();
  if (sink_ && tokens_.capacity() < WindowCapacity()) {
    tokens_.reserve(WindowCapacity());
    ++counts_.window_buffers;
  }
  tokens_.insert(tokens_.end(), narrow_tokens_.begin(), narrow_tokens_.end());
  narrow_ = false;
  if (sink_) {
    // The 16-bit buffer stays, emptied: it leaves with the window and comes back for a later one.
    narrow_tokens_.clear();
  } else {
    NarrowWindowIds().swap(narrow_tokens_);
  }
}

bool AppendNarrow(std::span<const int32_t> ids, std::optional<int32_t> tail, NarrowWindowIds& out) {
  const size_t at = out.size();
  const size_t n = ids.size();
  out.resize(at + n + (tail ? 1 : 0));  // unwritten ids (WindowAllocator)
  uint16_t* to = out.data() + at;
  // One pass: narrow every id and gather the bits above 16 (a negative id has them too).
  uint32_t high = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<uint32_t>(ids[i]);
    high |= id;
    to[i] = static_cast<uint16_t>(id);
  }
  if (tail) {
    high |= static_cast<uint32_t>(*tail);
    to[n] = static_cast<uint16_t>(*tail);
  }
  if ((high >> 16) != 0) {
    out.resize(at);
    return false;
  }
  return true;
}

void PackedWindow::Clear() {
  tokens.clear();
  narrow_tokens.clear();
  pieces.clear();
  bin_ends.clear();
}

uint32_t PackedWindow::EmitBin(size_t b, uint32_t length, int32_t pad_id,
                               SampleColumns& out) const {
  CF_DCHECK(b < bin_ends.size());
  std::vector<int32_t>& ids = out.input_ids.values();
  uint32_t filled = 0;
  out.cu_seqlens.AppendValue(0);
  for (size_t k = b == 0 ? 0 : bin_ends[b - 1]; k < bin_ends[b]; ++k) {
    const Piece& piece = pieces[k];
    // Best-fit reorders the pieces: the next one lies anywhere in the window. Its first lines are
    // asked for now, to arrive while this one is copied.
    if (k + 1 < pieces.size()) {
      const Piece& next = pieces[k + 1];
      const char* at = narrow ? reinterpret_cast<const char*>(narrow_tokens.data() + next.offset)
                              : reinterpret_cast<const char*>(tokens.data() + next.offset);
      const size_t bytes = std::min<size_t>(256, size_t{next.size} * (narrow ? 2 : 4));
      for (size_t line = 0; line < bytes; line += 64) __builtin_prefetch(at + line);
    }
    if (narrow) {
      const auto first = narrow_tokens.begin() + static_cast<std::ptrdiff_t>(piece.offset);
      ids.insert(ids.end(), first, first + piece.size);  // widened
    } else {
      const auto first = tokens.begin() + static_cast<std::ptrdiff_t>(piece.offset);
      ids.insert(ids.end(), first, first + piece.size);
    }
    filled += piece.size;
    out.cu_seqlens.AppendValue(static_cast<int32_t>(filled));
  }
  CF_DCHECK(filled >= 1 && filled <= length);
  AppendFill(ids, length - filled, pad_id);
  out.input_ids.EndRecord();
  std::vector<int32_t>& mask = out.loss_mask.values();
  AppendFill(mask, filled, 1);
  AppendFill(mask, length - filled, 0);
  out.loss_mask.EndRecord();
  out.cu_seqlens.EndRecord();
  out.SampleDone();
  return filled;
}

uint32_t BinPacker::PlaceBestFit() {
  const uint32_t length = options_.length;
  // Bins with r ids of room (0 < r <= L) form a stack head_[r] -> next_[bin] -> ...; bit r of
  // room_bits_ says the stack is not empty, bit w of room_summary_ that word w of room_bits_ is
  // not zero, so the least room >= size is two word scans away.
  head_.assign(length + 1, -1);
  const size_t words = length / 64 + 1;
  room_bits_.assign(words, 0);
  room_summary_.assign(words / 64 + 1, 0);
  room_.clear();
  next_.clear();
  auto set_bit = [&](uint32_t r) {
    room_bits_[r / 64] |= uint64_t{1} << (r % 64);
    room_summary_[r / 4096] |= uint64_t{1} << ((r / 64) % 64);
  };
  auto clear_bit = [&](uint32_t r) {
    room_bits_[r / 64] &= ~(uint64_t{1} << (r % 64));
    if (room_bits_[r / 64] == 0) room_summary_[r / 4096] &= ~(uint64_t{1} << ((r / 64) % 64));
  };
  // The least room >= size that some bin has, or 0 when none has.
  auto find_room = [&](uint32_t size) -> uint32_t {
    size_t w = size / 64;
    const uint64_t here = room_bits_[w] & (~uint64_t{0} << (size % 64));
    if (here != 0) return static_cast<uint32_t>(w * 64 + std::countr_zero(here));
    ++w;
    if (w >= words) return 0;
    size_t s = w / 64;
    uint64_t summary = room_summary_[s] & (~uint64_t{0} << (w % 64));
    while (summary == 0) {
      if (++s >= room_summary_.size()) return 0;
      summary = room_summary_[s];
    }
    const size_t word = s * 64 + static_cast<size_t>(std::countr_zero(summary));
    return static_cast<uint32_t>(word * 64 + std::countr_zero(room_bits_[word]));
  };

  uint32_t bins = 0;
  const size_t n = order_.size();
  for (size_t k = 0; k < n; ++k) {
    const uint32_t size = pieces_[order_[k]].size;
    const uint32_t room = find_room(size);
    int32_t bin;
    uint32_t left;
    if (room != 0) {
      bin = head_[room];
      head_[room] = next_[bin];
      if (head_[room] < 0) clear_bit(room);
      left = room - size;
    } else {
      bin = static_cast<int32_t>(bins++);
      room_.push_back(0);
      next_.push_back(-1);
      left = length - size;
    }
    room_[bin] = left;
    bin_of_[k] = static_cast<uint32_t>(bin);
    if (left > 0) {
      if (head_[left] < 0) set_bit(left);
      next_[bin] = head_[left];
      head_[left] = bin;
    }
  }
  return bins;
}

uint32_t BinPacker::PlaceFirstFit() {
  const uint32_t length = options_.length;
  room_.clear();
  const size_t n = order_.size();
  for (size_t k = 0; k < n; ++k) {
    const uint32_t size = pieces_[order_[k]].size;
    uint32_t bin = 0;
    const uint32_t bins = static_cast<uint32_t>(room_.size());
    while (bin < bins && room_[bin] < size) ++bin;
    if (bin == bins) room_.push_back(length);
    room_[bin] -= size;
    bin_of_[k] = bin;
  }
  return static_cast<uint32_t>(room_.size());
}

// ---------------------------------------------------------------------------------------------
// PadSample

uint64_t PadSample(std::span<const int32_t> ids, uint32_t length, int32_t pad_id,
                   Int32ListColumn& out_ids, Int32ListColumn& out_mask) {
  const size_t kept = std::min<size_t>(ids.size(), length);
  std::vector<int32_t>& values = out_ids.values();
  values.insert(values.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(kept));
  AppendFill(values, length - kept, pad_id);
  out_ids.EndRecord();
  AppendFill(out_mask.values(), kept, 1);
  AppendFill(out_mask.values(), length - kept, 0);
  out_mask.EndRecord();
  return ids.size() - kept;
}

}  // namespace corpusflow
