#include "engine/random.h"

#include <random>

namespace corpusflow {

uint64_t RandomSeed() {
  std::random_device device;
  const uint64_t high = device();
  const uint64_t low = device();
  return (high << 32) ^ low;
}

}  // namespace corpusflow
