// Helpers of the BPE parity tests (tests/operators/tokenize/bpe_test.cc, hf_tokenizer_test.cc):
// the mixed corpus on which corpusflow and the npm oracles (tests/oracles/bpe_oracle.js) must
// give the same ids, and the comparison of `tokenize` through the binary with an oracle's output.
#pragma once

#include <string>
#include <vector>

namespace corpusflow::testing {

/// Whether the npm oracles are installed (tests/oracles/node_modules: tiktoken, tokenizers).
bool BpeOraclesInstalled();
/// tests/oracles/bpe_oracle.js.
std::string BpeOracle();

/// Documents (no NUL inside) covering what the references disagree on most easily: every
/// script, emoji and ZWJ sequences, long digit and whitespace runs, \r\n, literal special tokens,
/// invalid UTF-8, and a few hundred documents of Chinese prose (fortunes-zh) and English licenses
/// (base-files).
std::vector<std::string> BpeParityCorpus();

/// Write `docs` NUL-separated, run the oracle with `oracle_args` followed by the input and output
/// files (one line of space-separated ids per document), run `read -z | tokenize --kind bpe
/// TOKENIZE_ARGS | write` on two threads, and compare line by line: the first three differences
/// are reported as test failures naming `label`. Returns the number of documents that differ.
int CompareBpeWithOracle(const std::vector<std::string>& docs,
                         const std::vector<std::string>& oracle_args,
                         const std::vector<std::string>& oracle_flags,
                         const std::string& tokenize_args, const std::string& label);

}  // namespace corpusflow::testing
