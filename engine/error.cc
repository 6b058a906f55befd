#include "engine/error.h"

#include <cstring>

namespace corpusflow {

void ThrowIoError(const std::string& what, const std::string& path, int err) {
  throw IoError(what + " " + path + ": " + std::strerror(err));
}

}  // namespace corpusflow
