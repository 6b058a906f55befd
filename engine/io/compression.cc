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

}  // namespace corpusflow
