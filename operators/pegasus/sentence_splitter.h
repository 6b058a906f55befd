// Sentence splitting for PEGASUS gap-sentence generation. Two modes:
//   - kPegasus, the rule of google-research/pegasus: a boundary follows a run of ASCII `.`, `!`
//     or `?` when the run is followed by ASCII whitespace (space, \t, \n, \v, \f, \r); the
//     whitespace run stays with the sentence before it. The reference never splits Chinese.
//   - kCjk: a boundary follows a run of the terminators 。！？；…⋯｡ and ASCII ! ?, or a run of
//     ASCII dots followed by whitespace or the end of the text (so "3.14" and "e.g" stay whole);
//     closing quotes and brackets after the run (” ’ 」 』 ） ) ] 】 》 〉 〕 〗 ｝ } " ' ＂ ＇ »
//     ›) stay on the sentence, then the whitespace run after them. A line break (\n, \r, \v, \f,
//     U+0085, U+2028, U+2029) also ends a sentence that has content, with the whitespace around
//     it. Leading whitespace belongs to the first sentence.
// Sentences are views into the text and lossless: concatenated they give the text back byte for
// byte (in kCjk mode a text of whitespace only has no sentence at all). Invalid UTF-8 bytes are
// ordinary non-space characters (operators/utf8_internal.h). Pure functions: safe from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace corpusflow {

enum class SentenceMode { kPegasus, kCjk };

/// Parse "pegasus" or "cjk"; throws InvalidArgument naming `option`.
SentenceMode ParseSentenceMode(std::string_view name, std::string_view option = "--mode");
/// "pegasus" or "cjk".
std::string_view SentenceModeName(SentenceMode mode);

/// Replace `*sentences` with the sentences of `text` (views into it).
void SplitSentences(std::string_view text, SentenceMode mode,
                    std::vector<std::string_view>* sentences);

/// A sentence cut into leading whitespace, content and trailing whitespace (Python's
/// str.isspace()); content is empty only for a sentence of whitespace alone.
struct SentenceParts {
  std::string_view leading;
  std::string_view content;
  std::string_view trailing;
};
SentenceParts SplitSentenceParts(std::string_view sentence);

}  // namespace corpusflow
