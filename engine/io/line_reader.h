// Split an InputStream into lines, binary-safe: NUL, 0xFF, '\r' and empty lines are kept byte for
// byte; only the delimiter separates ('\n' by default; '\0' for `-z`/`--zero-terminated` input,
// whose lines may then hold '\n'). A last line without '\n' is still a line. Lines longer than the
// buffer are assembled in a growing buffer, up to a limit (`max_line_bytes`, a run's
// `--max-record-bytes`): a longer line is reported as too long as soon as its first
// max_line_bytes + 1 bytes are seen, and never held whole, so an endless line (a stream without
// '\n') costs no more memory than the limit. Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "engine/io/input_stream.h"

namespace corpusflow {

class LineReader {
 public:
  /// What Read() found.
  enum class Status { kLine, kTooLong, kEnd };

  /// `buffer_bytes`: size of each read from the stream. `max_line_bytes`: the longest line
  /// returned (no limit by default). `delimiter`: the byte that ends a line. (Below, '\n'
  /// stands for it.) `start_offset`: where in the stream `input` starts (line_offset counts from
  /// there).
  explicit LineReader(std::unique_ptr<InputStream> input, size_t buffer_bytes = 1 << 20,
                      uint64_t max_line_bytes = std::numeric_limits<uint64_t>::max(),
                      char delimiter = '\n', uint64_t start_offset = 0);

  /// Read the next line: kLine with `*line` set to it without its '\n' (valid until the next
  /// call); kTooLong for a line of more than max_line_bytes, numbered by line_number() (the
  /// next call skips the rest of it, reading and discarding up to its '\n'); kEnd at the end.
  Status Read(std::string_view* line);
  /// The next line without its '\n', valid until the next call; false at the end. A line of
  /// more than max_line_bytes throws DataError "NAME:LINE: line longer than N bytes ...".
  bool Next(std::string_view* line);
  /// 1-based number of the line last returned (or found too long).
  uint64_t line_number() const { return line_number_; }
  /// Offset in the stream (decompressed bytes) of the first byte of the line last returned (or
  /// found too long).
  uint64_t line_offset() const { return line_offset_; }
  uint64_t max_line_bytes() const { return max_line_bytes_; }
  const InputStream& input() const { return *input_; }

 private:
  bool Fill();
  /// Discard up to and including the '\n' that ends a too-long line; false at the end.
  bool SkipRestOfLine();

  std::unique_ptr<InputStream> input_;
  std::string buffer_;
  size_t read_bytes_;
  uint64_t max_line_bytes_;
  char delimiter_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  /// Inside a too-long line whose rest is still to be skipped.
  bool skipping_ = false;
  uint64_t line_number_ = 0;
  uint64_t line_offset_ = 0;
  /// Offset in the stream of buffer_[0].
  uint64_t base_ = 0;
};

}  // namespace corpusflow
