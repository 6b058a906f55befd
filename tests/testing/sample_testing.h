// Helpers for tests of the trainer-format sinks (write-datatrove, write-mds, write-olmo): seeded
// packed samples (ids, loss mask, cu_seqlens) written as a JSONL input of id strings, the
// pipeline that turns that input into the pack stage's fields, and a reader of the JSONL that
// `write` gives for the same pipeline (the reference every format is compared with, sample for
// sample), and the little-endian integers every layout is made of. The readers of the formats
// themselves are written in each test from the published layouts, never through the production
// readers.
// Thread safety: plain functions.
#pragma once

#include <cstddef>
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

/// Write `samples` as DIR/in.jsonl and run its pipeline (TestSamplePipeline with the mask and
/// the boundaries) twice: into `write DIR/ref.jsonl` and into `sink` (e.g. "write-mds DIR/m").
/// Returns the records of ref.jsonl, the reference the sink's output is compared with; a
/// reference that differs from `samples` is a test failure.
std::vector<TestSample> RunSamplesThroughSink(const std::string& dir,
                                              const std::vector<TestSample>& samples,
                                              int64_t vocab_size, const std::string& sink);

/// Run the pipeline of DIR/in.jsonl (with the mask and the boundaries) into `sink`, expecting
/// exit status 1, `message` on stderr, and nothing in DIR but in.jsonl afterwards.
void ExpectSinkFailsLeavingNothing(const std::string& dir, int64_t vocab_size,
                                   const std::string& sink, const std::string& message);

/// Run `corpusflow run --threads 2 PIPELINE`; a non-zero exit is a test failure (with stderr).
void RunTestPipeline(const std::string& pipeline);

/// The unsigned little-endian integer of `width` bytes at `at` (throws std::out_of_range past
/// the end).
uint64_t LittleEndianAt(const std::string& bytes, size_t at, size_t width);
/// All of `bytes` as unsigned little-endian integers of `width` bytes; a size that is not a
/// multiple of `width` is a test failure.
std::vector<uint64_t> LittleEndianValues(const std::string& bytes, size_t width);

}  // namespace corpusflow::testing
