// Helpers for tests of the Megatron dataset library (operators/megatron/): write documents as a
// dataset with the library, read a whole dataset back as documents, random documents, and bytes
// from hex for golden comparisons. Stateless; safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "operators/megatron/format.h"

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

/// Write `documents` as the dataset `prefix` with MegatronDatasetWriter (scratch files in
/// `scratch`), committed.
void WriteMegatronDocuments(const std::string& prefix, MegatronDType dtype,
                            const std::vector<MegatronDocument>& documents,
                            const std::filesystem::path& scratch);

/// `count` random documents from `seed`: 0 to 3 sequences each (so some have none), 0 to 49
/// ids per sequence (so some are empty), ids in [0, max_id].
std::vector<MegatronDocument> RandomMegatronDocuments(uint64_t seed, size_t count, int32_t max_id);

/// Bytes from a string of lowercase hex pairs; every other character is ignored.
std::string HexBytes(std::string_view text);

}  // namespace corpusflow::testing
