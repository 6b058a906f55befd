#include "operators/tokenize/bert_basic_tokenizer.h"

namespace corpusflow {

BertBasicTokenizer::CharClass BertBasicTokenizer::Classify(char32_t cp) {
  if (cp < 0x80) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return CharClass::kSpace;
    // Other ASCII controls (including \v, \f and \x1c-\x1f, which Python's split() would also
    // split on) are removed first, as BERT's _clean_text does.
    if (cp < 0x20 || cp == 0x7F) return CharClass::kDrop;
    return CharClass::kOther;
  }
  if (IsBertCjk(cp)) return CharClass::kCjk;
  if (cp == 0xFFFD || IsBertControl(cp)) return CharClass::kDrop;
  if (IsBertWhitespace(cp) || IsPythonSpace(cp)) return CharClass::kSpace;
  return CharClass::kOther;
}

void BertBasicTokenizer::Normalize(Scratch& scratch) const {
  scratch.normalized.clear();
  bool ascii = true;
  for (char32_t cp : scratch.raw) ascii &= cp < 0x80;
  if (ascii) {
    for (char32_t cp : scratch.raw) {
      scratch.normalized.push_back((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
    }
    return;
  }
  AppendUncased(scratch.raw.data(), scratch.raw.size(), &scratch.normalized, &scratch.decomposed);
}

}  // namespace corpusflow
