#include "operators/megatron/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/io/paths.h"
#include "operators/megatron/discovery.h"

namespace corpusflow {
namespace {

/// Buffer of the merger's index output.
constexpr size_t kIndexBufferBytes = 1 << 20;

/// Append the whole of `from`'s `.bin` to `to` at `*to_offset`, reading it through `fs`
/// (File::CopyFrom: in the kernel when it can, through a buffer otherwise).
void AppendFileContents(const MegatronDatasetReader& from, FileSystem& fs, const File& to,
                        uint64_t* to_offset) {
  const File in = fs.OpenForRead(from.bin_path(), "cannot open");
  to.CopyFrom(in, 0, *to_offset, from.bin_bytes());
  *to_offset += from.bin_bytes();
}

/// Sequential buffered writes to a File at a running offset.
class IndexAppender {
 public:
  explicit IndexAppender(File& file) : file_(file) { buffer_.reserve(kIndexBufferBytes); }
  void Append(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    if (buffer_.size() + n > buffer_.capacity()) Flush();
    if (n >= buffer_.capacity()) {
      file_.PWrite(offset_, std::string_view(p, n));
      offset_ += n;
      return;
    }
    buffer_.insert(buffer_.end(), p, p + n);
  }
  void Flush() {
    file_.PWrite(offset_, std::string_view(buffer_.data(), buffer_.size()));
    offset_ += buffer_.size();
    buffer_.clear();
  }

 private:
  File& file_;
  std::vector<char> buffer_;
  uint64_t offset_ = 0;
};

std::string CanonicalOrSelf(const std::string& path) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

}  // namespace

MegatronMerger::MegatronMerger(std::string output_prefix,
                               const std::vector<std::string>& input_prefixes, FileSystem& fs)
    : output_prefix_(std::move(output_prefix)), fs_(fs) {
  if (input_prefixes.empty()) throw InvalidArgument("merge: no input datasets");
  for (const std::string& prefix : input_prefixes) {
    inputs_.push_back(std::make_unique<MegatronDatasetReader>(prefix));
  }
  const std::string out_idx = CanonicalOrSelf(MegatronIdxPath(output_prefix_));
  const std::string out_bin = CanonicalOrSelf(MegatronBinPath(output_prefix_));
  for (const auto& in : inputs_) {
    if (CanonicalOrSelf(in->idx_path()) == out_idx || CanonicalOrSelf(in->bin_path()) == out_bin) {
      throw InvalidArgument("merge: the output " + output_prefix_ +
                            " is also an input; choose another output prefix");
    }
  }
  summary_.dtype = inputs_.front()->dtype();
  for (const auto& in : inputs_) {
    if (in->dtype() != summary_.dtype) {
      throw DataError("merge: " + in->idx_path() + " holds " +
                      std::string(MegatronDTypeName(in->dtype())) + " tokens but " +
                      inputs_.front()->idx_path() + " holds " +
                      std::string(MegatronDTypeName(summary_.dtype)) +
                      "; datasets of different dtypes cannot be merged");
    }
    summary_.sequences += in->sequences();
    summary_.documents += in->documents();
    summary_.bin_bytes += in->bin_bytes();
  }
}

MegatronMerger::~MegatronMerger() = default;

void MegatronMerger::Write() {
  if (written_) return;
  // The inputs of the merge are the inputs of its "run": no output may replace one.
  std::vector<std::string> input_files;
  for (const auto& in : inputs_) {
    input_files.push_back(in->idx_path());
    input_files.push_back(in->bin_path());
  }
  RunFiles run;
  run.file_system = &fs_;
  run.folders = folders_;
  run.inputs = std::make_shared<const std::vector<FileId>>(IdentifyFiles(fs_, input_files));
  files_ = std::make_unique<MegatronDatasetFiles>(output_prefix_, run);
  try {
    WriteFiles();
  } catch (...) {
    files_.reset();  // removes the temp files now
    throw;
  }
  written_ = true;
}

void MegatronMerger::WriteFiles() {
  IndexAppender index(files_->idx());
  MegatronIndexHeader merged;
  merged.dtype = summary_.dtype;
  merged.sequence_count = summary_.sequences;
  merged.document_index_count = summary_.documents + 1;
  char header[kMegatronHeaderBytes];
  EncodeMegatronIndexHeader(merged, header);
  index.Append(header, sizeof header);

  // Lengths; this pass also verifies every input's pointers and .bin size.
  for (const auto& in : inputs_) {
    in->ForEachSequenceChunk(
        [&](uint64_t, std::span<const int32_t> lengths, std::span<const int64_t>) {
          index.Append(lengths.data(), lengths.size_bytes());
        });
  }
  // Pointers, offset by the bytes of the inputs before.
  std::vector<int64_t> shifted;
  int64_t byte_offset = 0;
  for (const auto& in : inputs_) {
    in->ForEachSequenceChunk(
        [&](uint64_t, std::span<const int32_t>, std::span<const int64_t> pointers) {
          shifted.resize(pointers.size());
          for (size_t j = 0; j < pointers.size(); ++j) shifted[j] = pointers[j] + byte_offset;
          index.Append(shifted.data(), shifted.size() * sizeof(int64_t));
        });
    byte_offset += static_cast<int64_t>(in->bin_bytes());
  }
  // Document indices: one leading 0, then each input's entries after its own leading 0,
  // offset by the sequences of the inputs before.
  const int64_t zero = 0;
  index.Append(&zero, sizeof zero);
  int64_t sequence_offset = 0;
  for (const auto& in : inputs_) {
    in->ForEachDocumentChunk([&](uint64_t first, std::span<const int64_t> entries) {
      const size_t skip = first == 0 ? 1 : 0;
      shifted.resize(entries.size() - skip);
      for (size_t j = skip; j < entries.size(); ++j) {
        shifted[j - skip] = entries[j] + sequence_offset;
      }
      index.Append(shifted.data(), shifted.size() * sizeof(int64_t));
    });
    sequence_offset += static_cast<int64_t>(in->sequences());
  }
  index.Flush();

  uint64_t bin_offset = 0;
  for (const auto& in : inputs_) AppendFileContents(*in, fs_, files_->bin(), &bin_offset);
  files_->Close();
}

void MegatronMerger::Defer(const DeferCommitFn& defer) {
  CF_CHECK(written_, "MegatronMerger: Defer before Write");
  CF_CHECK(files_ != nullptr, "MegatronMerger: committed twice");
  MegatronDatasetFiles::Defer(std::move(files_), defer);
}

void MegatronMerger::Publish() {
  CF_CHECK(written_, "MegatronMerger: Publish before Write");
  if (files_ == nullptr) return;
  MegatronDatasetFiles::Commit(std::move(files_));
}

MegatronMergeSummary MergeMegatronDatasets(const std::string& output_prefix,
                                           const std::vector<std::string>& input_prefixes) {
  MegatronMerger merger(output_prefix, input_prefixes);
  merger.Write();
  merger.Publish();
  return merger.summary();
}

std::vector<MegatronMergeGroup> GroupMegatronMergeInputs(std::string_view output,
                                                         const std::vector<std::string>& args) {
  const std::string output_prefix = NormalizeMegatronPrefix(output);
  const std::vector<std::string> inputs = CollapseMegatronFilePairs(args);
  // Output suffix ("" for plain datasets, "_src_ids_document" for write-megatron prefixes)
  // -> the input datasets, in order.
  std::map<std::string, std::vector<std::string>> groups;
  std::set<std::string> first_suffixes;
  bool plain = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& in = inputs[i];
    const std::vector<std::string> found = RequireMegatronDatasets(in, "merge");
    const bool is_plain = found.size() == 1 && found.front() == in;
    if (i == 0) plain = is_plain;
    if (is_plain != plain) {
      throw InvalidArgument("merge: mix of dataset prefixes and write-megatron prefixes (" +
                            inputs.front() + ", " + in + ")");
    }
    std::set<std::string> suffixes;
    for (const std::string& dataset : found) {
      const std::string suffix = dataset.substr(in.size());
      suffixes.insert(suffix);
      groups[suffix].push_back(dataset);
    }
    if (i == 0) {
      first_suffixes = suffixes;
    } else if (suffixes != first_suffixes) {
      std::string a, b;
      for (const auto& s : first_suffixes) a += " *" + s;
      for (const auto& s : suffixes) b += " *" + s;
      throw DataError("merge: " + inputs.front() + " has datasets" + a + " but " + in + " has" + b);
    }
  }
  std::vector<MegatronMergeGroup> result;
  for (auto& [suffix, datasets] : groups) {
    result.push_back(MegatronMergeGroup{output_prefix + suffix, std::move(datasets)});
  }
  return result;
}

std::vector<MegatronMergeResult> MergeMegatronGroups(
    const std::vector<MegatronMergeGroup>& groups) {
  // The output folders the merge creates go again when it fails.
  const auto folders = std::make_shared<OutputFolders>();
  std::vector<std::unique_ptr<MegatronMerger>> mergers;
  try {
    for (const MegatronMergeGroup& group : groups) {
      mergers.push_back(
          std::make_unique<MegatronMerger>(group.output_prefix, group.input_prefixes));
      mergers.back()->set_output_folders(folders);
    }
    for (auto& m : mergers) m->Write();
    // Every output dataset switches together: all .bin files, then all .idx files (commit.h).
    CommitGroup outputs;
    for (auto& m : mergers) {
      m->Defer([&outputs](std::unique_ptr<DeferredCommit> member, CommitRank rank) {
        outputs.Add(std::move(member), rank);
      });
    }
    outputs.Commit();
  } catch (...) {
    mergers.clear();  // removes their temp files
    folders->RemoveCreated();
    throw;
  }
  folders->Keep();
  std::vector<MegatronMergeResult> results;
  for (size_t g = 0; g < groups.size(); ++g) {
    results.push_back(MegatronMergeResult{mergers[g]->output_prefix(),
                                          groups[g].input_prefixes.size(), mergers[g]->summary()});
  }
  return results;
}

}  // namespace corpusflow
