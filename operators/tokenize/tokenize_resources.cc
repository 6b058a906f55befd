#include "operators/tokenize/tokenize_resources.h"

#include <sentencepiece_processor.h>

#include "engine/error.h"
#include "engine/io/paths.h"
#include "operators/tokenize/jieba_segmenter.h"
#include "operators/tokenize/vocabulary.h"

namespace corpusflow {

std::shared_ptr<const JiebaSegmenter> LoadJiebaSegmenter(
    ResourceCache& resources, const std::string& dict_path,
    const std::vector<std::string>& user_dict_paths) {
  const std::string dict = JiebaSegmenter::DictionaryPathOrDefault(dict_path);
  std::vector<std::string> files = {dict};
  files.insert(files.end(), user_dict_paths.begin(), user_dict_paths.end());
  return resources.Get<JiebaSegmenter>(ResourceCache::FileKey("jieba", files),
                                       [&] { return JiebaSegmenter::Load(dict, user_dict_paths); });
}

std::shared_ptr<const Vocabulary> LoadVocabulary(ResourceCache& resources,
                                                 const std::string& path) {
  return resources.Get<Vocabulary>(ResourceCache::FileKey("vocabulary", {path}),
                                   [&] { return Vocabulary::Load(path); });
}

std::shared_ptr<const sentencepiece::SentencePieceProcessor> LoadSentencePieceModel(
    ResourceCache& resources, const std::string& path) {
  return resources.Get<sentencepiece::SentencePieceProcessor>(
      ResourceCache::FileKey("sentencepiece", {path}), [&] {
        CheckInputReadable(path);
        auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
        const auto status = processor->Load(path);
        if (!status.ok()) {
          throw DataError(path + ": not a SentencePiece model: " + status.ToString());
        }
        return processor;
      });
}

}  // namespace corpusflow
