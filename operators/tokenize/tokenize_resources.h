// The resources of the tokenize domain (jieba segmenters, vocab.txt vocabularies, SentencePiece
// models), loaded through the run's ResourceCache (engine/resource_cache.h): in an
// operator's Open, once per run for all the stages that name the same files. Keys name the kind
// and the files' canonical paths (ResourceCache::FileKey), so `vocab.txt` and `./vocab.txt`
// share one load.
// Thread safety: as ResourceCache::Get; the objects returned are immutable and shared.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/resource_cache.h"

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace corpusflow {

class JiebaSegmenter;
class Vocabulary;

/// The jieba segmenter of `dict_path` (empty: the default dictionary) and `user_dict_paths`.
/// Throws IoError or DataError naming the file.
std::shared_ptr<const JiebaSegmenter> LoadJiebaSegmenter(
    ResourceCache& resources, const std::string& dict_path,
    const std::vector<std::string>& user_dict_paths = {});

/// The vocabulary of a vocab.txt (one token per line, ids from 0). Throws IoError, DataError.
std::shared_ptr<const Vocabulary> LoadVocabulary(ResourceCache& resources, const std::string& path);

/// The SentencePiece model at `path`. Throws IoError, or DataError when it is not a model.
std::shared_ptr<const sentencepiece::SentencePieceProcessor> LoadSentencePieceModel(
    ResourceCache& resources, const std::string& path);

}  // namespace corpusflow
