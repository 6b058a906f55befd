#include "tests/testing/megatron_testing.h"

#include <random>
#include <utility>

#include "operators/megatron/reader.h"
#include "operators/megatron/writer.h"

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

void WriteMegatronDocuments(const std::string& prefix, MegatronDType dtype,
                            const std::vector<MegatronDocument>& documents,
                            const std::filesystem::path& scratch) {
  MegatronDatasetWriter writer(prefix, dtype, scratch);
  for (const MegatronDocument& d : documents) {
    for (const auto& s : d) writer.AddSequence(s);
    writer.EndDocument();
  }
  writer.Commit();
}

std::vector<MegatronDocument> RandomMegatronDocuments(uint64_t seed, size_t count, int32_t max_id) {
  std::mt19937_64 rng(seed);
  std::vector<MegatronDocument> documents(count);
  for (MegatronDocument& d : documents) {
    const size_t sequences = rng() % 4;
    for (size_t s = 0; s < sequences; ++s) {
      std::vector<int32_t> ids(rng() % 50);
      for (int32_t& id : ids) {
        id = static_cast<int32_t>(rng() % (static_cast<uint64_t>(max_id) + 1));
      }
      d.push_back(std::move(ids));
    }
  }
  return documents;
}

std::string HexBytes(std::string_view text) {
  std::string out;
  int pending = -1;
  for (const char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<char>(pending * 16 + v));
      pending = -1;
    }
  }
  return out;
}

}  // namespace corpusflow::testing
