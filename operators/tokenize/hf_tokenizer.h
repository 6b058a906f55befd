// `tokenize --kind bpe --tokenizer tokenizer.json`: an HF tokenizers file, encoded as HF's
// Tokenizer::encode(text, add_special_tokens) encodes it (npm `tokenizers` parity):
//   1. added tokens whose `normalized` is false are cut out of the raw text
//      (hf_added_tokens.h);
//   2. each stretch between them is normalized (hf_normalizer.h), and the added tokens whose
//      `normalized` is true are cut out of it by their normalized text;
//   3. each remaining stretch is pre-tokenized (hf_pre_tokenizer.h) and each piece encoded by the
//      model: BPE (bpe_model.h, BpeModel::LoadHf), WordPiece (hf_wordpiece.h) or Unigram
//      (hf_unigram.h);
//   4. with --add-special, the post-processor's tokens go around the text (at most one id before
//      and one after: the template of Llama 3 (BOS), BERT or RoBERTa).
// Special tokens follow tiktoken's rule as the other BPE files do: an added token marked
// special is ordinary text unless --allow-special names it (or says all); HF always cuts them
// out, so `--allow-special all` gives HF's ids. Added tokens not marked special are always cut
// out, as in HF.
// The parts of a file are read and checked at plan time (hf_tokenizer_json.h): the id count
// (one more than the largest id of the vocabulary and the added tokens) and the post-processor's
// ids come from there; the model loads in Open through the run's ResourceCache.
// Thread safety: as TextTokenizer; the model, normalizer, pre-tokenizer and splitters are shared
// read-only, scratch is per thread.
#pragma once

#include <memory>

#include "engine/resource_cache.h"
#include "engine/token_names.h"
#include "operators/tokenize/tokenize.h"
#include "operators/tokenize/tokenizer_facts.h"

namespace corpusflow {

/// Read the file's facts without building the model; checks --allow-special against its special
/// tokens. Throws InvalidArgument, IoError, DataError.
TokenizerFacts ReadHfFacts(const TokenizerOptions& options);

/// Throw InvalidArgument when --add-special cannot add the post-processor's tokens (none, or
/// more than one before or after the text).
void CheckHfAddSpecial(const TokenizerOptions& options);

/// The names of the ids: --special-tokens, the added tokens, then the vocabulary (a byte-level
/// model's tokens by their bytes).
TokenNames::Pairs HfTokenNames(const TokenizerOptions& options);

/// Load the tokenizer of `options.tokenizer_json_path` through `resources`.
std::unique_ptr<TextTokenizer> CreateHfTokenizer(const TokenizerOptions& options,
                                                 ResourceCache& resources);

}  // namespace corpusflow
