// Inputs of the resumable-run tests (tests/cli/resume_test.cc, tests/mpi/mpi_resume_test.cc): a
// small T5 PEGASUS corpus with its vocabulary, and the pipeline that prepares it for Megatron.
#pragma once

#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {

/// Write `dir`/in.jsonl (3000 documents of short Chinese sentences, every 50th long) and build
/// its vocabulary `dir`/v.txt (2000 tokens) with the binary; fails the test when that fails.
void WritePegasusInputs(const ScopedTempDir& dir);

/// `read in.jsonl | pseudo-summary | tokenize src | tokenize tgt | shuffle --seed 5 --memory 1M
/// | mlm | write-megatron dir/PREFIX` (without the shuffle when `shuffle` is false).
std::string PegasusPipeline(const ScopedTempDir& dir, const std::string& prefix,
                            bool shuffle = true);

/// The suffixes of the six files write-megatron writes for that pipeline.
std::vector<std::string> PegasusOutputSuffixes();

}  // namespace corpusflow::testing
