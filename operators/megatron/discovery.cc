#include "operators/megatron/discovery.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "operators/megatron/format.h"

namespace corpusflow {

std::vector<std::string> FindMegatronDatasets(std::string_view name) {
  const std::string prefix = NormalizeMegatronPrefix(name);
  std::error_code ec;
  if (std::filesystem::is_regular_file(MegatronIdxPath(prefix), ec)) return {prefix};
  const std::filesystem::path as_path(prefix);
  std::filesystem::path dir = as_path.parent_path();
  const std::string stem = as_path.filename().string() + "_";
  std::vector<std::string> found;
  if (stem.size() == 1) return found;
  for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with(stem)) continue;
    for (const std::string_view suffix : {"_document.idx", "_sentence.idx"}) {
      // At least one character of field name between the stem and the suffix.
      if (file.size() > stem.size() + suffix.size() && file.ends_with(suffix)) {
        found.push_back((dir / file.substr(0, file.size() - 4)).string());
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::string> RequireMegatronDatasets(std::string_view name, std::string_view what) {
  std::vector<std::string> found = FindMegatronDatasets(name);
  if (found.empty()) {
    const std::string prefix = NormalizeMegatronPrefix(name);
    throw IoError(std::string(what) + ": no dataset " + prefix + ".idx, and no " + prefix +
                  "_*_document or " + prefix + "_*_sentence datasets");
  }
  return found;
}

std::vector<std::string> CollapseMegatronFilePairs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string prefix = NormalizeMegatronPrefix(args[i]);
    if (i + 1 < args.size() && args[i] != args[i + 1] && args[i] != prefix &&
        args[i + 1] != NormalizeMegatronPrefix(args[i + 1]) &&
        NormalizeMegatronPrefix(args[i + 1]) == prefix) {
      ++i;
    }
    out.push_back(prefix);
  }
  return out;
}

}  // namespace corpusflow
