// Merging Megatron indexed datasets (format.h) by streaming, as Megatron's builder merges
// shards: the `.bin` files are appended, the pointers offset by the bytes before, the document
// indices by the sequences before. Memory is constant and every input entry is verified as it
// is copied. Above the merge of one dataset, GroupMegatronMergeInputs() resolves what a user
// typed (dataset prefixes, `.bin`/`.idx` pairs, write-megatron prefixes) into one merge per
// output dataset, and MergeMegatronGroups() runs them all and commits them together.
// Thread safety: none; a merger is used by one thread at a time. Errors are corpusflow::Error
// subclasses naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/io/file_system.h"
#include "operators/megatron/commit.h"
#include "operators/megatron/format.h"
#include "operators/megatron/reader.h"

namespace corpusflow {

/// What a merge wrote.
struct MegatronMergeSummary {
  MegatronDType dtype = MegatronDType::kInt32;
  uint64_t sequences = 0;
  uint64_t documents = 0;
  uint64_t bin_bytes = 0;
};

/// A merge of datasets into one, in two steps so that several merges can be committed together:
/// Write() streams everything into the temp files of `OUT.bin` and `OUT.idx`, then Defer() hands
/// them to a CommitGroup or Publish() commits them alone (commit.h). Destroying the merger
/// before either removes its temp files.
class MegatronMerger {
 public:
  /// Open and check every input (headers, sizes, equal dtypes) before anything is written; the
  /// output goes to `fs`. Throws InvalidArgument (no inputs, the output is an input), DataError
  /// (dtypes differ), CorruptionError or IoError.
  MegatronMerger(std::string output_prefix, const std::vector<std::string>& input_prefixes,
                 FileSystem& fs = FileSystem::Default());
  ~MegatronMerger();
  MegatronMerger(const MegatronMerger&) = delete;
  MegatronMerger& operator=(const MegatronMerger&) = delete;

  /// The totals of the output (known once the inputs are open).
  const MegatronMergeSummary& summary() const { return summary_; }
  const std::string& output_prefix() const { return output_prefix_; }
  /// Write the merged dataset under temp names. Throws CorruptionError (a damaged input) or
  /// IoError.
  void Write();
  /// Hand the commit of the output to `defer`. REQUIRES: Write(); once.
  void Defer(const DeferCommitFn& defer);
  /// Commit the output now, alone. REQUIRES: Write().
  void Publish();
  /// Note the missing output folders Write() creates in `folders` (engine/io/paths.h), for the
  /// caller to remove them when the merge fails. Unset: they are created and never removed.
  void set_output_folders(std::shared_ptr<OutputFolders> folders) { folders_ = std::move(folders); }

 private:
  /// Write() into files_.
  void WriteFiles();

  std::string output_prefix_;
  FileSystem& fs_;
  std::vector<std::unique_ptr<MegatronDatasetReader>> inputs_;
  MegatronMergeSummary summary_;
  /// The output's temp files; null before Write() and once handed to a commit.
  std::unique_ptr<MegatronDatasetFiles> files_;
  std::shared_ptr<OutputFolders> folders_;
  bool written_ = false;
};

/// Merge `input_prefixes` into `output_prefix`: MegatronMerger's Write() and Publish().
MegatronMergeSummary MergeMegatronDatasets(const std::string& output_prefix,
                                           const std::vector<std::string>& input_prefixes);

/// One output dataset of a merge and the datasets merged into it, in order.
struct MegatronMergeGroup {
  std::string output_prefix;
  std::vector<std::string> input_prefixes;
};

/// Resolve the inputs of `corpusflow merge OUTPUT INPUT...` into one group per output dataset.
/// An input is a dataset (`x`, `x.idx`, `x.bin`; a `x.bin x.idx` pair counts once), and the
/// inputs merge into `output`; or every input is a write-megatron prefix, and each field's
/// datasets merge into `output_{field}_{level}`, the groups sorted by that suffix. Throws
/// IoError (an input designates no dataset), InvalidArgument (dataset prefixes mixed with
/// write-megatron prefixes) or DataError (write-megatron prefixes with different fields).
/// Reads directory listings only; no dataset is opened.
std::vector<MegatronMergeGroup> GroupMegatronMergeInputs(std::string_view output,
                                                         const std::vector<std::string>& inputs);

/// A merged output dataset and what was written to it.
struct MegatronMergeResult {
  std::string output_prefix;
  /// The number of datasets merged into it.
  size_t inputs = 0;
  MegatronMergeSummary summary;
};

/// Merge every group: open and check all inputs of all groups first, then write every output
/// under temp names, and commit them together in one CommitGroup only when all were written
/// (a failure leaves none; commit.h).
std::vector<MegatronMergeResult> MergeMegatronGroups(const std::vector<MegatronMergeGroup>& groups);

}  // namespace corpusflow
