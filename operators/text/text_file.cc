#include "operators/text/text_file.h"

#include <memory>

#include "engine/io/input_stream.h"

namespace corpusflow {

std::string ReadWholeFile(const std::string& path) {
  std::unique_ptr<InputStream> input = OpenInput(path);
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = input->Read(buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  return text;
}

}  // namespace corpusflow
