// Packing documents of token ids into fixed-length training samples: the algorithms behind the
// `pack` stage (operators/pack/pack.h), free of the engine's runtime so that they can be tested
// and measured alone. docs/packing.md describes the semantics and the output fields.
//
// Every packer appends whole samples to three int32-list columns (SampleColumns):
//   input_ids   the sample: exactly its length of ids, padding included;
//   loss_mask   one 0/1 per id, 1 on every document token (EOD included), 0 on padding;
//   cu_seqlens  0, then the end offset of each document piece inside the sample, the last one
//               being the filled length (padding is not a document).
//
// - ConcatPacker (GPT, Megatron's sample semantics): documents, each followed by the EOD id when
//   one is given, are joined into one stream cut into windows of L ids, or of L + 1 with
//   plus_one, window k starting at k * L (so windows of L + 1 overlap by one id: inputs and
//   shifted labels come from one window). The last partial window is padded (keep_last) or
//   dropped and counted, with the documents that had no id in any emitted sample.
// - BinPacker: documents (with their EOD) longer than L are cut into pieces of L ids (the last
//   piece shorter); pieces are gathered into windows of at most window_pieces pieces and
//   window_tokens ids, and each window is packed into bins of L ids, each bin emitted as one
//   sample padded to L. kBestFitDecreasing (Ding et al., ICML 2024) places the pieces longest
//   first (ties in arrival order) into the bin with the least room that still fits them (ties:
//   the bin that reached that room last), opening a bin when none fits; kFirstFit places them in
//   arrival order into the first bin opened that has room (the straightforward baseline). Bins
//   are emitted in the order they were opened, their pieces in the order they were placed.
//   A window packed is a PackedWindow (its ids and its bins); by default its samples are emitted
//   at once, or the window goes whole to a sink (set_window_sink) that emits them later
//   (PackedWindow::EmitBin): the same samples, without building them before they are read. A
//   window the sink has read out comes back (Recycle), and the packer fills its buffers again
//   instead of allocating fresh memory for the next window.
// - PadSample (seq2seq): one id list truncated or padded to a fixed length, with its mask.
//
// Samples depend only on the documents given, in order, and on the options: nothing depends on
// timing, threads or memory. Thread safety: a packer is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "engine/batch.h"

namespace corpusflow {

/// The output columns of packed samples.
struct SampleColumns {
  Int32ListColumn& input_ids;
  Int32ListColumn& loss_mask;
  Int32ListColumn& cu_seqlens;
  /// Called after each sample is complete in the columns (may be empty): the owner may move the
  /// samples elsewhere and clear the columns (keeping the column objects), so that a window's
  /// samples never pile up.
  std::function<void()> after_sample = nullptr;

  void SampleDone() {
    if (after_sample) after_sample();
  }
};

/// What a packer did so far.
struct PackCounts {
  /// Documents given to Add.
  uint64_t documents = 0;
  /// Samples emitted.
  uint64_t samples = 0;
  /// Document ids (EOD included) in the emitted samples; an id that two overlapping windows
  /// share counts twice.
  uint64_t tokens = 0;
  /// Padding ids in the emitted samples.
  uint64_t padding = 0;
  /// BinPacker: pieces placed; documents cut into more than one piece; windows packed.
  uint64_t pieces = 0;
  uint64_t split_documents = 0;
  uint64_t windows = 0;
  /// With a window sink: the buffers of window ids allocated, 16-bit and 32-bit (the others were
  /// recycled windows' buffers).
  uint64_t window_buffers = 0;
  /// ConcatPacker without keep_last: the ids of the dropped last window that no emitted sample
  /// holds, and the documents of which no id is in any emitted sample.
  uint64_t dropped_tokens = 0;
  uint64_t dropped_documents = 0;
};

/// Emit one sample of `length` slots from `ids` (at most `length` of them), padding the rest
/// with `pad_id`; `ends` are the document ends inside `ids` (ascending, each in (0, ids.size()]),
/// the last one equal to ids.size() unless the last document goes on in the next sample.
void EmitSample(std::span<const int32_t> ids, std::span<const uint32_t> ends, uint32_t length,
                int32_t pad_id, SampleColumns& out);

struct PackedWindow;

/// What the stage drives: documents in, samples out.
class DocumentPacker {
 public:
  virtual ~DocumentPacker() = default;
  /// Pack one document (and its EOD); emit the samples it completes. REQUIRES: the document is
  /// not empty (the stage drops empty documents before).
  virtual void Add(std::span<const int32_t> document, SampleColumns& out) = 0;
  /// End the stream: emit or count what is left. Call once, after the last Add.
  virtual void Finish(SampleColumns& out) = 0;
  virtual const PackCounts& counts() const = 0;
  /// With a window sink: give back a window the sink was handed (its samples read), whose
  /// buffers the packer fills again for a later window instead of allocating new ones. The last
  /// window given back is kept (one at a time); it may be given back from inside the sink.
  virtual void Recycle(PackedWindow&& window) = 0;
};

enum class BinPolicy { kBestFitDecreasing, kFirstFit };

/// The allocator of a window's ids: a buffer of 2 MiB or more is aligned to 2 MiB and the kernel
/// is asked for transparent huge pages on it (advice only), for a window's ids fill tens of MiB
/// of fresh memory, and a fault per 4 KiB page costs more than the copy. resize() leaves new ids
/// unwritten (default-initialized), for they are written next. Stateless.
template <typename T>
struct WindowAllocator {
  using value_type = T;
  WindowAllocator() = default;
  template <typename U>
  WindowAllocator(const WindowAllocator<U>& /*other*/) {}  // NOLINT: rebinding converts

  T* allocate(size_t n);
  void deallocate(T* p, size_t n);
  /// Default-initialize (an id is left unwritten), construct from a value otherwise.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  bool operator==(const WindowAllocator&) const = default;
};

/// Ask for transparent huge pages on [data, data + bytes) (2 MiB-aligned). A no-op where the
/// kernel does not do it.
void AdviseHugePages(void* data, size_t bytes);

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

template <typename T>
T* WindowAllocator<T>::allocate(size_t n) {
  const size_t bytes = n * sizeof(T);
  if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes));
  void* data = ::operator new (bytes, std::align_val_t{kHugePageBytes});
  AdviseHugePages(data, bytes);
  return static_cast<T*>(data);
}

template <typename T>
void WindowAllocator<T>::deallocate(T* p, size_t n) {
  if (n * sizeof(T) < kHugePageBytes) {
    ::operator delete(p);
  } else {
    ::operator delete (p, std::align_val_t{kHugePageBytes});
  }
}

/// A window's ids.
using WindowIds = std::vector<int32_t, WindowAllocator<int32_t>>;
/// A window's ids in 16 bits, when all of them are in [0, 65535]: half the memory.
using NarrowWindowIds = std::vector<uint16_t, WindowAllocator<uint16_t>>;

/// Append `ids`, then `tail` when given, to `out` as 16-bit values and return true, when every one
/// of them is in [0, 65535]; otherwise leave `out` as it was and return false.
bool AppendNarrow(std::span<const int32_t> ids, std::optional<int32_t> tail, NarrowWindowIds& out);

/// A window packed: its ids in arrival order and its bins, each a run of pieces.
struct PackedWindow {
  struct Piece {
    /// Where the piece starts in the window's ids, and its ids.
    uint64_t offset;
    uint32_t size;
  };
  /// The window's ids (EODs included), in arrival order: in `narrow_tokens` when `narrow` (every
  /// id in [0, 65535]: BinPacker's windows, mostly), else in `tokens`; the other is empty.
  bool narrow = false;
  WindowIds tokens;
  NarrowWindowIds narrow_tokens;
  /// The pieces in emission order: bin b holds pieces [bin_ends[b - 1], bin_ends[b]) (from 0
  /// for b = 0), in the order they were placed.
  std::vector<Piece> pieces;
  std::vector<uint32_t> bin_ends;

  size_t bins() const { return bin_ends.size(); }
  /// Emit bin `b` as one sample of `length` ids, padded with `pad_id`; returns its document ids
  /// (the rest is padding). REQUIRES: b < bins(), the bin holds 1 to `length` ids.
  uint32_t EmitBin(size_t b, uint32_t length, int32_t pad_id, SampleColumns& out) const;
  /// Empty the window, keeping its buffers' memory.
  void Clear();
  /// The window's ids, held in either vector.
  uint64_t ids() const { return narrow ? narrow_tokens.size() : tokens.size(); }
  /// Bytes of memory the window holds (its vectors' sizes).
  uint64_t MemoryBytes() const {
    return tokens.size() * sizeof(int32_t) + narrow_tokens.size() * sizeof(uint16_t) +
           pieces.size() * sizeof(Piece) + bin_ends.size() * sizeof(uint32_t);
  }
};

struct ConcatOptions {
  /// L: the stride; a sample holds L ids, or L + 1 with plus_one. REQUIRES: >= 1.
  uint32_t length = 2048;
  bool plus_one = false;
  /// The id appended to every document.
  std::optional<int32_t> eod = std::nullopt;
  /// Pad the last partial window instead of dropping it.
  bool keep_last = false;
  int32_t pad_id = 0;
  /// With a window sink: the ids of the stream a PackedWindow holds at most (rounded up to one
  /// sample). REQUIRES: >= 1.
  uint64_t window_tokens = uint64_t{4} << 20;
};

class ConcatPacker : public DocumentPacker {
 public:
  explicit ConcatPacker(ConcatOptions options);

  /// Append one document (and the EOD); emit every window it completes.
  void Add(std::span<const int32_t> document, SampleColumns& out) override;
  /// Emit the last partial window padded (keep_last) or count it as dropped.
  void Finish(SampleColumns& out) override;

  const PackCounts& counts() const override { return counts_; }
  void Recycle(PackedWindow&& window) override;
  /// Ids of a sample: L, or L + 1 with plus_one.
  uint32_t sample_length() const { return window_; }

  /// From now on, gather the samples into PackedWindows handed to `sink` (moved) instead of
  /// emitting them into the SampleColumns of Add and Finish: a window holds a stretch of the
  /// stream once (about window_tokens ids) and each sample is one bin, whose pieces are the
  /// document pieces inside it (with plus_one, consecutive bins share an id of the window's
  /// ids), its ids in 16 bits while they fit; PackedWindow::EmitBin with sample_length() makes
  /// the same samples. counts() still
  /// counts them as emitted. REQUIRES: no document added yet.
  void set_window_sink(std::function<void(PackedWindow&&)> sink);

  /// Bytes of memory a window of `options` holds at most (ids, pieces, bins), for the budget.
  static uint64_t WindowMemoryBytes(const ConcatOptions& options);

 private:
  void Push(std::span<const int32_t> ids, SampleColumns& out);
  /// Emit the sample of the `filled` ids from start_ (padded to the sample length).
  void EmitCurrent(size_t filled, SampleColumns& out);
  /// Emit the full window and keep its last window - L ids as the start of the next.
  void EmitFull(SampleColumns& out);
  /// With a sink: hand the window over (when it holds a sample) and, when `more`, start the
  /// next with the ids from start_ on.
  void HandOver(bool more);
  /// Move the window's ids so far from 16 to 32 bits (an id outside [0, 65535] arrived).
  void Widen();
  /// The ids held (of the sample being filled and, with a sink, of the window before it).
  size_t Held() const { return narrow_ ? narrow_ids_.size() : ids_.size(); }
  /// The ids a window's buffer holds (one sample at least).
  uint64_t WindowCapacity() const;

  const ConcatOptions options_;
  const uint32_t window_;
  std::function<void(PackedWindow&&)> sink_;
  /// The stream's ids: the sample being filled is [start_, Held()), and its ids
  /// [start_, start_ + carried_) were already in the previous sample. Without a sink only the
  /// sample being filled is kept (start_ is 0); with a sink, the window being gathered, in 16
  /// bits (narrow_ids_) while its ids fit, as BinPacker's windows.
  bool narrow_ = false;
  NarrowWindowIds narrow_ids_;
  WindowIds ids_;
  size_t start_ = 0;
  size_t carried_ = 0;
  /// Ends of the documents inside the sample being filled (relative to start_, ascending, > 0).
  std::vector<uint32_t> ends_;
  /// With a sink: the window being gathered (its pieces and bins; ids_ are its ids).
  PackedWindow window_being_built_;
  /// With a sink: the last window given back (Recycle), whose buffers the next window takes; and
  /// the ids a window hands on to the next (fewer than a sample), kept aside meanwhile.
  PackedWindow spare_;
  NarrowWindowIds carry_narrow_;
  WindowIds carry_;
  /// Documents with an id in ids_ beyond carried_ and none in an emitted sample.
  uint64_t unemitted_documents_ = 0;
  PackCounts counts_;
};

struct BinPackOptions {
  /// L: ids per sample. REQUIRES: >= 1.
  uint32_t length = 2048;
  BinPolicy policy = BinPolicy::kBestFitDecreasing;
  /// The id appended to every document (before it is cut into pieces).
  std::optional<int32_t> eod = std::nullopt;
  int32_t pad_id = 0;
  /// A window is packed once it holds this many pieces or this many ids. REQUIRES: >= 1.
  uint64_t window_pieces = 100000;
  uint64_t window_tokens = uint64_t{4} << 20;
};

class BinPacker : public DocumentPacker {
 public:
  explicit BinPacker(BinPackOptions options);

  /// Cut one document (and the EOD) into pieces and add them to the window, packing the window
  /// whenever it is full.
  void Add(std::span<const int32_t> document, SampleColumns& out) override;
  /// Pack what the window holds.
  void Finish(SampleColumns& out) override;

  const PackCounts& counts() const override { return counts_; }
  void Recycle(PackedWindow&& window) override;

  /// From now on, hand every packed window to `sink` (moved) instead of emitting its samples
  /// into the SampleColumns of Add and Finish; counts() still counts them as emitted.
  /// REQUIRES: no document added yet.
  void set_window_sink(std::function<void(PackedWindow&&)> sink);

  /// Bytes of memory a window of `options` holds at most (ids, pieces, bins), for the budget.
  static uint64_t WindowMemoryBytes(const BinPackOptions& options);

 private:
  using Piece = PackedWindow::Piece;
  void AddPiece(std::span<const int32_t> ids, std::optional<int32_t> tail, SampleColumns& out);
  void PackWindow(SampleColumns& out);
  /// Give the window being filled a buffer that holds a whole window (16-bit ids; with a sink a
  /// window leaves with its buffer, and growing the next one would copy it): a recycled window's
  /// (window_, taken from spare_) when there is one, else a new one (counted).
  void ReserveWindow();
  /// Move the window's ids so far from 16 to 32 bits (an id outside [0, 65535] arrived).
  void Widen();
  /// The ids a window holds at most.
  uint64_t WindowCapacity() const;
  /// Place the pieces (window order `order_`) into bins: bin_of_[k] for order_[k].
  uint32_t PlaceBestFit();
  uint32_t PlaceFirstFit();

  const BinPackOptions options_;
  std::function<void(PackedWindow&&)> sink_;
  /// The ids of the window being filled: 16-bit until an id does not fit (narrow_).
  bool narrow_ = true;
  NarrowWindowIds narrow_tokens_;
  WindowIds tokens_;
  std::vector<Piece> pieces_;
  // Scratch of PackWindow, kept between windows.
  std::vector<uint32_t> order_;
  std::vector<uint32_t> bin_of_;
  std::vector<uint32_t> room_;
  std::vector<uint32_t> count_;
  std::vector<uint32_t> emit_order_;
  std::vector<int32_t> head_;
  std::vector<int32_t> next_;
  std::vector<uint64_t> room_bits_;
  std::vector<uint64_t> room_summary_;
  /// The window being emitted (without a sink: kept, buffers and all, for the next; with a sink:
  /// the recycled window whose pieces and bins the next window fills).
  PackedWindow window_;
  /// With a sink: the last window given back (Recycle).
  PackedWindow spare_;
  /// Finish is packing the last window: no buffer for a next one.
  bool finishing_ = false;
  PackCounts counts_;
};

/// Append `ids` to `out_ids` truncated or padded with `pad_id` to `length`, and their mask (1 on
/// the kept ids, 0 on padding) to `out_mask`. Returns how many ids were cut off.
uint64_t PadSample(std::span<const int32_t> ids, uint32_t length, int32_t pad_id,
                   Int32ListColumn& out_ids, Int32ListColumn& out_mask);

}  // namespace corpusflow
