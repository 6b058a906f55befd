#include "operators/pack/window_spool.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/temp_dir.h"

namespace corpusflow {

WindowSpool::WindowSpool(TempDir& temp_dir, std::string name, WindowSpoolOptions options)
    : temp_dir_(temp_dir), name_(std::move(name)), options_(options) {
  if (options_.block_bytes < 64) throw InvalidArgument("window spool: block_bytes must be >= 64");
}

WindowSpool::~WindowSpool() = default;

void WindowSpool::Append(PackedWindow&& window) {
  CF_CHECK(!finished_, "WindowSpool::Append after Finish");
  ++windows_;
  bins_ += window.bins();
  pieces_ += window.pieces.size();
  Entry& entry = entries_.emplace_back();
  const uint64_t bytes = window.MemoryBytes();
  if (held_bytes_ + bytes <= options_.memory_bytes) {
    held_bytes_ += bytes;
    entry.window = std::move(window);
  } else {
    Spill(window, entry);
  }
}

void WindowSpool::Spill(const PackedWindow& window, Entry& entry) {
  CheckInterrupt();
  if (!file_) {
    file_ = std::make_unique<SpillFile>(
        temp_dir_.NewFilePath(name_, ".spill"),
        options_.file_system != nullptr ? *options_.file_system : FileSystem::Default());
    encoder_ = std::make_unique<SpillBlockEncoder>(options_.spill);
    block_.reserve(options_.block_bytes);
  }
  entry.spilled = true;
  entry.first_block = handles_.size();
  // The ids in emission order: a concat window's consecutive samples may share an id (pieces
  // overlap), and ids after its last sample belong to no piece.
  uint64_t ids = 0;
  for (const PackedWindow::Piece& piece : window.pieces) ids += piece.size;
  const uint64_t header[4] = {ids, window.pieces.size(), window.bins(), window.narrow ? 2u : 4u};
  Put(header, sizeof(header));
  for (const PackedWindow::Piece& piece : window.pieces) {
    if (window.narrow) {
      Put(window.narrow_tokens.data() + piece.offset, piece.size * sizeof(uint16_t));
    } else {
      Put(window.tokens.data() + piece.offset, piece.size * sizeof(int32_t));
    }
  }
  for (const PackedWindow::Piece& piece : window.pieces) Put(&piece.size, sizeof(uint32_t));
  Put(window.bin_ends.data(), window.bin_ends.size() * sizeof(uint32_t));
  WriteBlock();
  entry.blocks = handles_.size() - entry.first_block;
}

void WindowSpool::Put(const void* data, size_t n) {
  const char* from = static_cast<const char*>(data);
  while (n > 0) {
    const size_t take = std::min(n, options_.block_bytes - block_.size());
    block_.append(from, take);
    from += take;
    n -= take;
    if (block_.size() == options_.block_bytes) WriteBlock();
  }
}

void WindowSpool::WriteBlock() {
  if (block_.empty()) return;
  if (spilled_blocks_ == UINT32_MAX) {
    throw InvalidArgument("window spool: 2^32 spilled blocks (raise the block size)");
  }
  handles_.push_back(file_->Append(encoder_->Encode(block_), /*stream=*/0,
                                   static_cast<uint32_t>(spilled_blocks_)));
  ++spilled_blocks_;
  block_.clear();
}

void WindowSpool::Finish() {
  CF_CHECK(!finished_, "WindowSpool::Finish called twice");
  block_.clear();
  block_.shrink_to_fit();
  finished_ = true;
}

bool WindowSpool::Next(PackedWindow* out) {
  CF_CHECK(finished_, "WindowSpool::Next before Finish");
  if (entries_.empty()) return false;
  Entry& entry = entries_.front();
  if (entry.spilled) {
    next_block_ = entry.first_block;
    block_end_ = entry.first_block + entry.blocks;
    read_buffer_.clear();
    read_at_ = 0;
    ReadBack(out);
    if (read_at_ != read_buffer_.size() || next_block_ != block_end_) {
      throw CorruptionError("window spool " + name_ + ": block " + std::to_string(next_block_ - 1) +
                            ": " + std::to_string(read_buffer_.size() - read_at_) +
                            " bytes after the window");
    }
  } else {
    *out = std::move(entry.window);
  }
  entries_.pop_front();
  return true;
}

void WindowSpool::ReadBack(PackedWindow* out) {
  uint64_t header[4];
  Get(header, sizeof(header));
  const uint64_t tokens = header[0], pieces = header[1], bins = header[2], width = header[3];
  // Every piece holds at least one id and every bin at least one piece.
  if (pieces > tokens || bins > pieces || (tokens > 0 && bins == 0) || (width != 2 && width != 4)) {
    throw CorruptionError("window spool " + name_ + ": block " + std::to_string(next_block_ - 1) +
                          ": a window of " + std::to_string(tokens) + " ids of " +
                          std::to_string(width) + " bytes, " + std::to_string(pieces) +
                          " pieces and " + std::to_string(bins) + " bins");
  }
  out->narrow = width == 2;
  out->tokens.clear();
  out->narrow_tokens.clear();
  if (out->narrow) {
    out->narrow_tokens.resize(tokens);
    Get(out->narrow_tokens.data(), tokens * sizeof(uint16_t));
  } else {
    out->tokens.resize(tokens);
    Get(out->tokens.data(), tokens * sizeof(int32_t));
  }
  out->pieces.resize(pieces);
  uint64_t offset = 0;
  for (PackedWindow::Piece& piece : out->pieces) {
    Get(&piece.size, sizeof(uint32_t));
    piece.offset = offset;
    offset += piece.size;
  }
  out->bin_ends.resize(bins);
  Get(out->bin_ends.data(), bins * sizeof(uint32_t));
  uint32_t previous = 0;
  for (const uint32_t end : out->bin_ends) {
    if (end <= previous || end > pieces) offset = tokens + 1;
    previous = end;
  }
  if (offset != tokens || (bins > 0 && out->bin_ends.back() != pieces)) {
    throw CorruptionError("window spool " + name_ + ": block " + std::to_string(next_block_ - 1) +
                          ": the pieces or bins do not match the window's ids");
  }
}

void WindowSpool::Get(void* data, size_t n) {
  char* to = static_cast<char*>(data);
  while (n > 0) {
    if (read_at_ == read_buffer_.size()) {
      if (next_block_ == block_end_) {
        throw CorruptionError("window spool " + name_ + ": block " +
                              std::to_string(next_block_ - 1) + ": the window ends early");
      }
      CheckInterrupt();
      if (!decoder_) decoder_ = std::make_unique<SpillBlockDecoder>();
      const SpillBlockHandle& handle = handles_[next_block_++];
      read_buffer_.resize(handle.raw_size);
      file_->Read(handle, read_buffer_.data(), *decoder_);
      file_->Release(handle);
      read_at_ = 0;
    }
    const size_t take = std::min(n, read_buffer_.size() - read_at_);
    std::memcpy(to, read_buffer_.data() + read_at_, take);
    read_at_ += take;
    to += take;
    n -= take;
  }
}

}  // namespace corpusflow
