#include "operators/megatron/discovery.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "operators/megatron/commit.h"
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

namespace {

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

/// Whether the dataset `prefix` lacks its `.idx` but has a `.bin` or a backup index.
bool IsInterrupted(const std::string& prefix) {
  const std::string idx = MegatronIdxPath(prefix);
  return !Exists(idx) && (Exists(MegatronBinPath(prefix)) || Exists(MegatronBackupPath(idx)));
}

}  // namespace

std::vector<std::string> FindInterruptedMegatronCommits(std::string_view name) {
  const std::string prefix = NormalizeMegatronPrefix(name);
  if (Exists(MegatronIdxPath(prefix))) return {};
  if (IsInterrupted(prefix)) return {prefix};
  // The datasets of a write-megatron prefix: `name_F_L.bin` or `.name_F_L.idx.prev`.
  const std::filesystem::path as_path(prefix);
  const std::filesystem::path dir = as_path.parent_path();
  const std::string stem = as_path.filename().string() + "_";
  std::vector<std::string> found;
  if (stem.size() == 1) return found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.starts_with(".") && file.ends_with(".idx.prev")) {
      file = file.substr(1, file.size() - 1 - 5);  // the .idx it backs up
    }
    if (!file.starts_with(stem)) continue;
    for (const std::string_view suffix : {"_document", "_sentence"}) {
      for (const std::string_view ext : {".bin", ".idx"}) {
        const std::string tail = std::string(suffix) + std::string(ext);
        if (file.size() > stem.size() + tail.size() && file.ends_with(tail)) {
          const std::string dataset = (dir / file.substr(0, file.size() - 4)).string();
          if (IsInterrupted(dataset)) found.push_back(dataset);
        }
      }
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

std::string DescribeInterruptedMegatronCommit(const std::string& prefix) {
  const std::string bin = MegatronBinPath(prefix);
  const std::string idx = MegatronIdxPath(prefix);
  const std::string bin_backup = MegatronBackupPath(bin);
  const std::string idx_backup = MegatronBackupPath(idx);
  std::string text = prefix + ": " + idx + " is missing";
  text += Exists(bin) ? " but " + bin + " is there" : " and so is " + bin;
  text += ": a write or merge of this dataset was killed while committing it";
  if (!Exists(idx_backup)) {
    return text + " (or its .idx was removed); rerun the job that writes it";
  }
  // Backups of both files, or (killed before the .bin was moved) of the index alone, with the
  // previous .bin still in place.
  text += ". The previous dataset is kept: restore it with `";
  if (Exists(bin_backup)) text += "mv " + bin_backup + " " + bin + " && ";
  return text + "mv " + idx_backup + " " + idx + "`, or rerun the job that writes it";
}

std::vector<std::string> RequireMegatronDatasets(std::string_view name, std::string_view what) {
  const std::vector<std::string> interrupted = FindInterruptedMegatronCommits(name);
  if (!interrupted.empty()) {
    std::string text = std::string(what) + ": ";
    for (const std::string& prefix : interrupted) {
      if (&prefix != &interrupted.front()) text += "; ";
      text += DescribeInterruptedMegatronCommit(prefix);
    }
    throw CorruptionError(text);
  }
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
