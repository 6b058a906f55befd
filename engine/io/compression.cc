#include "engine/io/compression.h"

#include "engine/error.h"

namespace corpusflow {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Compression CompressionFromPath(std::string_view path) {
  if (EndsWith(path, ".gz")) return Compression::kGzip;
  if (EndsWith(path, ".bz2")) return Compression::kBzip2;
  if (EndsWith(path, ".zst")) return Compression::kZstd;
  return Compression::kNone;
}

std::string StripCompressionExtension(std::string_view path) {
  switch (CompressionFromPath(path)) {
    case Compression::kGzip:
      path.remove_suffix(3);
      break;
    case Compression::kBzip2:
    case Compression::kZstd:
      path.remove_suffix(4);
      break;
    case Compression::kNone:
      break;
  }
  return std::string(path);
}

Compression ParseCompression(std::string_view text) {
  if (text == "none") return Compression::kNone;
  if (text == "gzip" || text == "gz") return Compression::kGzip;
  if (text == "bzip2" || text == "bz2") return Compression::kBzip2;
  if (text == "zstd" || text == "zst") return Compression::kZstd;
  throw InvalidArgument("unknown compression '" + std::string(text) +
                        "' (expected none, gzip, bzip2 or zstd)");
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

void CheckCompressionLevel(Compression compression, int level, std::string_view option,
                           std::string_view output) {
  if (level == 0) return;
  const std::string given = std::string(option) + " " + std::to_string(level);
  if (compression == Compression::kNone) {
    throw InvalidArgument(given + ": " + std::string(output) +
                          " is written uncompressed (name it .zst, .gz or .bz2, or give "
                          "--compression)");
  }
  const int lo = compression == Compression::kZstd ? -7 : 1;
  const int hi = compression == Compression::kZstd ? 22 : 9;
  if (level < lo || level > hi) {
    throw InvalidArgument(given + " is out of range for " +
                          std::string(CompressionName(compression)) + " [" + std::to_string(lo) +
                          ", " + std::to_string(hi) + "]");
  }
}

}  // namespace corpusflow
