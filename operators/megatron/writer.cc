#include "operators/megatron/writer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "operators/megatron/file_internal.h"

namespace corpusflow {

using megatron_internal::PReadExactly;

namespace {

/// Smallest buffer of the writer's index and document files.
constexpr size_t kMinSideBufferBytes = 16 << 10;
/// Entries per chunk when the writer turns lengths into pointers or copies document indices.
constexpr size_t kFinalizeChunk = 1 << 16;

}  // namespace

// Sequential appends to a File through a buffer, from its position (the end of what a
// checkpointed run's earlier tasks appended to the file, 0 for a new one), with positioned reads
// and writes of what was flushed for the finishing steps.
class MegatronDatasetWriter::Appender {
 public:
  Appender(File& file, size_t buffer_bytes)
      : file_(file),
        buffer_(new char[buffer_bytes]),
        capacity_(buffer_bytes),
        flushed_(file.position()) {}
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  size_t capacity() const { return capacity_; }
  /// Bytes written so far, buffered ones included.
  uint64_t size() const { return flushed_ + used_; }

  void Append(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    if (used_ + n > capacity_) {
      Flush();
      if (n >= capacity_) {
        file_.PWrite(flushed_, std::string_view(p, n));
        flushed_ += n;
        return;
      }
    }
    std::memcpy(buffer_.get() + used_, p, n);
    used_ += n;
  }
  template <typename T>
  void AppendValue(T v) {
    Append(&v, sizeof v);
  }
  /// Append `n` bytes that `fill(char* destination)` writes straight into the buffer.
  /// REQUIRES: n <= capacity().
  template <typename Fill>
  void AppendFilled(size_t n, Fill fill) {
    if (used_ + n > capacity_) Flush();
    fill(buffer_.get() + used_);
    used_ += n;
  }

  void Flush() {
    if (used_ == 0) return;
    file_.PWrite(flushed_, std::string_view(buffer_.get(), used_));
    flushed_ += used_;
    used_ = 0;
  }
  /// REQUIRES: the range was flushed.
  void PRead(uint64_t offset, void* buf, size_t n) const { PReadExactly(file_, offset, buf, n); }
  /// REQUIRES: the range was flushed.
  void PWrite(uint64_t offset, const void* buf, size_t n) {
    file_.PWrite(offset, std::string_view(static_cast<const char*>(buf), n));
  }
  /// Flush and release the buffer.
  void Finish() {
    Flush();
    buffer_.reset();
  }

 private:
  File& file_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_;
  size_t used_ = 0;
  uint64_t flushed_ = 0;
};

// A scratch file with a unique name in a folder, removed when destroyed.
class MegatronDatasetWriter::ScratchFile {
 public:
  ScratchFile(const std::filesystem::path& dir, const std::string& stem) {
    std::string name = (dir / (stem + "-XXXXXX")).string();
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) ThrowIoError("cannot create a scratch file in", dir.string(), errno);
    path_ = std::move(name);
    file_ = File(fd, path_);
  }
  ~ScratchFile() {
    try {
      file_.Close();
    } catch (...) {
      // A scratch file being dropped: a failed close changes nothing.
    }
    ::unlink(path_.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  File& file() { return file_; }

 private:
  std::string path_;
  File file_;
};

MegatronDatasetWriter::MegatronDatasetWriter(std::string prefix, MegatronDType dtype,
                                             const std::filesystem::path& scratch_dir,
                                             size_t buffer_bytes, const RunFiles& run)
    : prefix_(std::move(prefix)), dtype_(dtype) {
  CF_CHECK(dtype_ == MegatronDType::kUInt8 || dtype_ == MegatronDType::kUInt16 ||
               dtype_ == MegatronDType::kInt32,
           "MegatronDatasetWriter writes uint8, uint16 or int32 values");
  buffer_bytes = std::max<size_t>(buffer_bytes, kMinSideBufferBytes);
  const size_t side_bytes = std::max(buffer_bytes / 8, kMinSideBufferBytes);
  files_ = std::make_unique<MegatronDatasetFiles>(prefix_, run);
  scratch_ = std::make_unique<ScratchFile>(scratch_dir, "megatron-documents");
  bin_ = std::make_unique<Appender>(files_->bin(), buffer_bytes);
  idx_ = std::make_unique<Appender>(files_->idx(), side_bytes);
  documents_file_ = std::make_unique<Appender>(scratch_->file(), side_bytes);
  // The counts are written by Finalize().
  MegatronIndexHeader placeholder;
  placeholder.dtype = dtype_;
  placeholder.document_index_count = 0;
  char header[kMegatronHeaderBytes];
  EncodeMegatronIndexHeader(placeholder, header);
  idx_->Append(header, sizeof header);
  documents_file_->AppendValue<int64_t>(0);
}

MegatronDatasetWriter::~MegatronDatasetWriter() = default;

void MegatronDatasetWriter::AddSequence(std::span<const int32_t> ids,
                                        std::span<const int32_t> tail) {
  CF_CHECK(!finalized_, "MegatronDatasetWriter: sequence added after Finalize");
  const uint64_t length = ids.size() + tail.size();
  if (length > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    throw DataError(prefix_ + ": a sequence of " + std::to_string(length) +
                    " tokens does not fit the int32 length field of the index");
  }
  for (std::span<const int32_t> part : {ids, tail}) {
    if (dtype_ == MegatronDType::kInt32) {
      bin_->Append(part.data(), part.size_bytes());
      continue;
    }
    if (dtype_ == MegatronDType::kUInt8) {
      // uint8 (a loss mask's 0/1): narrow straight into the file buffer.
      const size_t per_chunk = bin_->capacity();
      for (size_t begin = 0; begin < part.size(); begin += per_chunk) {
        const size_t n = std::min(per_chunk, part.size() - begin);
        const int32_t* in = part.data() + begin;
        bin_->AppendFilled(n, [in, n](char* out) {
          for (size_t j = 0; j < n; ++j) out[j] = static_cast<char>(static_cast<uint8_t>(in[j]));
        });
      }
      continue;
    }
    // uint16: narrow straight into the file buffer (callers checked the range).
    const size_t per_chunk = bin_->capacity() / sizeof(uint16_t);
    for (size_t begin = 0; begin < part.size(); begin += per_chunk) {
      const size_t n = std::min(per_chunk, part.size() - begin);
      const int32_t* in = part.data() + begin;
      bin_->AppendFilled(n * sizeof(uint16_t), [in, n](char* out) {
        // Disjoint buffers: __restrict lets the compiler vectorise the narrowing.
        const int32_t* __restrict from = in;
        char* __restrict to = out;
        for (size_t j = 0; j < n; ++j) {
          const auto v = static_cast<uint16_t>(from[j]);
          std::memcpy(to + 2 * j, &v, sizeof v);
        }
      });
    }
  }
  idx_->AppendValue<int32_t>(static_cast<int32_t>(length));
  tokens_ += length;
  ++sequences_;
}

void MegatronDatasetWriter::EndDocument() {
  CF_CHECK(!finalized_, "MegatronDatasetWriter: document ended after Finalize");
  documents_file_->AppendValue<int64_t>(static_cast<int64_t>(sequences_));
  last_document_end_ = sequences_;
  ++documents_;
}

void MegatronDatasetWriter::Finalize() {
  if (finalized_) return;
  bin_->Finish();
  idx_->Flush();
  // Sequences after the last EndDocument() form a final document.
  if (last_document_end_ != sequences_) EndDocument();
  documents_file_->Flush();
  finalized_ = true;

  // Pointers: the running sum of lengths times the element size, read back from the index.
  std::vector<int32_t> lengths(kFinalizeChunk);
  std::vector<int64_t> values(kFinalizeChunk);
  const int64_t element = static_cast<int64_t>(MegatronDTypeSize(dtype_));
  int64_t pointer = 0;
  for (uint64_t first = 0; first < sequences_; first += kFinalizeChunk) {
    CheckInterrupt();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kFinalizeChunk, sequences_ - first));
    idx_->PRead(kMegatronHeaderBytes + first * sizeof(int32_t), lengths.data(),
                n * sizeof(int32_t));
    for (size_t j = 0; j < n; ++j) {
      values[j] = pointer;
      pointer += lengths[j] * element;
    }
    idx_->Append(values.data(), n * sizeof(int64_t));
  }
  // Document indices, copied from the scratch file.
  const uint64_t entries = documents_file_->size() / sizeof(int64_t);
  for (uint64_t first = 0; first < entries; first += kFinalizeChunk) {
    CheckInterrupt();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kFinalizeChunk, entries - first));
    documents_file_->PRead(first * sizeof(int64_t), values.data(), n * sizeof(int64_t));
    idx_->Append(values.data(), n * sizeof(int64_t));
  }
  idx_->Flush();
  const uint64_t counts[2] = {sequences_, entries};
  idx_->PWrite(kMegatronSequenceCountOffset, counts, sizeof counts);
  idx_->Finish();
  documents_file_.reset();
  scratch_.reset();
  files_->Close();
}

void MegatronDatasetWriter::Defer(const DeferCommitFn& defer) {
  CF_CHECK(finalized_, "MegatronDatasetWriter: Defer before Finalize");
  CF_CHECK(files_ != nullptr, "MegatronDatasetWriter: committed twice");
  bin_.reset();
  idx_.reset();
  MegatronDatasetFiles::Defer(std::move(files_), defer);
}

void MegatronDatasetWriter::Publish() {
  CF_CHECK(finalized_, "MegatronDatasetWriter: Publish before Finalize");
  if (files_ == nullptr) return;
  bin_.reset();
  idx_.reset();
  MegatronDatasetFiles::Commit(std::move(files_));
}

}  // namespace corpusflow
