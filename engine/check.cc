#include "engine/check.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace corpusflow::check_internal {

void CheckFailed(const char* file, int line, const char* condition,
                 std::string_view message) noexcept {
  std::string text = "corpusflow: check failed at ";
  text += file;
  text += ':';
  text += std::to_string(line);
  text += ": ";
  text += condition;
  if (!message.empty()) {
    text += ": ";
    text += message;
  }
  text += '\n';
  // One write, so that checks failing on several threads do not interleave.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
  std::abort();
}

}  // namespace corpusflow::check_internal
