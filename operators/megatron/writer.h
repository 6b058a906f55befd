// MegatronDatasetWriter: a streaming writer of one Megatron indexed dataset (format.h). Ids go
// through a write buffer to `PREFIX.bin.tmp`; each sequence length goes straight into
// `PREFIX.idx.tmp` after a placeholder header; document indices go to a scratch file. Finalize()
// completes the index (pointers, document index, counts) and Publish() renames both files, the
// `.idx` last. Memory is a few fixed buffers, whatever the size of the dataset.
// Thread safety: none; a writer is used by one thread at a time. Errors are corpusflow::Error
// subclasses naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "operators/megatron/format.h"

namespace corpusflow {

/// A sequential writer of one dataset. Sequences are appended in order; EndDocument() closes
/// the current document (a document may hold zero sequences). Destroying the writer before
/// Publish() removes every file it created.
class MegatronDatasetWriter {
 public:
  static constexpr size_t kDefaultBufferBytes = 4 << 20;

  /// Create `prefix.bin.tmp`, `prefix.idx.tmp` and a scratch file for document indices in
  /// `scratch_dir`. `buffer_bytes` is the `.bin` write buffer; the index and scratch files get
  /// an eighth of it each (at least 16 KiB). Throws IoError.
  MegatronDatasetWriter(std::string prefix, MegatronDType dtype,
                        const std::filesystem::path& scratch_dir,
                        size_t buffer_bytes = kDefaultBufferBytes);
  ~MegatronDatasetWriter();
  MegatronDatasetWriter(const MegatronDatasetWriter&) = delete;
  MegatronDatasetWriter& operator=(const MegatronDatasetWriter&) = delete;

  /// Append one sequence: `ids` followed by `tail` (e.g. an end-of-document id).
  /// REQUIRES: every id fits the dtype (callers check, naming the record); dtype uint16 or
  /// int32.
  void AddSequence(std::span<const int32_t> ids, std::span<const int32_t> tail = {});
  /// Close the current document.
  void EndDocument();
  /// Complete both files under their `.tmp` names: compute the pointers, append the document
  /// index, write the counts into the header. No sequence may be added afterwards.
  void Finalize();
  /// Rename the `.tmp` files to their final names (`.bin` first). REQUIRES: Finalize().
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
  class File;

  std::string prefix_;
  MegatronDType dtype_;
  std::unique_ptr<File> bin_;
  std::unique_ptr<File> idx_;
  std::unique_ptr<File> documents_file_;
  uint64_t sequences_ = 0;
  uint64_t documents_ = 0;
  /// Sequences covered by closed documents.
  uint64_t last_document_end_ = 0;
  uint64_t tokens_ = 0;
  bool finalized_ = false;
  bool published_ = false;
};

}  // namespace corpusflow
