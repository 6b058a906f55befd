// ReadMegatronDocuments(): a whole Megatron indexed dataset read back as documents of token id
// sequences, for tests that compare what was written with what was meant. Stateless; safe to
// call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "operators/megatron/megatron_dataset.h"

namespace corpusflow::testing {

/// One document of a dataset: its sequences of token ids.
using MegatronDocument = std::vector<std::vector<int32_t>>;

/// The documents of the dataset at `prefix`, after verifying its whole index in chunks of
/// `sequence_chunk` sequences and `document_chunk` document-index entries. Stores its dtype in
/// `*dtype` when given. Throws what MegatronDatasetReader throws.
std::vector<MegatronDocument> ReadMegatronDocuments(const std::string& prefix,
                                                    MegatronDType* dtype = nullptr,
                                                    size_t sequence_chunk = 1 << 16,
                                                    size_t document_chunk = 1 << 16);

}  // namespace corpusflow::testing
