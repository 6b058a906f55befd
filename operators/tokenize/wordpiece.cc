#include "operators/tokenize/wordpiece.h"

namespace corpusflow {

bool WordPiece::Encode(const char32_t* cps, size_t n, std::vector<int32_t>* ids) const {
  if (n == 0) return false;
  if (n > max_chars_per_word_) {
    ids->push_back(unk_id_);
    return true;
  }
  const size_t first_piece = ids->size();
  size_t start = 0;
  while (start < n) {
    Vocabulary::Node node = start == 0 ? Vocabulary::kRoot : vocab_.continuation_root();
    size_t best_end = 0;
    int32_t best_id = -1;
    for (size_t i = start; i < n && node != Vocabulary::kNoNode; ++i) {
      node = vocab_.Child(node, cps[i]);
      if (node == Vocabulary::kNoNode) break;
      const int32_t id = vocab_.Id(node);
      if (id >= 0) {
        best_end = i + 1;
        best_id = id;
      }
    }
    if (best_id < 0) {
      ids->resize(first_piece);
      ids->push_back(unk_id_);
      return true;
    }
    ids->push_back(best_id);
    start = best_end;
  }
  return false;
}

}  // namespace corpusflow
