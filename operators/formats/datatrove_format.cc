#include "operators/formats/datatrove_format.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "engine/coding.h"
#include "engine/error.h"

namespace corpusflow {
namespace {

/// Documents (index entries) read at a time.
constexpr size_t kIndexChunk = 8192;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadSmallFile(const std::string& path) {
  File file = File::Open(path, O_RDONLY);
  std::string text(file.Size(), '\0');
  const size_t got = file.PRead(0, text.data(), text.size());
  text.resize(got);
  return text;
}

}  // namespace

std::string DatatroveTokensPath(const std::string& prefix) { return prefix + ".ds"; }
std::string DatatroveIndexPath(const std::string& prefix) { return prefix + ".ds.index"; }
std::string DatatroveLossPath(const std::string& prefix) { return prefix + ".ds.loss"; }
std::string DatatroveMetadataPath(const std::string& prefix) { return prefix + ".ds.metadata"; }

int DatatroveTokenSize(int64_t vocab_size) { return vocab_size <= 0 || vocab_size > 65536 ? 4 : 2; }

std::string HumanizeMetric(uint64_t value, const std::string& unit) {
  // humanize.metric: exponent = floor(log10(value)); value / 10^(exponent // 3 * 3) printed with
  // max(0, 3 - exponent % 3 - 1) decimals, then a space, the SI prefix and the unit.
  int exponent = 0;
  for (uint64_t v = value; v >= 10; v /= 10) ++exponent;
  double scale = 1;
  for (int i = 0; i < exponent / 3 * 3; ++i) scale *= 10;
  const double scaled = static_cast<double>(value) / scale;
  const int decimals = std::max(0, 3 - exponent % 3 - 1);
  char number[64];
  std::snprintf(number, sizeof number, "%.*f", decimals, scaled);
  std::string prefix;
  if (exponent >= 3) prefix = std::string(1, "kMGTPEZYRQ"[exponent / 3 - 1]);
  const std::string space = unit.empty() && prefix.empty() ? "" : " ";
  return number + space + prefix + unit;
}

std::string DatatroveMetadataText(const std::string& tokenizer, int token_size, uint64_t tokens) {
  return tokenizer + "|" + std::to_string(token_size) + "\n" + std::to_string(tokens) + "\n" +
         HumanizeMetric(tokens, "T");
}

DatatroveMetadata ParseDatatroveMetadata(const std::string& text, const std::string& file) {
  DatatroveMetadata metadata;
  const size_t first = text.find('\n');
  const size_t second = first == std::string::npos ? first : text.find('\n', first + 1);
  if (first == std::string::npos) {
    throw CorruptionError(file + ": expected the tokenizer line and the token count");
  }
  const std::string head = text.substr(0, first);
  const size_t bar = head.rfind('|');
  metadata.tokenizer = head.substr(0, bar);
  if (bar != std::string::npos) {
    const std::string size = head.substr(bar + 1);
    if (size != "2" && size != "4") {
      throw CorruptionError(file + ": line 1: token size '" + size + "' is not 2 or 4");
    }
    metadata.token_size = size[0] - '0';
  }
  const std::string count =
      text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  const auto [end, ec] =
      std::from_chars(count.data(), count.data() + count.size(), metadata.tokens);
  if (ec != std::errc() || end != count.data() + count.size() || count.empty()) {
    throw CorruptionError(file + ": line 2: '" + count + "' is not a token count");
  }
  return metadata;
}

DatatroveReader::DatatroveReader(const std::string& name, int token_size) {
  prefix_ = name.ends_with(".ds") ? name.substr(0, name.size() - 3) : name;
  const std::string metadata_path = DatatroveMetadataPath(prefix_);
  token_size_ = token_size > 0 ? token_size : 2;
  if (Exists(metadata_path)) {
    metadata_ = ParseDatatroveMetadata(ReadSmallFile(metadata_path), metadata_path);
    has_metadata_ = true;
    if (token_size == 0) token_size_ = metadata_.token_size;
  }
  ds_ = File::Open(DatatroveTokensPath(prefix_), O_RDONLY);
  index_ = File::Open(DatatroveIndexPath(prefix_), O_RDONLY);
  const uint64_t ds_size = ds_.Size();
  if (ds_size % static_cast<uint64_t>(token_size_) != 0) {
    throw CorruptionError(ds_.name() + ": " + std::to_string(ds_size) +
                          " bytes is not a whole number of " + std::to_string(token_size_) +
                          "-byte tokens");
  }
  tokens_ = ds_size / static_cast<uint64_t>(token_size_);
  const uint64_t index_size = index_.Size();
  if (index_size % 8 != 0) {
    throw CorruptionError(index_.name() + ": " + std::to_string(index_size) +
                          " bytes is not a whole number of uint64 document ends");
  }
  documents_ = index_size / 8;
  if (has_metadata_ && metadata_.tokens != tokens_) {
    throw CorruptionError(metadata_path + ": says " + std::to_string(metadata_.tokens) +
                          " tokens, but " + ds_.name() + " holds " + std::to_string(tokens_));
  }
  if (Exists(DatatroveLossPath(prefix_))) {
    loss_ = File::Open(DatatroveLossPath(prefix_), O_RDONLY);
    if (loss_.Size() != tokens_) {
      throw CorruptionError(loss_.name() + ": " + std::to_string(loss_.Size()) +
                            " bytes, but the loss mask has one byte for each of the " +
                            std::to_string(tokens_) + " tokens");
    }
  }
}

void DatatroveReader::ForEachDocument(
    const std::function<void(uint64_t, std::span<const int64_t>, std::span<const uint8_t>)>& fn)
    const {
  std::string index_bytes(kIndexChunk * 8, '\0');
  std::string token_bytes;
  std::vector<int64_t> ids;
  std::vector<uint8_t> loss;
  uint64_t start = 0;
  for (uint64_t first = 0; first < documents_; first += kIndexChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kIndexChunk, documents_ - first));
    index_.PRead(first * 8, index_bytes.data(), n * 8);
    for (size_t k = 0; k < n; ++k) {
      const uint64_t d = first + k;
      const uint64_t end = DecodeFixed64(index_bytes.data() + 8 * k);
      if (end <= start || end > tokens_) {
        throw CorruptionError(index_.name() + ": document " + std::to_string(d) + " ends at " +
                              std::to_string(end) + ", not after " + std::to_string(start) +
                              " and within the " + std::to_string(tokens_) + " tokens");
      }
      const uint64_t length = end - start;
      token_bytes.resize(length * static_cast<uint64_t>(token_size_));
      ds_.PRead(start * static_cast<uint64_t>(token_size_), token_bytes.data(), token_bytes.size());
      ids.resize(length);
      for (uint64_t j = 0; j < length; ++j) {
        const char* p = token_bytes.data() + j * static_cast<uint64_t>(token_size_);
        ids[j] = token_size_ == 2 ? DecodeFixed<uint16_t>(p) : DecodeFixed<uint32_t>(p);
      }
      loss.clear();
      if (loss_.is_open()) {
        loss.resize(length);
        loss_.PRead(start, reinterpret_cast<char*>(loss.data()), length);
        for (uint64_t j = 0; j < length; ++j) {
          if (loss[j] > 1) {
            throw CorruptionError(loss_.name() + ": byte " + std::to_string(start + j) + " is " +
                                  std::to_string(loss[j]) + ", not 0 or 1");
          }
        }
      }
      fn(d, ids, loss);
      start = end;
    }
  }
  if (start != tokens_) {
    throw CorruptionError(index_.name() + ": the last document ends at " + std::to_string(start) +
                          ", but " + ds_.name() + " holds " + std::to_string(tokens_) + " tokens");
  }
}

}  // namespace corpusflow
