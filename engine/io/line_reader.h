// Split an InputStream into lines, binary-safe: NUL, 0xFF, '\r' and empty lines are kept byte for
// byte; only '\n' separates. A last line without '\n' is still a line. Lines of any length work
// (a line longer than the buffer is assembled in a growing buffer). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/io/input_stream.h"

namespace corpusflow {

class LineReader {
 public:
  /// `buffer_bytes`: size of each read from the stream.
  explicit LineReader(std::unique_ptr<InputStream> input, size_t buffer_bytes = 1 << 20);

  /// The next line without its '\n', valid until the next call; false at the end.
  bool Next(std::string_view* line);
  /// 1-based number of the line last returned.
  uint64_t line_number() const { return line_number_; }
  const InputStream& input() const { return *input_; }

 private:
  bool Fill();

  std::unique_ptr<InputStream> input_;
  std::string buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t line_number_ = 0;
};

}  // namespace corpusflow
