// The two renderings of a `bench disk` run (engine/io/disk_benchmark.h): the human table printed
// by `corpusflow bench disk`, one row per test with MB/s, IOPS and latency percentiles, and the
// JSON document printed by `--json`, which is also the format of the figures cache
// (engine/io/disk_figures.h; docs/disk.md describes its fields).
//
// Thread-safety: pure functions of their argument.
#pragma once

#include <string>

#include "engine/io/disk_benchmark.h"

namespace corpusflow {

/// The human table: one row per test with MB/s, IOPS and latency percentiles.
std::string FormatDiskBenchmarkTable(const DiskBenchmarkResult& result);

/// The JSON document of a run (also the format of the cache file).
std::string DiskBenchmarkToJson(const DiskBenchmarkResult& result);

}  // namespace corpusflow
