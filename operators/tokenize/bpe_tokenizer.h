// `tokenize --kind bpe`: byte-level BPE, the tokenizers of GPT-2 (preprocess_data.py's
// GPT2BPETokenizer) and of tiktoken's encodings (TikTokenizer), and HF tokenizer.json files
// (`--tokenizer`, HuggingFaceTokenizer: hf_tokenizer.h, to which these functions hand over).
// Text is cut into pre-tokens by the encoding's regex (bpe_pattern.h) and each is merged by the
// model (bpe_model.h):
//   --tiktoken FILE [--pattern cl100k|o200k|r50k|p50k|gpt2|llama3|qwen2|REGEX]
//            a `.tiktoken` rank file, merged by ranks as tiktoken does; the pattern defaults
//            from a file named after its encoding (cl100k_base.tiktoken, ...);
//   --vocab vocab.json --merges merges.txt [--pattern ...]
//            GPT-2's files, merged by the merges list as GPT-2's encoder.py; pattern gpt2.
// Special tokens follow tiktoken's rule: a literal `<|endoftext|>` in a document is ordinary text
// by default; `--allow-special all|TOKEN,...` makes those tokens of the encoding their ids
// (cl100k: <|endoftext|> 100257, <|fim_prefix|> 100258, <|fim_middle|> 100259, <|fim_suffix|>
// 100260, <|endofprompt|> 100276; o200k: <|endoftext|> 199999, <|endofprompt|> 200018;
// r50k/p50k/gpt2: <|endoftext|> 50256; GPT-2 files: the vocab.json's <|endoftext|>). The id count
// (the field's vocabulary size) covers the encoding's special tokens, as tiktoken's n_vocab:
// cl100k 100277, o200k 200019, gpt2 50257. These files carry no start or end token, so
// --add-special is refused (write-megatron --append-eod adds the end of a document).
// Thread safety: as TextTokenizer; the model and the compiled pattern are shared read-only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/resource_cache.h"
#include "engine/token_names.h"
#include "operators/tokenize/special_tokens.h"
#include "operators/tokenize/tokenize.h"
#include "operators/tokenize/tokenizer_facts.h"

namespace corpusflow {

/// The special tokens of the encoding `options` name (by --pattern or the file's name, or the
/// `<|endoftext|>` of a GPT-2 vocab.json), in id order. Throws IoError, DataError.
std::vector<SpecialToken> BpeEncodingSpecialTokens(const TokenizerOptions& options);

/// The regex --pattern resolves to for these options: the given one, else the encoding of a
/// `.tiktoken` file's name, else gpt2 for GPT-2 files; empty for a tokenizer.json (its own
/// pre-tokenizer). Throws InvalidArgument when none.
std::string BpePatternFor(const TokenizerOptions& options);

/// The special tokens that become their ids in text: --allow-special's tokens of the encoding,
/// plus --special-tokens. Throws InvalidArgument for a token the encoding lacks.
std::vector<SpecialToken> BpeActiveSpecialTokens(const TokenizerOptions& options);

/// Throw InvalidArgument when --add-special cannot work: always for .tiktoken and GPT-2 files;
/// for a tokenizer.json, when its post-processor adds no token or more than one on a side.
void CheckBpeAddSpecial(const TokenizerOptions& options);

/// Check the options of --kind bpe and read the facts (id count) without loading the model.
TokenizerFacts ReadBpeFacts(const TokenizerOptions& options);

/// The names of the ids (engine/token_names.h): the encoding's special tokens, --special-tokens,
/// then every token of the model by its bytes. Loads the model. Throws IoError, DataError.
TokenNames::Pairs BpeTokenNames(const TokenizerOptions& options);

/// Load the byte-level BPE tokenizer of `options` through `resources`.
std::unique_ptr<TextTokenizer> CreateBpeTokenizer(const TokenizerOptions& options,
                                                  ResourceCache& resources);

}  // namespace corpusflow
