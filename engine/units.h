// Parsing and printing of human sizes ("256M", "2G", "1.5GiB") and durations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corpusflow {

/// Parse a byte size: a number with an optional suffix K, M, G, T (powers of 1024; "KB", "KiB",
/// "k" accepted too). Throws InvalidArgument naming `what` on a malformed value.
uint64_t ParseByteSize(std::string_view text, std::string_view what = "size");

/// Format bytes as "1.5 GiB", "300 MiB", "12 B".
std::string FormatBytes(double bytes);

/// Format a count with thousands separators: "208,227".
std::string FormatCount(uint64_t n);

/// Format seconds as "1h02m", "3m05s", "12.3s".
std::string FormatDuration(double seconds);

/// Physical memory of this machine in bytes.
uint64_t PhysicalMemoryBytes();

}  // namespace corpusflow
