#include "operators/megatron/inspect.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"
#include "operators/tokenize/vocab_file.h"

namespace corpusflow {
namespace {

template <typename T>
void ScanIds(const char* data, size_t count, uint64_t first_token, int64_t vocab_size,
             MegatronDatasetStats* stats, uint64_t* first_bad_token) {
  for (size_t j = 0; j < count; ++j) {
    const int64_t v = DecodeFixed<T>(data + j * sizeof(T));
    stats->min_id = std::min(stats->min_id, v);
    stats->max_id = std::max(stats->max_id, v);
    if (v < 0 || (vocab_size > 0 && v >= vocab_size)) {
      if (stats->ids_out_of_range++ == 0) *first_bad_token = first_token + j;
    }
  }
}

/// Append printf-style text to `*out`.
__attribute__((format(printf, 2, 3))) void AppendFormat(std::string* out, const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (n > 0) {
    const size_t size = out->size();
    out->resize(size + static_cast<size_t>(n) + 1);
    std::vsnprintf(out->data() + size, static_cast<size_t>(n) + 1, format, again);
    out->resize(size + static_cast<size_t>(n));
  }
  va_end(again);
}

std::string BucketLabel(size_t bucket) {
  if (bucket == 0) return "0";
  const uint64_t lo = uint64_t{1} << (bucket - 1);
  const uint64_t hi = (uint64_t{1} << bucket) - 1;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

}  // namespace

std::string WithCommas(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

size_t LengthBucket(uint64_t length) {
  return length == 0 ? 0 : static_cast<size_t>(std::bit_width(length));
}

std::string FormatLengthHistogram(const std::vector<uint64_t>& histogram, const char* what) {
  std::string out;
  if (histogram.empty()) return out;
  AppendFormat(&out, "length histogram (tokens: %s):\n", what);
  const uint64_t peak = *std::max_element(histogram.begin(), histogram.end());
  for (size_t b = 0; b < histogram.size(); ++b) {
    const uint64_t n = histogram[b];
    if (n == 0) continue;
    const size_t bar = static_cast<size_t>((n * 40 + peak - 1) / peak);
    AppendFormat(&out, "  %13s %14s  %s\n", BucketLabel(b).c_str(), WithCommas(n).c_str(),
                 std::string(bar, '#').c_str());
  }
  return out;
}

std::string DecodeIds(std::span<const int64_t> ids, uint64_t max_tokens,
                      const std::vector<std::string>& names, int64_t vocabulary_size) {
  std::string text;
  const size_t shown = static_cast<size_t>(std::min<uint64_t>(ids.size(), max_tokens));
  for (size_t j = 0; j < shown; ++j) {
    if (j) text += ' ';
    const int64_t id = ids[j];
    if (id >= 0 && static_cast<uint64_t>(id) < names.size() &&
        !names[static_cast<size_t>(id)].empty()) {
      text += names[static_cast<size_t>(id)];
    } else if (vocabulary_size <= 0) {
      text += std::to_string(id);
    } else if (id >= 0 && id < vocabulary_size) {
      text += "<" + std::to_string(id) + ">";
    } else {
      text += "<" + std::to_string(id) + "?>";
    }
  }
  if (shown < ids.size()) text += " ... (" + std::to_string(ids.size() - shown) + " more)";
  return text;
}

MegatronDatasetStats InspectMegatronDataset(const MegatronDatasetReader& reader, bool scan_tokens,
                                            int64_t vocab_size) {
  MegatronDatasetStats stats;
  stats.vocab_size = vocab_size;
  stats.min_length = std::numeric_limits<int32_t>::max();
  reader.ForEachSequenceChunk(
      [&](uint64_t, std::span<const int32_t> lengths, std::span<const int64_t>) {
        for (const int32_t length : lengths) {
          stats.tokens += static_cast<uint64_t>(length);
          stats.min_length = std::min(stats.min_length, length);
          stats.max_length = std::max(stats.max_length, length);
          const size_t bucket = LengthBucket(static_cast<uint64_t>(length));
          if (stats.length_histogram.size() <= bucket) stats.length_histogram.resize(bucket + 1);
          ++stats.length_histogram[bucket];
          if (length == 0) ++stats.empty_sequences;
        }
      });
  if (reader.sequences() == 0) stats.min_length = 0;
  stats.min_sequences_per_document = std::numeric_limits<uint64_t>::max();
  int64_t previous = 0;
  reader.ForEachDocumentChunk([&](uint64_t first, std::span<const int64_t> entries) {
    for (size_t j = first == 0 ? 1 : 0; j < entries.size(); ++j) {
      const auto n = static_cast<uint64_t>(entries[j] - previous);
      stats.min_sequences_per_document = std::min(stats.min_sequences_per_document, n);
      stats.max_sequences_per_document = std::max(stats.max_sequences_per_document, n);
      if (n == 0) ++stats.documents_without_sequences;
      previous = entries[j];
    }
  });
  if (reader.documents() == 0) stats.min_sequences_per_document = 0;
  if (!scan_tokens || !IsIntegerMegatronDType(reader.dtype())) return stats;

  stats.scanned_tokens = true;
  stats.min_id = std::numeric_limits<int64_t>::max();
  const size_t element = MegatronDTypeSize(reader.dtype());
  std::vector<char> buffer((4 << 20) / element * element);
  uint64_t first_bad_token = 0;
  for (uint64_t offset = 0; offset < reader.bin_bytes(); offset += buffer.size()) {
    CheckInterrupt();
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(buffer.size(), reader.bin_bytes() - offset));
    reader.ReadBin(offset, std::span<char>(buffer.data(), n));
    const uint64_t first = offset / element;
    switch (reader.dtype()) {
      case MegatronDType::kUInt8:
        ScanIds<uint8_t>(buffer.data(), n, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt8:
        ScanIds<int8_t>(buffer.data(), n, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt16:
        ScanIds<int16_t>(buffer.data(), n / 2, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kUInt16:
        ScanIds<uint16_t>(buffer.data(), n / 2, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt32:
        ScanIds<int32_t>(buffer.data(), n / 4, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt64:
        ScanIds<int64_t>(buffer.data(), n / 8, first, vocab_size, &stats, &first_bad_token);
        break;
      default:
        break;
    }
  }
  if (stats.tokens == 0) stats.min_id = 0;
  if (stats.ids_out_of_range > 0) {
    // Find the sequence holding token number `first_bad_token`.
    uint64_t end = 0;
    bool found = false;
    reader.ForEachSequenceChunk(
        [&](uint64_t first, std::span<const int32_t> lengths, std::span<const int64_t>) {
          for (size_t j = 0; j < lengths.size() && !found; ++j) {
            end += static_cast<uint64_t>(lengths[j]);
            if (first_bad_token < end) {
              stats.first_out_of_range_sequence = first + j;
              found = true;
            }
          }
        });
  }
  return stats;
}

std::vector<std::string> TokenNames(std::vector<std::string> vocabulary, int32_t id_offset,
                                    const std::vector<SpecialToken>& special_tokens) {
  const bool has_vocabulary = !vocabulary.empty();
  std::vector<std::string> names = ShiftVocabTokens(std::move(vocabulary), id_offset);
  for (const SpecialToken& special : special_tokens) {
    const auto id = static_cast<size_t>(special.id);
    if (id >= names.size()) {
      if (has_vocabulary) {
        throw InvalidArgument("inspect: special token '" + special.text + "=" +
                              std::to_string(special.id) + "' is outside the vocabulary (" +
                              std::to_string(names.size()) + " ids)");
      }
      names.resize(id + 1);
    }
    names[id] = special.text;
  }
  return names;
}

std::vector<MegatronDecodedSequence> DecodeMegatronSequences(const MegatronDatasetReader& reader,
                                                             uint64_t count, uint64_t max_tokens,
                                                             const std::vector<std::string>& names,
                                                             int64_t vocabulary_size) {
  std::vector<MegatronDecodedSequence> decoded;
  const uint64_t show = std::min(count, reader.sequences());
  std::vector<int64_t> ids;
  uint64_t document = 0;
  int64_t document_end = 0;
  for (uint64_t i = 0; i < show; ++i) {
    // Advance to the document holding sequence i (skipping documents without sequences).
    while (document_end <= static_cast<int64_t>(i) && document < reader.documents()) {
      reader.ReadDocumentIndices(document + 1, std::span<int64_t>(&document_end, 1));
      if (document_end <= static_cast<int64_t>(i)) ++document;
    }
    reader.ReadSequence(i, &ids);
    MegatronDecodedSequence sequence;
    sequence.index = i;
    sequence.document = document;
    sequence.tokens = ids.size();
    sequence.text = DecodeIds(ids, max_tokens, names, vocabulary_size);
    decoded.push_back(std::move(sequence));
  }
  return decoded;
}

std::string FormatMegatronFiles(const MegatronDatasetReader& reader) {
  const MegatronIndexHeader& h = reader.header();
  std::string out;
  AppendFormat(&out, "dataset    %s\n", reader.prefix().c_str());
  AppendFormat(
      &out, "index      %s: %s bytes, MMIDIDX version %llu, dtype %s (code %d, %zu bytes)\n",
      reader.idx_path().c_str(), WithCommas(h.IndexFileBytes()).c_str(),
      static_cast<unsigned long long>(h.version), std::string(MegatronDTypeName(h.dtype)).c_str(),
      static_cast<int>(h.dtype), MegatronDTypeSize(h.dtype));
  AppendFormat(&out, "data       %s: %s bytes (%s)\n", reader.bin_path().c_str(),
               WithCommas(reader.bin_bytes()).c_str(), FormatBytes(reader.bin_bytes()).c_str());
  return out;
}

std::string FormatMegatronStats(const MegatronDatasetReader& reader,
                                const MegatronDatasetStats& stats) {
  std::string out;
  const uint64_t sequences = reader.sequences();
  AppendFormat(&out, "sequences  %s\n", WithCommas(sequences).c_str());
  AppendFormat(&out, "documents  %s (%s to %s sequences each; %s without sequences)\n",
               WithCommas(reader.documents()).c_str(),
               WithCommas(stats.min_sequences_per_document).c_str(),
               WithCommas(stats.max_sequences_per_document).c_str(),
               WithCommas(stats.documents_without_sequences).c_str());
  AppendFormat(
      &out, "tokens     %s (mean %.1f per sequence)\n", WithCommas(stats.tokens).c_str(),
      sequences ? static_cast<double>(stats.tokens) / static_cast<double>(sequences) : 0.0);
  AppendFormat(&out, "lengths    min %d, max %d, %s empty\n", stats.min_length, stats.max_length,
               WithCommas(stats.empty_sequences).c_str());
  out += FormatLengthHistogram(stats.length_histogram, "sequences");
  if (stats.scanned_tokens) {
    out += "token ids  ";
    if (stats.tokens == 0) {
      out += "none";
    } else {
      AppendFormat(&out, "%lld..%lld", static_cast<long long>(stats.min_id),
                   static_cast<long long>(stats.max_id));
    }
    if (stats.vocab_size > 0) {
      if (stats.ids_out_of_range == 0) {
        AppendFormat(&out, " (vocabulary of %lld: all in range)",
                     static_cast<long long>(stats.vocab_size));
      } else {
        AppendFormat(&out, " (vocabulary of %lld: %s ids OUT OF RANGE, the first in sequence %llu)",
                     static_cast<long long>(stats.vocab_size),
                     WithCommas(stats.ids_out_of_range).c_str(),
                     static_cast<unsigned long long>(stats.first_out_of_range_sequence));
      }
    } else if (stats.ids_out_of_range > 0) {
      AppendFormat(&out, " (%s NEGATIVE ids, the first in sequence %llu)",
                   WithCommas(stats.ids_out_of_range).c_str(),
                   static_cast<unsigned long long>(stats.first_out_of_range_sequence));
    }
    out += "\n";
  }
  AppendFormat(&out, "check      %s: header, file sizes, pointers, document index%s\n",
               stats.ok() ? "ok" : "FAILED", stats.scanned_tokens ? ", token ids" : "");
  return out;
}

PackedSampleStats InspectPackedSamples(const MegatronDatasetReader& ids,
                                       const MegatronDatasetReader* loss_mask,
                                       const MegatronDatasetReader* boundaries) {
  PackedSampleStats stats;
  stats.samples = ids.sequences();
  stats.has_loss_mask = loss_mask != nullptr;
  stats.has_boundaries = boundaries != nullptr;
  for (const MegatronDatasetReader* side : {loss_mask, boundaries}) {
    if (side != nullptr && side->sequences() != ids.sequences()) {
      throw CorruptionError(side->prefix() + ": " + WithCommas(side->sequences()) +
                            " sequences, but " + ids.prefix() + " holds " +
                            WithCommas(ids.sequences()) + " samples (one sequence each)");
    }
  }
  std::vector<int64_t> tokens, mask, bounds;
  for (uint64_t i = 0; i < stats.samples; ++i) {
    if ((i & 0xfff) == 0) CheckInterrupt();
    ids.ReadSequence(i, &tokens);
    stats.tokens += tokens.size();
    std::string problem;
    if (loss_mask != nullptr) {
      loss_mask->ReadSequence(i, &mask);
      if (mask.size() != tokens.size()) {
        problem = "loss mask of " + std::to_string(mask.size()) + " values for " +
                  std::to_string(tokens.size()) + " ids";
      }
      for (const int64_t v : mask) {
        if (v == 1) ++stats.loss_tokens;
        if (v != 0 && v != 1 && problem.empty()) {
          problem = "loss mask value " + std::to_string(v);
        }
      }
    }
    if (boundaries != nullptr) {
      boundaries->ReadSequence(i, &bounds);
      bool valid = !bounds.empty() && bounds.front() == 0 &&
                   static_cast<uint64_t>(bounds.back()) <= tokens.size();
      for (size_t j = 1; valid && j < bounds.size(); ++j) valid = bounds[j] > bounds[j - 1];
      if (valid) {
        stats.documents += bounds.size() - 1;
        stats.padding_tokens += tokens.size() - static_cast<uint64_t>(bounds.back());
      } else if (problem.empty()) {
        problem = "boundaries are not 0, then increasing ends within the sample";
      }
    }
    if (!problem.empty() && stats.bad_samples++ == 0) {
      stats.first_bad_sample = i;
      stats.first_problem = problem;
    }
  }
  return stats;
}

std::string FormatPackedSampleStats(const PackedSampleStats& stats) {
  std::string out;
  AppendFormat(&out, "packed samples  %s, %s tokens\n", WithCommas(stats.samples).c_str(),
               WithCommas(stats.tokens).c_str());
  const auto percent = [&](uint64_t n) {
    return stats.tokens ? 100.0 * static_cast<double>(n) / static_cast<double>(stats.tokens) : 0.0;
  };
  if (stats.has_boundaries) {
    AppendFormat(&out, "documents  %s, padding %s tokens (%.2f%%)\n",
                 WithCommas(stats.documents).c_str(), WithCommas(stats.padding_tokens).c_str(),
                 percent(stats.padding_tokens));
  }
  if (stats.has_loss_mask) {
    AppendFormat(&out, "loss mask  %s of %s tokens count (%.2f%%)\n",
                 WithCommas(stats.loss_tokens).c_str(), WithCommas(stats.tokens).c_str(),
                 percent(stats.loss_tokens));
  }
  if (stats.ok()) {
    out += "check      ok: side datasets aligned with the samples\n";
  } else {
    AppendFormat(&out,
                 "check      FAILED: %s samples do not fit their side datasets, the first is "
                 "sample %llu (%s)\n",
                 WithCommas(stats.bad_samples).c_str(),
                 static_cast<unsigned long long>(stats.first_bad_sample),
                 stats.first_problem.c_str());
  }
  return out;
}

std::string FormatMegatronSequence(const MegatronDecodedSequence& sequence) {
  std::string out;
  AppendFormat(&out, "sequence %llu (document %llu, %zu tokens): %s\n",
               static_cast<unsigned long long>(sequence.index),
               static_cast<unsigned long long>(sequence.document), sequence.tokens,
               sequence.text.c_str());
  return out;
}

}  // namespace corpusflow
