// Finding Megatron datasets from what a user typed: a dataset prefix (`x`, `x.idx`, `x.bin`), a
// shell glob's `x.bin x.idx` pair, or the PREFIX given to write-megatron, which designates all of
// its `PREFIX_{field}_{level}` datasets; and the datasets a killed commit left without their
// `.idx` (commit.h), named with the way back. Used by `corpusflow merge` and `corpusflow inspect`.
// Thread safety: stateless functions reading the file system; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

/// The datasets that `name` designates: the dataset `name` itself when `name.idx` exists
/// (after NormalizeMegatronPrefix), otherwise every `name_*_document` / `name_*_sentence`
/// dataset (the output of `write-megatron name`), sorted. Empty when there is none.
std::vector<std::string> FindMegatronDatasets(std::string_view name);

/// The datasets of `name` (as FindMegatronDatasets designates them) that a killed commit left
/// without their `.idx` (commit.h): a `.bin` or a backup `.prev` index is there, the `.idx` is
/// not. Sorted.
std::vector<std::string> FindInterruptedMegatronCommits(std::string_view name);

/// What an interrupted commit left of the dataset `prefix`, and how to get a dataset back: the
/// `mv` commands that restore the previous pair from its backups, or to rerun the job.
std::string DescribeInterruptedMegatronCommit(const std::string& prefix);

/// FindMegatronDatasets(), but an IoError starting with `what` ("merge", "inspect") when there
/// is no dataset, and a CorruptionError describing it when a dataset of `name` was left by an
/// interrupted commit.
std::vector<std::string> RequireMegatronDatasets(std::string_view name, std::string_view what);

/// Normalize each argument to a dataset prefix, collapsing "X.bin X.idx" (what a shell glob
/// gives for one dataset, in either order) into one.
std::vector<std::string> CollapseMegatronFilePairs(const std::vector<std::string>& args);

}  // namespace corpusflow
