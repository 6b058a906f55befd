#include "engine/record_spool.h"

#include <utility>

#include "engine/check.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/temp_dir.h"

namespace corpusflow {

RecordSpool::RecordSpool(TempDir& temp_dir, std::string name, RecordSpoolOptions options)
    : temp_dir_(temp_dir), name_(std::move(name)), options_(options) {
  if (options_.block_bytes == 0) throw InvalidArgument("record spool: block_bytes must be > 0");
}

RecordSpool::~RecordSpool() = default;

SpillFile& RecordSpool::File() {
  if (!file_) {
    file_ = std::make_unique<SpillFile>(
        temp_dir_.NewFilePath(name_, ".spill"),
        options_.file_system != nullptr ? *options_.file_system : FileSystem::Default());
    encoder_ = std::make_unique<SpillBlockEncoder>(options_.spill);
  }
  return *file_;
}

void RecordSpool::Append(const Batch& batch) {
  CF_CHECK(!finished_, "RecordSpool::Append after Finish");
  if (batch.empty()) return;
  if (!has_layout_) {
    codec_ = RecordCodec::ForBatch(batch);
    has_layout_ = true;
    raw_.reserve(options_.block_bytes);
  }
  CF_CHECK(codec_.Matches(batch), "RecordSpool: a batch of another layout");
  const RecordEncoder encoder(batch);
  const size_t n = batch.num_records();
  for (size_t i = 0; i < n; ++i) {
    const size_t size = encoder.EncodedSize(i);
    const size_t framed = VarintLength(size) + size;
    if (!raw_.empty() && raw_.size() + framed > options_.block_bytes) Seal();
    PutVarint64(&raw_, size);
    const size_t at = raw_.size();
    raw_.resize(at + size);
    encoder.Encode(i, raw_.data() + at);
  }
  records_ += n;
  data_bytes_ += batch.DataBytes();
}

void RecordSpool::Seal() {
  if (raw_.empty()) return;
  Block block;
  if (held_bytes_ + raw_.size() <= options_.memory_bytes) {
    held_bytes_ += raw_.size();
    block.data = std::move(raw_);
  } else {
    CheckInterrupt();
    if (spilled_blocks_ == UINT32_MAX) {
      throw InvalidArgument("record spool: 2^32 spilled blocks (raise the block size)");
    }
    SpillFile& file = File();
    block.spilled = true;
    block.handle =
        file.Append(encoder_->Encode(raw_), /*stream=*/0, static_cast<uint32_t>(spilled_blocks_));
    ++spilled_blocks_;
  }
  blocks_.push_back(std::move(block));
  raw_.clear();
  // A block kept in memory took the buffer along: give the next one its full size at once, so
  // that it never grows by copying.
  raw_.reserve(options_.block_bytes);
}

void RecordSpool::Finish() {
  CF_CHECK(!finished_, "RecordSpool::Finish called twice");
  Seal();
  raw_.shrink_to_fit();
  finished_ = true;
}

bool RecordSpool::Next(Batch* out, uint64_t batch_bytes) {
  CF_CHECK(finished_, "RecordSpool::Next before Finish");
  if (!has_layout_) return false;
  codec_.PrepareBatch(out);
  RecordDecoder decoder(out);
  for (;;) {
    while (rest_.empty()) {
      if (next_block_ == blocks_.size()) return !out->empty();
      Block& block = blocks_[next_block_++];
      if (block.spilled) {
        CheckInterrupt();
        if (!decoder_) decoder_ = std::make_unique<SpillBlockDecoder>();
        read_buffer_.resize(block.handle.raw_size);
        file_->Read(block.handle, read_buffer_.data(), *decoder_);
        file_->Release(block.handle);
      } else {
        // The block is read once: hand its memory to the read buffer.
        read_buffer_ = std::move(block.data);
        block.data = std::string();
      }
      rest_ = read_buffer_;
    }
    std::string_view record;
    if (!GetLengthPrefixed(&rest_, &record)) {
      throw CorruptionError("record spool " + name_ + ": block " + std::to_string(next_block_ - 1) +
                            ": malformed record frame");
    }
    decoder.DecodeAppend(record);
    if (out->DataBytes() >= batch_bytes) return true;
  }
}

}  // namespace corpusflow
