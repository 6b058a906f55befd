// MegatronDatasetWriter: a streaming writer of one Megatron indexed dataset (format.h). Ids go
// through a write buffer to the temp file of `PREFIX.bin`; each sequence length goes straight
// into the temp file of `PREFIX.idx` after a placeholder header; document indices go to a
// scratch file. Finalize() completes the index (pointers, document index, counts); Defer() hands
// both files to the run's CommitGroup, or Publish() commits them alone (commit.h: the `.idx`
// last, the previous pair kept until the new one is in place). Memory is a few fixed buffers,
// whatever the size of the dataset.
// Thread safety: none; a writer is used by one thread at a time. Errors are corpusflow::Error
// subclasses naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "engine/io/file_system.h"
#include "operators/megatron/commit.h"
#include "operators/megatron/format.h"

namespace corpusflow {

/// A sequential writer of one dataset. Sequences are appended in order; EndDocument() closes
/// the current document (a document may hold zero sequences). Destroying the writer before
/// Publish() or Defer() removes every file it created.
class MegatronDatasetWriter {
 public:
  static constexpr size_t kDefaultBufferBytes = 4 << 20;

  /// Create the temp files of `prefix.bin` and `prefix.idx` in `run`'s file system
  /// (MegatronDatasetFiles) and a scratch file for document indices in `scratch_dir`.
  /// `buffer_bytes` is the `.bin` write buffer; the index and scratch files get an eighth of it
  /// each (at least 16 KiB). Throws IoError, or InvalidArgument (an output is an input).
  MegatronDatasetWriter(std::string prefix, MegatronDType dtype,
                        const std::filesystem::path& scratch_dir,
                        size_t buffer_bytes = kDefaultBufferBytes, const RunFiles& run = {});
  ~MegatronDatasetWriter();
  MegatronDatasetWriter(const MegatronDatasetWriter&) = delete;
  MegatronDatasetWriter& operator=(const MegatronDatasetWriter&) = delete;

  /// Append one sequence: `ids` followed by `tail` (e.g. an end-of-document id).
  /// REQUIRES: every id fits the dtype (callers check, naming the record); dtype uint8, uint16
  /// or int32.
  void AddSequence(std::span<const int32_t> ids, std::span<const int32_t> tail = {});
  /// Close the current document.
  void EndDocument();
  /// Complete both files under their temp names: compute the pointers, append the document
  /// index, write the counts into the header, close them. No sequence may be added afterwards.
  void Finalize();
  /// Hand the commit of both files to `defer` (e.g. ExecContext::DeferCommit), which commits
  /// them with the other outputs of the run. REQUIRES: Finalize(); once.
  void Defer(const DeferCommitFn& defer);
  /// Commit both files now, alone (MegatronDatasetFiles::Commit). REQUIRES: Finalize().
  void Publish();
  /// Finalize() and Publish().
  void Commit() {
    Finalize();
    Publish();
  }

  const std::string& prefix() const { return prefix_; }
  MegatronDType dtype() const { return dtype_; }
  uint64_t sequences() const { return sequences_; }
  /// Documents closed so far.
  uint64_t documents() const { return documents_; }
  uint64_t tokens() const { return tokens_; }
  uint64_t bin_bytes() const { return tokens_ * MegatronDTypeSize(dtype_); }

 private:
  class Appender;
  class ScratchFile;

  std::string prefix_;
  MegatronDType dtype_;
  /// The dataset's temp files; null once handed to a commit.
  std::unique_ptr<MegatronDatasetFiles> files_;
  std::unique_ptr<ScratchFile> scratch_;
  std::unique_ptr<Appender> bin_;
  std::unique_ptr<Appender> idx_;
  std::unique_ptr<Appender> documents_file_;
  uint64_t sequences_ = 0;
  uint64_t documents_ = 0;
  /// Sequences covered by closed documents.
  uint64_t last_document_end_ = 0;
  uint64_t tokens_ = 0;
  bool finalized_ = false;
};

}  // namespace corpusflow
