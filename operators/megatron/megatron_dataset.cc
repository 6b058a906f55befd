#include "operators/megatron/megatron_dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {

static_assert(std::endian::native == std::endian::little,
              "the Megatron format is little-endian; big-endian hosts need byte swapping");

namespace {

/// Buffer of the merger's index output.
constexpr size_t kIndexBufferBytes = 1 << 20;
/// Smallest buffer of the writer's index and document files.
constexpr size_t kMinSideBufferBytes = 16 << 10;
/// Entries per chunk when the writer turns lengths into pointers or copies document indices.
constexpr size_t kFinalizeChunk = 1 << 16;
/// Offsets of the header fields.
constexpr uint64_t kVersionOffset = 9;
constexpr uint64_t kDTypeOffset = 17;
constexpr uint64_t kSequenceCountOffset = 18;

std::string TmpPath(const std::string& path) { return path + ".tmp"; }

/// Retry a system call interrupted by a signal, unless the signal asks the run to stop.
template <typename Call>
ssize_t RetryOnEintr(Call call) {
  for (;;) {
    const ssize_t r = call();
    if (r >= 0 || errno != EINTR) return r;
    CheckInterrupt();
  }
}

void PReadExactly(int fd, const std::string& path, uint64_t offset, void* buf, size_t n) {
  char* out = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = RetryOnEintr([&] { return ::pread(fd, out, n, static_cast<off_t>(offset)); });
    if (r < 0) ThrowIoError("cannot read", path, errno);
    if (r == 0) {
      throw CorruptionError(path + ": unexpected end of file at offset " + std::to_string(offset));
    }
    out += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
}

void PWriteExactly(int fd, const std::string& path, uint64_t offset, const void* buf, size_t n) {
  const char* in = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = RetryOnEintr([&] { return ::pwrite(fd, in, n, static_cast<off_t>(offset)); });
    if (r < 0) ThrowIoError("cannot write", path, errno);
    in += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
}

uint64_t FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) ThrowIoError("cannot stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

int OpenForReading(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowIoError("cannot open", path, errno);
  return fd;
}

template <typename T>
T LoadLittleEndian(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Format helpers.

bool IsValidMegatronDTypeCode(uint8_t code) { return code >= 1 && code <= 8; }

std::string_view MegatronDTypeName(MegatronDType dtype) {
  switch (dtype) {
    case MegatronDType::kUInt8:
      return "uint8";
    case MegatronDType::kInt8:
      return "int8";
    case MegatronDType::kInt16:
      return "int16";
    case MegatronDType::kInt32:
      return "int32";
    case MegatronDType::kInt64:
      return "int64";
    case MegatronDType::kFloat64:
      return "float64";
    case MegatronDType::kFloat32:
      return "float32";
    case MegatronDType::kUInt16:
      return "uint16";
  }
  return "?";
}

size_t MegatronDTypeSize(MegatronDType dtype) {
  switch (dtype) {
    case MegatronDType::kUInt8:
    case MegatronDType::kInt8:
      return 1;
    case MegatronDType::kInt16:
    case MegatronDType::kUInt16:
      return 2;
    case MegatronDType::kInt32:
    case MegatronDType::kFloat32:
      return 4;
    case MegatronDType::kInt64:
    case MegatronDType::kFloat64:
      return 8;
  }
  return 0;
}

bool IsIntegerMegatronDType(MegatronDType dtype) {
  return dtype != MegatronDType::kFloat32 && dtype != MegatronDType::kFloat64;
}

MegatronDType MegatronDTypeForVocabSize(int64_t vocab_size) {
  return vocab_size > 0 && vocab_size < kMegatronUInt16VocabLimit ? MegatronDType::kUInt16
                                                                  : MegatronDType::kInt32;
}

std::string_view MegatronLevelName(MegatronLevel level) {
  return level == MegatronLevel::kDocument ? "document" : "sentence";
}

std::string MegatronDatasetPrefix(std::string_view output_prefix, std::string_view field,
                                  MegatronLevel level) {
  return std::string(output_prefix) + "_" + std::string(field) + "_" +
         std::string(MegatronLevelName(level));
}

std::string MegatronBinPath(std::string_view prefix) { return std::string(prefix) + ".bin"; }
std::string MegatronIdxPath(std::string_view prefix) { return std::string(prefix) + ".idx"; }

std::string NormalizeMegatronPrefix(std::string_view path) {
  if (path.ends_with(".idx") || path.ends_with(".bin")) path.remove_suffix(4);
  return std::string(path);
}

uint64_t MegatronIndexHeader::IndexFileBytes() const {
  return kMegatronHeaderBytes + 12 * sequence_count + 8 * document_index_count;
}

// ---------------------------------------------------------------------------------------------
// A file written sequentially through a buffer, with positioned reads and writes for the
// finishing steps. Removes itself when destroyed unless Keep() was called.

class MegatronDatasetWriter::File {
 public:
  File(std::string path, size_t buffer_bytes)
      : path_(std::move(path)), buffer_(new char[buffer_bytes]), capacity_(buffer_bytes) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) ThrowIoError("cannot create", path_, errno);
  }
  /// A scratch file with a unique name in `dir`.
  File(const std::filesystem::path& dir, const std::string& stem, size_t buffer_bytes)
      : buffer_(new char[buffer_bytes]), capacity_(buffer_bytes) {
    std::string name = (dir / (stem + "-XXXXXX")).string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) ThrowIoError("cannot create a scratch file in", dir.string(), errno);
    path_ = std::move(name);
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
    if (!keep_) ::unlink(path_.c_str());
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  size_t capacity() const { return capacity_; }
  /// Bytes written so far, buffered ones included.
  uint64_t size() const { return flushed_ + used_; }

  void Append(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    if (used_ + n > capacity_) {
      Flush();
      if (n >= capacity_) {
        PWriteExactly(fd_, path_, flushed_, p, n);
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
    PWriteExactly(fd_, path_, flushed_, buffer_.get(), used_);
    flushed_ += used_;
    used_ = 0;
  }
  /// REQUIRES: the range was flushed.
  void PRead(uint64_t offset, void* buf, size_t n) const {
    PReadExactly(fd_, path_, offset, buf, n);
  }
  /// REQUIRES: the range was flushed.
  void PWrite(uint64_t offset, const void* buf, size_t n) {
    PWriteExactly(fd_, path_, offset, buf, n);
  }

  /// Flush and close, reporting errors of close (delayed write errors on some filesystems).
  void Close() {
    Flush();
    buffer_.reset();
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowIoError("cannot close", path_, errno);
  }

  /// Rename the (closed) file; it is no longer removed on destruction.
  void RenameTo(const std::string& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      ThrowIoError("cannot rename " + path_ + " to", target, errno);
    }
    path_ = target;
    keep_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_;
  size_t used_ = 0;
  uint64_t flushed_ = 0;
  bool keep_ = false;
};

// ---------------------------------------------------------------------------------------------
// Writer.

MegatronDatasetWriter::MegatronDatasetWriter(std::string prefix, MegatronDType dtype,
                                             const std::filesystem::path& scratch_dir,
                                             size_t buffer_bytes)
    : prefix_(std::move(prefix)), dtype_(dtype) {
  if (dtype_ != MegatronDType::kUInt16 && dtype_ != MegatronDType::kInt32) {
    throw std::logic_error("MegatronDatasetWriter writes uint16 or int32 token ids");
  }
  buffer_bytes = std::max<size_t>(buffer_bytes, kMinSideBufferBytes);
  const size_t side_bytes = std::max(buffer_bytes / 8, kMinSideBufferBytes);
  bin_ = std::make_unique<File>(TmpPath(MegatronBinPath(prefix_)), buffer_bytes);
  idx_ = std::make_unique<File>(TmpPath(MegatronIdxPath(prefix_)), side_bytes);
  documents_file_ = std::make_unique<File>(scratch_dir, "megatron-documents", side_bytes);
  // The counts are written by Finalize().
  char header[kMegatronHeaderBytes] = {};
  std::memcpy(header, kMegatronIndexMagic.data(), kMegatronIndexMagic.size());
  std::memcpy(header + kVersionOffset, &kMegatronIndexVersion, sizeof(uint64_t));
  header[kDTypeOffset] = static_cast<char>(dtype_);
  idx_->Append(header, sizeof header);
  documents_file_->AppendValue<int64_t>(0);
}

MegatronDatasetWriter::~MegatronDatasetWriter() = default;

void MegatronDatasetWriter::AddSequence(std::span<const int32_t> ids,
                                        std::span<const int32_t> tail) {
  if (finalized_) throw std::logic_error("MegatronDatasetWriter: sequence added after Finalize");
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
  if (finalized_) throw std::logic_error("MegatronDatasetWriter: document ended after Finalize");
  documents_file_->AppendValue<int64_t>(static_cast<int64_t>(sequences_));
  last_document_end_ = sequences_;
  ++documents_;
}

void MegatronDatasetWriter::Finalize() {
  if (finalized_) return;
  bin_->Close();
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
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kFinalizeChunk, entries - first));
    documents_file_->PRead(first * sizeof(int64_t), values.data(), n * sizeof(int64_t));
    idx_->Append(values.data(), n * sizeof(int64_t));
  }
  idx_->Flush();
  const uint64_t counts[2] = {sequences_, entries};
  idx_->PWrite(kSequenceCountOffset, counts, sizeof counts);
  idx_->Close();
  documents_file_.reset();
}

void MegatronDatasetWriter::Publish() {
  if (!finalized_) throw std::logic_error("MegatronDatasetWriter: Publish before Finalize");
  if (published_) return;
  // The index last: a reader that finds the .idx finds a complete .bin.
  bin_->RenameTo(MegatronBinPath(prefix_));
  idx_->RenameTo(MegatronIdxPath(prefix_));
  published_ = true;
}

// ---------------------------------------------------------------------------------------------
// Reader.

MegatronDatasetReader::MegatronDatasetReader(std::string prefix)
    : prefix_(std::move(prefix)),
      idx_path_(MegatronIdxPath(prefix_)),
      bin_path_(MegatronBinPath(prefix_)) {
  idx_fd_ = OpenForReading(idx_path_);
  try {
    const uint64_t idx_bytes = FileSize(idx_fd_, idx_path_);
    if (idx_bytes < kMegatronHeaderBytes) {
      throw CorruptionError(idx_path_ + ": truncated index: " + std::to_string(idx_bytes) +
                            " bytes, shorter than the 34-byte header");
    }
    char head[kMegatronHeaderBytes];
    PReadExactly(idx_fd_, idx_path_, 0, head, sizeof head);
    if (std::string_view(head, kMegatronIndexMagic.size()) != kMegatronIndexMagic) {
      throw CorruptionError(idx_path_ +
                            ": not a Megatron index (the file does not start with MMIDIDX)");
    }
    header_.version = LoadLittleEndian<uint64_t>(head + kVersionOffset);
    if (header_.version != kMegatronIndexVersion) {
      throw CorruptionError(idx_path_ + ": unsupported index version " +
                            std::to_string(header_.version) + " (expected 1)");
    }
    const auto code = static_cast<uint8_t>(head[kDTypeOffset]);
    if (!IsValidMegatronDTypeCode(code)) {
      throw CorruptionError(idx_path_ + ": unknown dtype code " + std::to_string(code));
    }
    header_.dtype = static_cast<MegatronDType>(code);
    header_.sequence_count = LoadLittleEndian<uint64_t>(head + kSequenceCountOffset);
    header_.document_index_count = LoadLittleEndian<uint64_t>(head + kSequenceCountOffset + 8);
    // Bound the counts by the file size before computing the expected size (no overflow).
    const uint64_t body = idx_bytes - kMegatronHeaderBytes;
    const bool plausible =
        header_.sequence_count <= body / 12 && header_.document_index_count <= body / 8;
    if (!plausible || header_.IndexFileBytes() != idx_bytes) {
      const std::string counts = "the header says " + std::to_string(header_.sequence_count) +
                                 " sequences and " + std::to_string(header_.document_index_count) +
                                 " document index entries";
      if (!plausible || header_.IndexFileBytes() > idx_bytes) {
        throw CorruptionError(idx_path_ + ": truncated index: " + std::to_string(idx_bytes) +
                              " bytes, but " + counts +
                              (plausible
                                   ? " (" + std::to_string(header_.IndexFileBytes()) + " bytes)"
                                   : std::string()));
      }
      throw CorruptionError(
          idx_path_ + ": index has " + std::to_string(idx_bytes - header_.IndexFileBytes()) +
          " bytes after its end (" + counts + "); multimodal indexes are not supported");
    }
    if (header_.document_index_count == 0) {
      throw CorruptionError(idx_path_ + ": the document index is empty (it must start with 0)");
    }
    bin_fd_ = OpenForReading(bin_path_);
    bin_bytes_ = FileSize(bin_fd_, bin_path_);
  } catch (...) {
    ::close(idx_fd_);
    if (bin_fd_ >= 0) ::close(bin_fd_);
    throw;
  }
}

MegatronDatasetReader::~MegatronDatasetReader() {
  ::close(idx_fd_);
  ::close(bin_fd_);
}

void MegatronDatasetReader::ReadLengths(uint64_t first, std::span<int32_t> out) const {
  if (first + out.size() > header_.sequence_count) throw std::out_of_range("ReadLengths");
  PReadExactly(idx_fd_, idx_path_, kMegatronHeaderBytes + 4 * first, out.data(), out.size_bytes());
}

void MegatronDatasetReader::ReadPointers(uint64_t first, std::span<int64_t> out) const {
  if (first + out.size() > header_.sequence_count) throw std::out_of_range("ReadPointers");
  PReadExactly(idx_fd_, idx_path_, kMegatronHeaderBytes + 4 * header_.sequence_count + 8 * first,
               out.data(), out.size_bytes());
}

void MegatronDatasetReader::ReadDocumentIndices(uint64_t first, std::span<int64_t> out) const {
  if (first + out.size() > header_.document_index_count) {
    throw std::out_of_range("ReadDocumentIndices");
  }
  PReadExactly(idx_fd_, idx_path_, kMegatronHeaderBytes + 12 * header_.sequence_count + 8 * first,
               out.data(), out.size_bytes());
}

void MegatronDatasetReader::ReadBin(uint64_t offset, std::span<char> out) const {
  if (offset > bin_bytes_ || out.size() > bin_bytes_ - offset) {
    throw CorruptionError(bin_path_ + ": read of " + std::to_string(out.size()) +
                          " bytes at offset " + std::to_string(offset) + " is past its end (" +
                          std::to_string(bin_bytes_) + " bytes)");
  }
  PReadExactly(bin_fd_, bin_path_, offset, out.data(), out.size());
}

void MegatronDatasetReader::ReadSequence(uint64_t i, std::vector<int64_t>* ids) const {
  if (!IsIntegerMegatronDType(header_.dtype)) {
    throw DataError(idx_path_ + ": dtype " + std::string(MegatronDTypeName(header_.dtype)) +
                    " does not hold token ids");
  }
  int32_t length = 0;
  int64_t pointer = 0;
  ReadLengths(i, std::span<int32_t>(&length, 1));
  ReadPointers(i, std::span<int64_t>(&pointer, 1));
  if (length < 0 || pointer < 0) {
    throw CorruptionError(idx_path_ + ": sequence " + std::to_string(i) + " has length " +
                          std::to_string(length) + " and pointer " + std::to_string(pointer));
  }
  const size_t element = MegatronDTypeSize(header_.dtype);
  const uint64_t bytes = static_cast<uint64_t>(length) * element;
  if (static_cast<uint64_t>(pointer) > bin_bytes_ ||
      bytes > bin_bytes_ - static_cast<uint64_t>(pointer)) {
    throw CorruptionError(idx_path_ + ": sequence " + std::to_string(i) + " (" +
                          std::to_string(length) + " tokens at byte " + std::to_string(pointer) +
                          ") ends past the end of " + bin_path_ + " (" +
                          std::to_string(bin_bytes_) + " bytes)");
  }
  std::vector<char> raw(bytes);
  ReadBin(static_cast<uint64_t>(pointer), raw);
  ids->resize(static_cast<size_t>(length));
  const char* p = raw.data();
  for (int32_t j = 0; j < length; ++j, p += element) {
    int64_t v = 0;
    switch (header_.dtype) {
      case MegatronDType::kUInt8:
        v = LoadLittleEndian<uint8_t>(p);
        break;
      case MegatronDType::kInt8:
        v = LoadLittleEndian<int8_t>(p);
        break;
      case MegatronDType::kInt16:
        v = LoadLittleEndian<int16_t>(p);
        break;
      case MegatronDType::kUInt16:
        v = LoadLittleEndian<uint16_t>(p);
        break;
      case MegatronDType::kInt32:
        v = LoadLittleEndian<int32_t>(p);
        break;
      case MegatronDType::kInt64:
        v = LoadLittleEndian<int64_t>(p);
        break;
      default:
        break;
    }
    (*ids)[static_cast<size_t>(j)] = v;
  }
}

void MegatronDatasetReader::ForEachSequenceChunk(
    const std::function<void(uint64_t, std::span<const int32_t>, std::span<const int64_t>)>& visit,
    size_t chunk) const {
  std::vector<int32_t> lengths(chunk);
  std::vector<int64_t> pointers(chunk);
  const uint64_t element = MegatronDTypeSize(header_.dtype);
  uint64_t expected = 0;
  for (uint64_t first = 0; first < header_.sequence_count; first += chunk) {
    CheckInterrupt();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, header_.sequence_count - first));
    ReadLengths(first, std::span<int32_t>(lengths.data(), n));
    ReadPointers(first, std::span<int64_t>(pointers.data(), n));
    for (size_t j = 0; j < n; ++j) {
      if (lengths[j] < 0) {
        throw CorruptionError(idx_path_ + ": sequence " + std::to_string(first + j) +
                              " has a negative length " + std::to_string(lengths[j]));
      }
      if (pointers[j] < 0 || static_cast<uint64_t>(pointers[j]) != expected) {
        throw CorruptionError(idx_path_ + ": sequence " + std::to_string(first + j) +
                              " starts at byte " + std::to_string(pointers[j]) +
                              " but the lengths before it end at byte " + std::to_string(expected));
      }
      expected += static_cast<uint64_t>(lengths[j]) * element;
    }
    visit(first, std::span<const int32_t>(lengths.data(), n),
          std::span<const int64_t>(pointers.data(), n));
  }
  if (expected != bin_bytes_) {
    throw CorruptionError(bin_path_ + ": the index describes " + std::to_string(expected) +
                          " bytes of tokens but the file has " + std::to_string(bin_bytes_) +
                          (expected > bin_bytes_ ? " (truncated .bin?)" : ""));
  }
}

void MegatronDatasetReader::ForEachDocumentChunk(
    const std::function<void(uint64_t, std::span<const int64_t>)>& visit, size_t chunk) const {
  std::vector<int64_t> entries(chunk);
  const auto sequences = static_cast<int64_t>(header_.sequence_count);
  int64_t previous = 0;
  for (uint64_t first = 0; first < header_.document_index_count; first += chunk) {
    CheckInterrupt();
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(chunk, header_.document_index_count - first));
    ReadDocumentIndices(first, std::span<int64_t>(entries.data(), n));
    for (size_t j = 0; j < n; ++j) {
      const uint64_t k = first + j;
      const int64_t v = entries[j];
      if (k == 0 && v != 0) {
        throw CorruptionError(idx_path_ + ": the document index starts with " + std::to_string(v) +
                              " instead of 0");
      }
      if (v < previous || v > sequences) {
        throw CorruptionError(idx_path_ + ": document index entry " + std::to_string(k) + " is " +
                              std::to_string(v) + " (previous " + std::to_string(previous) + ", " +
                              std::to_string(sequences) + " sequences)");
      }
      previous = v;
    }
    visit(first, std::span<const int64_t>(entries.data(), n));
  }
  if (previous != sequences) {
    throw CorruptionError(idx_path_ + ": the document index ends at " + std::to_string(previous) +
                          " but there are " + std::to_string(sequences) + " sequences");
  }
}

// ---------------------------------------------------------------------------------------------
// Discovery and inspection.

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

template <typename T>
void ScanIds(const char* data, size_t count, uint64_t first_token, int64_t vocab_size,
             MegatronDatasetStats* stats, uint64_t* first_bad_token) {
  for (size_t j = 0; j < count; ++j) {
    const int64_t v = LoadLittleEndian<T>(data + j * sizeof(T));
    stats->min_id = std::min(stats->min_id, v);
    stats->max_id = std::max(stats->max_id, v);
    if (v < 0 || (vocab_size > 0 && v >= vocab_size)) {
      if (stats->ids_out_of_range++ == 0) *first_bad_token = first_token + j;
    }
  }
}

}  // namespace

MegatronDatasetStats InspectMegatronDataset(const MegatronDatasetReader& reader, bool scan_tokens,
                                            int64_t vocab_size) {
  MegatronDatasetStats stats;
  stats.min_length = std::numeric_limits<int32_t>::max();
  reader.ForEachSequenceChunk(
      [&](uint64_t, std::span<const int32_t> lengths, std::span<const int64_t>) {
        for (const int32_t length : lengths) {
          stats.tokens += static_cast<uint64_t>(length);
          stats.min_length = std::min(stats.min_length, length);
          stats.max_length = std::max(stats.max_length, length);
          const size_t bucket = length == 0 ? 0 : std::bit_width(static_cast<uint32_t>(length));
          if (stats.length_histogram.size() <= bucket) stats.length_histogram.resize(bucket + 1);
          ++stats.length_histogram[bucket];
          if (length == 0) ++stats.empty_sequences;
        }
      });
  if (reader.sequences() == 0) stats.min_length = 0;
  stats.min_sequences_per_document = std::numeric_limits<uint64_t>::max();
  int64_t previous = 0;
  reader.ForEachDocumentChunk([&](uint64_t first, std::span<const int64_t> entries) {
    for (size_t j = first == 0 ? 1 : 0; j < entries.size(); ++j) {
      const auto n = static_cast<uint64_t>(entries[j] - previous);
      stats.min_sequences_per_document = std::min(stats.min_sequences_per_document, n);
      stats.max_sequences_per_document = std::max(stats.max_sequences_per_document, n);
      if (n == 0) ++stats.documents_without_sequences;
      previous = entries[j];
    }
  });
  if (reader.documents() == 0) stats.min_sequences_per_document = 0;
  if (!scan_tokens || !IsIntegerMegatronDType(reader.dtype())) return stats;

  stats.scanned_tokens = true;
  stats.min_id = std::numeric_limits<int64_t>::max();
  const size_t element = MegatronDTypeSize(reader.dtype());
  std::vector<char> buffer((4 << 20) / element * element);
  uint64_t first_bad_token = 0;
  for (uint64_t offset = 0; offset < reader.bin_bytes(); offset += buffer.size()) {
    CheckInterrupt();
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(buffer.size(), reader.bin_bytes() - offset));
    reader.ReadBin(offset, std::span<char>(buffer.data(), n));
    const uint64_t first = offset / element;
    switch (reader.dtype()) {
      case MegatronDType::kUInt8:
        ScanIds<uint8_t>(buffer.data(), n, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt8:
        ScanIds<int8_t>(buffer.data(), n, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt16:
        ScanIds<int16_t>(buffer.data(), n / 2, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kUInt16:
        ScanIds<uint16_t>(buffer.data(), n / 2, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt32:
        ScanIds<int32_t>(buffer.data(), n / 4, first, vocab_size, &stats, &first_bad_token);
        break;
      case MegatronDType::kInt64:
        ScanIds<int64_t>(buffer.data(), n / 8, first, vocab_size, &stats, &first_bad_token);
        break;
      default:
        break;
    }
  }
  if (stats.tokens == 0) stats.min_id = 0;
  if (stats.ids_out_of_range > 0) {
    // Find the sequence holding token number `first_bad_token`.
    uint64_t end = 0;
    bool found = false;
    reader.ForEachSequenceChunk(
        [&](uint64_t first, std::span<const int32_t> lengths, std::span<const int64_t>) {
          for (size_t j = 0; j < lengths.size() && !found; ++j) {
            end += static_cast<uint64_t>(lengths[j]);
            if (first_bad_token < end) {
              stats.first_out_of_range_sequence = first + j;
              found = true;
            }
          }
        });
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Merge.

namespace {

/// Append the whole of `from` to the end of `to_fd`: copy_file_range when the kernel can,
/// read/write otherwise.
void AppendFileContents(const MegatronDatasetReader& from, int to_fd, const std::string& to_path,
                        uint64_t* to_offset) {
  const uint64_t total = from.bin_bytes();
  int from_fd = OpenForReading(from.bin_path());
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{from_fd};
  uint64_t done = 0;
  bool kernel_copy = true;
  std::vector<char> buffer;
  while (done < total) {
    CheckInterrupt();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(total - done, 64 << 20));
    if (kernel_copy) {
      auto in = static_cast<off64_t>(done);
      auto out = static_cast<off64_t>(*to_offset);
      const ssize_t r =
          RetryOnEintr([&] { return ::copy_file_range(from_fd, &in, to_fd, &out, want, 0); });
      if (r > 0) {
        done += static_cast<uint64_t>(r);
        *to_offset += static_cast<uint64_t>(r);
        continue;
      }
      if (r == 0) {
        throw CorruptionError(from.bin_path() + ": file ended at byte " + std::to_string(done) +
                              " while being copied");
      }
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        ThrowIoError("cannot copy " + from.bin_path() + " to", to_path, errno);
      }
      kernel_copy = false;
    }
    buffer.resize(4 << 20);
    const size_t n = std::min(want, buffer.size());
    PReadExactly(from_fd, from.bin_path(), done, buffer.data(), n);
    PWriteExactly(to_fd, to_path, *to_offset, buffer.data(), n);
    done += n;
    *to_offset += n;
  }
}

/// A file created as `path.tmp`, removed on destruction unless kept.
class TmpOutput {
 public:
  explicit TmpOutput(const std::string& path) : tmp_(TmpPath(path)) {
    fd_ = ::open(tmp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) ThrowIoError("cannot create", tmp_, errno);
  }
  ~TmpOutput() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(tmp_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& tmp() const { return tmp_; }
  void Close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowIoError("cannot close", tmp_, errno);
  }
  /// Keep the file when destroyed (its owner renames or removes it).
  void Keep() { kept_ = true; }

 private:
  std::string tmp_;
  int fd_ = -1;
  bool kept_ = false;
};

/// Sequential buffered writes to an fd at a running offset.
class IndexAppender {
 public:
  IndexAppender(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    buffer_.reserve(kIndexBufferBytes);
  }
  void Append(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    if (buffer_.size() + n > buffer_.capacity()) Flush();
    if (n >= buffer_.capacity()) {
      PWriteExactly(fd_, path_, offset_, p, n);
      offset_ += n;
      return;
    }
    buffer_.insert(buffer_.end(), p, p + n);
  }
  void Flush() {
    PWriteExactly(fd_, path_, offset_, buffer_.data(), buffer_.size());
    offset_ += buffer_.size();
    buffer_.clear();
  }
  uint64_t offset() const { return offset_ + buffer_.size(); }

 private:
  int fd_;
  std::string path_;
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
                               const std::vector<std::string>& input_prefixes)
    : output_prefix_(std::move(output_prefix)) {
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

MegatronMerger::~MegatronMerger() {
  if (written_ && !published_) {
    ::unlink(TmpPath(MegatronBinPath(output_prefix_)).c_str());
    ::unlink(TmpPath(MegatronIdxPath(output_prefix_)).c_str());
  }
}

void MegatronMerger::Write() {
  if (written_) return;
  TmpOutput bin(MegatronBinPath(output_prefix_));
  TmpOutput idx(MegatronIdxPath(output_prefix_));

  IndexAppender index(idx.fd(), idx.tmp());
  const uint64_t document_entries = summary_.documents + 1;
  char header[kMegatronHeaderBytes] = {};
  std::memcpy(header, kMegatronIndexMagic.data(), kMegatronIndexMagic.size());
  std::memcpy(header + kVersionOffset, &kMegatronIndexVersion, sizeof(uint64_t));
  header[kDTypeOffset] = static_cast<char>(summary_.dtype);
  std::memcpy(header + kSequenceCountOffset, &summary_.sequences, sizeof(uint64_t));
  std::memcpy(header + kSequenceCountOffset + 8, &document_entries, sizeof(uint64_t));
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
  for (const auto& in : inputs_) AppendFileContents(*in, bin.fd(), bin.tmp(), &bin_offset);

  bin.Close();
  idx.Close();
  bin.Keep();
  idx.Keep();
  written_ = true;
}

void MegatronMerger::Publish() {
  if (!written_) throw std::logic_error("MegatronMerger: Publish before Write");
  if (published_) return;
  for (const std::string& path :
       {MegatronBinPath(output_prefix_), MegatronIdxPath(output_prefix_)}) {
    if (::rename(TmpPath(path).c_str(), path.c_str()) != 0) {
      ThrowIoError("cannot rename " + TmpPath(path) + " to", path, errno);
    }
  }
  published_ = true;
}

MegatronMergeSummary MergeMegatronDatasets(const std::string& output_prefix,
                                           const std::vector<std::string>& input_prefixes) {
  MegatronMerger merger(output_prefix, input_prefixes);
  merger.Write();
  merger.Publish();
  return merger.summary();
}

}  // namespace corpusflow
