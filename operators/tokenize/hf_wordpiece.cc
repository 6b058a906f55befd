#include "operators/tokenize/hf_wordpiece.h"

#include "engine/error.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {

HfWordPiece::HfWordPiece(const std::vector<std::pair<std::string, int32_t>>& vocab,
                         HfWordPieceConfig config)
    : vocab_(vocab), config_(std::move(config)), unk_(vocab_.Find(config_.unk_token)) {}

size_t HfWordPiece::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  const auto unknown = [&] {
    if (!unk_) {
      throw DataError("the WordPiece model's unk_token '" + config_.unk_token +
                      "' is not in its vocabulary, and a word needs it");
    }
    ids->push_back(*unk_);
    return size_t{1};
  };
  if (CountCodePoints(word) > config_.max_input_chars_per_word) return unknown();
  thread_local std::string key;
  const size_t before = ids->size();
  for (size_t start = 0; start < word.size();) {
    size_t end = word.size();
    std::optional<int32_t> id;
    while (start < end) {
      key.clear();
      if (start > 0) key += config_.continuing_subword_prefix;
      key.append(word.substr(start, end - start));
      if ((id = vocab_.Find(key))) break;
      // One character shorter.
      --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    }
    if (!id) {
      ids->resize(before);
      return unknown();
    }
    ids->push_back(*id);
    start = end;
  }
  return 0;
}

}  // namespace corpusflow
