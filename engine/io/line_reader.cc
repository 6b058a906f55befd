#include "engine/io/line_reader.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"

namespace corpusflow {

LineReader::LineReader(std::unique_ptr<InputStream> input, size_t buffer_bytes,
                       uint64_t max_line_bytes, char delimiter, uint64_t start_offset)
    : input_(std::move(input)),
      read_bytes_(std::max<size_t>(buffer_bytes, 1)),
      max_line_bytes_(max_line_bytes),
      delimiter_(delimiter),
      base_(start_offset) {
  buffer_.resize(read_bytes_);
}

bool LineReader::Next(std::string_view* line) {
  switch (Read(line)) {
    case Status::kLine:
      return true;
    case Status::kEnd:
      return false;
    case Status::kTooLong:
      break;
  }
  throw DataError(input_->name() + ":" + std::to_string(line_number_) + ": line longer than " +
                  FormatBytes(static_cast<double>(max_line_bytes_)) + " (" +
                  std::to_string(max_line_bytes_) + " bytes, the --max-record-bytes limit)");
}

LineReader::Status LineReader::Read(std::string_view* line) {
  if (skipping_ && !SkipRestOfLine()) return Status::kEnd;
  // Bytes of the pending partial line already searched for '\n': a line longer than the
  // buffer is scanned once, not once per refill.
  size_t scanned = 0;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start + scanned, delimiter_, end_ - begin_ - scanned);
    if (newline != nullptr) {
      const size_t length = static_cast<const char*>(newline) - start;
      line_offset_ = base_ + begin_;
      begin_ += length + 1;
      ++line_number_;
      if (length > max_line_bytes_) return Status::kTooLong;
      *line = std::string_view(start, length);
      return Status::kLine;
    }
    scanned = end_ - begin_;
    if (scanned > max_line_bytes_) {
      // Too long already: drop what is held; the next call skips the rest.
      line_offset_ = base_ + begin_;
      base_ += end_;
      begin_ = end_ = 0;
      skipping_ = true;
      ++line_number_;
      return Status::kTooLong;
    }
    if (eof_ || !Fill()) {
      if (begin_ == end_) return Status::kEnd;
      // The last line has no '\n'.
      line_offset_ = base_ + begin_;
      *line = std::string_view(buffer_.data() + begin_, end_ - begin_);
      begin_ = end_;
      ++line_number_;
      return Status::kLine;
    }
  }
}

bool LineReader::SkipRestOfLine() {
  uint64_t fills = 0;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, delimiter_, end_ - begin_);
    if (newline != nullptr) {
      begin_ += static_cast<const char*>(newline) - start + 1;
      skipping_ = false;
      return true;
    }
    base_ += end_;
    begin_ = end_ = 0;
    // An endless line is skipped for as long as it lasts: stay responsive meanwhile.
    if ((++fills & 0xFF) == 0) CheckInterrupt();
    if (eof_ || !Fill()) {
      skipping_ = false;
      return false;
    }
  }
}

bool LineReader::Fill() {
  // Move the partial line to the front, and grow the buffer when it fills more than half of
  // it, so each read brings at least half a buffer and a long line costs O(length). The buffer
  // never grows past what the longest line allowed and one read need.
  const size_t pending = end_ - begin_;
  if (begin_ > 0) {
    if (pending > 0) std::memmove(buffer_.data(), buffer_.data() + begin_, pending);
    base_ += begin_;
    begin_ = 0;
    end_ = pending;
  }
  if (buffer_.size() - end_ < (buffer_.size() + 1) / 2) {
    const uint64_t cap = max_line_bytes_ >= std::numeric_limits<uint64_t>::max() - read_bytes_
                             ? std::numeric_limits<uint64_t>::max()
                             : max_line_bytes_ + 1 + read_bytes_;
    const uint64_t grown = std::min<uint64_t>(uint64_t{buffer_.size()} * 2, cap);
    if (grown > buffer_.size()) buffer_.resize(static_cast<size_t>(grown));
  }
  const size_t got = input_->Read(buffer_.data() + end_, buffer_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

}  // namespace corpusflow
