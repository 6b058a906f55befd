#include "operators/formats/olmo_format.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/io/input_stream.h"
#include "engine/io/line_reader.h"

namespace corpusflow {
namespace {

bool ParseUint(std::string_view text, uint64_t* value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

/// Call `fn(start, end)` for each line of the metadata file `path`, checking that every line is
/// start,end,... with documents in order, not empty and not overlapping.
void ForEachMetadataLine(const std::string& path,
                         const std::function<void(uint64_t, uint64_t)>& fn) {
  LineReader lines(OpenInput(path));
  std::string_view line;
  uint64_t line_number = 0;
  uint64_t last_end = 0;
  while (lines.Next(&line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t comma1 = line.find(',');
    const size_t comma2 = comma1 == std::string_view::npos ? comma1 : line.find(',', comma1 + 1);
    uint64_t start = 0, end = 0;
    if (comma1 == std::string_view::npos || !ParseUint(line.substr(0, comma1), &start) ||
        !ParseUint(line.substr(comma1 + 1, comma2 == std::string_view::npos ? std::string_view::npos
                                                                            : comma2 - comma1 - 1),
                   &end)) {
      throw CorruptionError(path + ": line " + std::to_string(line_number) + ": not start,end,...");
    }
    if (end <= start || start < last_end) {
      throw CorruptionError(path + ": line " + std::to_string(line_number) + ": document " +
                            std::to_string(start) + ".." + std::to_string(end) +
                            " is empty or overlaps the one before (ending at " +
                            std::to_string(last_end) + ")");
    }
    fn(start, end);
    last_end = end;
  }
}

}  // namespace

std::string OlmoTokensPath(const std::string& prefix) { return prefix + ".npy"; }
std::string OlmoMetadataPath(const std::string& prefix) { return prefix + ".csv.gz"; }
std::string OlmoMaskPath(const std::string& prefix) { return prefix + "_mask.npy"; }

int OlmoTokenWidth(int64_t vocab_size) {
  if (vocab_size <= 0) return 4;
  if (vocab_size - 1 <= 0xff) return 1;
  if (vocab_size - 1 <= 0xffff) return 2;
  return 4;
}

std::string OlmoMetadataLine(uint64_t start, uint64_t end, uint64_t id, const std::string& src,
                             uint64_t loc) {
  return std::to_string(start) + "," + std::to_string(end) + "," + std::to_string(id) + "," + src +
         "," + std::to_string(loc) + "\n";
}

OlmoReader::OlmoReader(const std::string& name, int width) {
  prefix_ = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
  tokens_file_ = File::Open(OlmoTokensPath(prefix_), O_RDONLY);
  const std::string metadata = OlmoMetadataPath(prefix_);
  // A first pass checks the metadata and finds where its documents end; ForEachDocument reads
  // it again, so that memory does not grow with the documents.
  uint64_t last_end = 0;
  ForEachMetadataLine(metadata, [&](uint64_t, uint64_t end) {
    ++documents_;
    last_end = end;
  });
  const uint64_t size = tokens_file_.Size();
  if (width > 0) {
    width_ = width;
  } else if (last_end == 0) {
    width_ = size == 0 ? 2 : 0;
  } else if (size % last_end == 0 &&
             (size / last_end == 1 || size / last_end == 2 || size / last_end == 4)) {
    // Documents cover the file (up to padding after the last): its size says the width.
    width_ = static_cast<int>(size / last_end);
  } else {
    for (const int w : {1, 2, 4}) {
      if (size % static_cast<uint64_t>(w) == 0 && size / static_cast<uint64_t>(w) >= last_end) {
        width_ = w;
      }
    }
  }
  if (width_ == 0 || size % static_cast<uint64_t>(width_) != 0) {
    throw CorruptionError(tokens_file_.name() + ": " + std::to_string(size) +
                          " bytes do not match the documents of " + metadata +
                          " in 1, 2 or 4-byte tokens (give the width with --token-size)");
  }
  tokens_ = size / static_cast<uint64_t>(width_);
  if (last_end > tokens_) {
    throw CorruptionError(metadata + ": the last document ends at " + std::to_string(last_end) +
                          ", past the " + std::to_string(tokens_) + " tokens of " +
                          tokens_file_.name());
  }
  struct stat st;
  if (::stat(OlmoMaskPath(prefix_).c_str(), &st) == 0) {
    mask_ = File::Open(OlmoMaskPath(prefix_), O_RDONLY);
    if (mask_.Size() != tokens_) {
      throw CorruptionError(mask_.name() + ": " + std::to_string(mask_.Size()) +
                            " bytes, but the mask has one byte for each of the " +
                            std::to_string(tokens_) + " tokens");
    }
  }
}

void OlmoReader::ForEachDocument(
    const std::function<void(uint64_t, uint64_t, std::span<const int64_t>,
                             std::span<const uint8_t>)>& fn) const {
  std::string bytes;
  std::vector<int64_t> ids;
  std::vector<uint8_t> mask;
  const auto w = static_cast<uint64_t>(width_);
  uint64_t d = 0;
  ForEachMetadataLine(OlmoMetadataPath(prefix_), [&](uint64_t start, uint64_t end) {
    if (end > tokens_) {
      throw CorruptionError(OlmoMetadataPath(prefix_) + ": document " + std::to_string(d) +
                            " ends at " + std::to_string(end) + ", past the " +
                            std::to_string(tokens_) + " tokens of " + tokens_file_.name());
    }
    bytes.resize((end - start) * w);
    tokens_file_.PRead(start * w, bytes.data(), bytes.size());
    ids.resize(end - start);
    for (uint64_t j = 0; j < ids.size(); ++j) {
      const char* p = bytes.data() + j * w;
      ids[j] = w == 1   ? static_cast<uint8_t>(*p)
               : w == 2 ? DecodeFixed<uint16_t>(p)
                        : DecodeFixed<uint32_t>(p);
    }
    mask.clear();
    if (mask_.is_open()) {
      mask.resize(end - start);
      mask_.PRead(start, reinterpret_cast<char*>(mask.data()), mask.size());
      for (uint64_t j = 0; j < mask.size(); ++j) {
        if (mask[j] > 1) {
          throw CorruptionError(mask_.name() + ": byte " + std::to_string(start + j) + " is " +
                                std::to_string(mask[j]) + ", not 0 or 1");
        }
      }
    }
    fn(d++, start, ids, mask);
  });
}

}  // namespace corpusflow
