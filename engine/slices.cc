#include "engine/slices.h"

namespace corpusflow {

std::string RecordNumberText(uint64_t identity) {
  const uint64_t slice = identity >> kSliceOrdinalBits;
  const uint64_t ordinal = identity & ((uint64_t{1} << kSliceOrdinalBits) - 1);
  std::string text = std::to_string(ordinal + 1);
  if (slice > 0) text += " of input slice " + std::to_string(slice);
  return text;
}

}  // namespace corpusflow
