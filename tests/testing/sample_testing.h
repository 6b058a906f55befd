// Helpers for tests of the trainer-format sinks (write-datatrove, write-mds, write-olmo): seeded
// packed samples (ids, loss mask, cu_seqlens) written as a JSONL input of id strings, the
// pipeline that turns that input into the pack stage's fields, and a reader of the JSONL that
// `write` gives for the same pipeline (the reference every format is compared with, sample for
// sample). The readers of the formats themselves are written in each test from the published
// layouts, never through the production readers.
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace corpusflow::testing {

/// One record of the field contract.
struct TestSample {
  std::vector<int32_t> ids;
  std::vector<int32_t> loss_mask;
  std::vector<int32_t> cu_seqlens;

  bool operator==(const TestSample&) const = default;
};

/// `count` packed samples of `length` tokens each, from `seed`: documents of 1 to length/2
/// tokens, each ending with `eos`, other ids in [0, max_id] but never `eos` or `pad`; when a
/// document does not fit, the rest of the sample (if any) is padding with `pad` (after the last
/// boundary) in about half of the samples. The loss mask is 0 on the first token of each
/// document and on padding, 1 elsewhere.
std::vector<TestSample> PackedTestSamples(uint64_t seed, size_t count, size_t length,
                                          int32_t max_id, int32_t eos, int32_t pad);

/// The samples as a JSONL input: {"ids": "1 2 3", "mask": "0 1 1", "bounds": "0 3"} per line.
std::string TestSamplesJsonl(const std::vector<TestSample>& samples);

/// The pipeline text that reads `input` (written by TestSamplesJsonl) into `input_ids` (with
/// `vocab_size`, 0 for none), `loss_mask` and `cu_seqlens` (each only when `with_mask` /
/// `with_boundaries`), without a sink.
std::string TestSamplePipeline(const std::string& input, int64_t vocab_size, bool with_mask,
                               bool with_boundaries);

/// The records of a JSONL file written by `write`, with their input_ids, loss_mask and
/// cu_seqlens members (each empty when absent).
std::vector<TestSample> ReadTestSamplesJsonl(const std::string& path);

}  // namespace corpusflow::testing
