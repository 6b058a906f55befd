#include "tests/testing/megatron_testing.h"

#include <utility>

namespace corpusflow::testing {

std::vector<MegatronDocument> ReadMegatronDocuments(const std::string& prefix, MegatronDType* dtype,
                                                    size_t sequence_chunk, size_t document_chunk) {
  MegatronDatasetReader reader(prefix);
  reader.ForEachSequenceChunk([](uint64_t, auto, auto) {}, sequence_chunk);
  reader.ForEachDocumentChunk([](uint64_t, auto) {}, document_chunk);
  if (dtype != nullptr) *dtype = reader.dtype();
  std::vector<int64_t> bounds(reader.header().document_index_count);
  reader.ReadDocumentIndices(0, bounds);
  std::vector<MegatronDocument> documents;
  std::vector<int64_t> ids;
  for (size_t d = 0; d + 1 < bounds.size(); ++d) {
    MegatronDocument doc;
    for (int64_t s = bounds[d]; s < bounds[d + 1]; ++s) {
      reader.ReadSequence(static_cast<uint64_t>(s), &ids);
      doc.emplace_back(ids.begin(), ids.end());
    }
    documents.push_back(std::move(doc));
  }
  return documents;
}

}  // namespace corpusflow::testing
