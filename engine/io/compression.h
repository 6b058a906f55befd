// The compression codecs of corpusflow's files and how they are named: by a file's extension
// (".gz", ".bz2", ".zst") or by an option value ("gzip", "zstd", ...). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace corpusflow {

enum class Compression { kNone, kGzip, kBzip2, kZstd };

/// The codec implied by a file name's extension (".gz", ".bz2", ".zst"); kNone otherwise.
Compression CompressionFromPath(std::string_view path);
/// The name without its compression extension: "a.jsonl.zst" -> "a.jsonl".
std::string StripCompressionExtension(std::string_view path);
/// Parse "none", "gzip" (or "gz"), "bzip2" (or "bz2"), "zstd" (or "zst"); InvalidArgument
/// otherwise.
Compression ParseCompression(std::string_view text);
/// "none", "gzip", "bzip2" or "zstd".
std::string_view CompressionName(Compression compression);
/// Check an output's compression level (0 = the codec's default: zstd 3, gzip 6, bzip2 9):
/// zstd takes -7..22, gzip and bzip2 1..9, and an uncompressed output none (a level there would
/// be silently meaningless). Throws InvalidArgument naming `option` and `output`.
void CheckCompressionLevel(Compression compression, int level, std::string_view option,
                           std::string_view output);

}  // namespace corpusflow
