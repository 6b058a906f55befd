#include "engine/io/line_reader.h"

#include <algorithm>
#include <cstring>

namespace corpusflow {

LineReader::LineReader(std::unique_ptr<InputStream> input, size_t buffer_bytes)
    : input_(std::move(input)) {
  buffer_.resize(std::max<size_t>(buffer_bytes, 1));
}

bool LineReader::Next(std::string_view* line) {
  // Bytes of the pending partial line already searched for '\n': a line longer than the
  // buffer is scanned once, not once per refill.
  size_t scanned = 0;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start + scanned, '\n', end_ - begin_ - scanned);
    if (newline != nullptr) {
      const size_t length = static_cast<const char*>(newline) - start;
      *line = std::string_view(start, length);
      begin_ += length + 1;
      ++line_number_;
      return true;
    }
    scanned = end_ - begin_;
    if (eof_ || !Fill()) {
      if (begin_ == end_) return false;
      // The last line has no '\n'.
      *line = std::string_view(buffer_.data() + begin_, end_ - begin_);
      begin_ = end_;
      ++line_number_;
      return true;
    }
  }
}

bool LineReader::Fill() {
  // Move the partial line to the front, and grow the buffer when it fills more than half of
  // it, so each read brings at least half a buffer and a long line costs O(length).
  const size_t pending = end_ - begin_;
  if (begin_ > 0) {
    if (pending > 0) std::memmove(buffer_.data(), buffer_.data() + begin_, pending);
    begin_ = 0;
    end_ = pending;
  }
  if (buffer_.size() - end_ < (buffer_.size() + 1) / 2) buffer_.resize(buffer_.size() * 2);
  const size_t got = input_->Read(buffer_.data() + end_, buffer_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

}  // namespace corpusflow
