// Chinese word segmentation with exactly the output of python3-jieba 0.42.1's
// `jieba.cut(text, HMM=False)`:
//   - runs of [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] are segmented on the dictionary: the DAG of all
//     dictionary words, the route of maximum log-probability (ties go to the longer word), and
//     consecutive single-character [a-zA-Z0-9] words merged into one token;
//   - other text is split on "\r\n" and single whitespace characters (Python's str.isspace()),
//     which are tokens themselves, and every other character is a token of its own.
// Text is UTF-8; each maximal invalid UTF-8 subsequence is a token of its own, where Python would
// see one U+FFFD (callers that care repair the text first, as `segment` does).
//
// Usage: load once per run, share read-only across workers:
//   auto segmenter = JiebaSegmenter::Load(JiebaSegmenter::DefaultDictionaryPath());
//   std::vector<std::string_view> words;
//   segmenter->Cut(text, &words);  // views into `text`
// Thread safety: after Load, every const method may be called from any number of threads (Cut
// keeps its scratch buffers per thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operators/tokenize/jieba_dictionary.h"

namespace corpusflow {

class JiebaSegmenter {
 public:
  /// The dictionary of Debian's python3-jieba (the CORPUSFLOW_JIEBA_DICT build setting).
  static std::string DefaultDictionaryPath();
  /// `dict_path`, or DefaultDictionaryPath() when it is empty.
  static std::string DictionaryPathOrDefault(const std::string& dict_path);

  /// Load `dict_path` (jieba's dict.txt format), then each user dictionary in order with
  /// jieba's load_userdict rules (`word [freq] [tag]` per line; a word without a frequency gets
  /// jieba's suggest_freq). Throws IoError or DataError naming the file and line.
  static std::unique_ptr<JiebaSegmenter> Load(const std::string& dict_path,
                                              const std::vector<std::string>& user_dict_paths = {});
  /// Segment with an already built dictionary.
  explicit JiebaSegmenter(std::unique_ptr<JiebaDictionary> dictionary);
  ~JiebaSegmenter();

  /// Replace `*words` with the words of `text` as jieba.cut(text, HMM=False) gives them: views
  /// into `text`, which together cover it exactly, in order. Throws DataError for a text of
  /// 4 GiB or more.
  void Cut(std::string_view text, std::vector<std::string_view>* words) const;

  /// Add the words of a user dictionary in memory (load_userdict semantics); `name` is used in
  /// error messages. REQUIRES: no concurrent use of the segmenter.
  void LoadUserDictionary(std::string_view text, const std::string& name);

  const JiebaDictionary& dictionary() const { return *dictionary_; }

 private:
  /// jieba's suggest_freq(word, tune=False) on the current dictionary.
  int64_t SuggestFrequency(std::string_view word) const;

  std::unique_ptr<JiebaDictionary> dictionary_;
};

}  // namespace corpusflow
