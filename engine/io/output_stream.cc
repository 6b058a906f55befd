#include "engine/io/output_stream.h"

#include <zstd.h>

#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_streambuf.hpp>
#include <exception>
#include <ios>
#include <vector>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/io/atomic_output.h"

namespace corpusflow {
namespace {

namespace bio = boost::iostreams;

/// Bytes per buffer of the Boost chains.
constexpr size_t kCompressedChunk = 256 << 10;
/// Bytes buffered before a write(2).
constexpr size_t kWriteChunk = 1 << 20;

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

/// The file under an encoder: an AtomicOutput (a temp file, or stdout, a device, a FIFO written
/// in place), a write buffer and the sticky error.
class RawOutput {
 public:
  RawOutput(const std::string& path, const OutputOptions& options)
      : out_(AtomicOutput::Create(path, options.run_files, options.sync)),
        name_(out_.file().name()) {}
  ~RawOutput() { Abandon(); }
  RawOutput(const RawOutput&) = delete;
  RawOutput& operator=(const RawOutput&) = delete;

  const std::string& name() const { return name_; }

  /// Buffer `n` bytes. A failure is sticky: every later call rethrows it.
  void Write(const char* data, size_t n) {
    if (abandoned_) return;
    ThrowIfFailed();
    CF_CHECK(!closed_, "write after close to " + name_);
    if (buffer_.size() + n <= kWriteChunk) {
      buffer_.append(data, n);
      return;
    }
    Flush();
    if (n >= kWriteChunk) {
      Guarded([&] { out_.Write(std::string_view(data, n)); });
    } else {
      buffer_.append(data, n);
    }
  }

  void Flush() {
    ThrowIfFailed();
    if (buffer_.empty()) return;
    Guarded([&] { out_.Write(buffer_); });
    buffer_.clear();
  }

  void ThrowIfFailed() const {
    if (error_) std::rethrow_exception(error_);
  }

  /// Flush, optionally sync, and close the file.
  void Close() {
    if (closed_) return;
    Flush();
    std::string().swap(buffer_);
    closed_ = true;
    out_.Close();
  }

  /// Close, then rename the temp file onto the output.
  void Commit() {
    Close();
    out_.Commit();
  }

  /// The rename Commit() will do; none when written in place.
  std::vector<PendingRename> Renames() const {
    if (out_.temp_path().empty()) return {};
    return {PendingRename{out_.temp_path(), out_.target()}};
  }

  template <typename F>
  void Guarded(F&& f) {
    try {
      f();
    } catch (...) {
      error_ = std::current_exception();
      throw;
    }
  }

  /// Drop buffered data and further writes; remove the temp file unless committed.
  void Abandon() noexcept {
    abandoned_ = true;
    out_.Abandon();
  }

 private:
  AtomicOutput out_;
  std::string name_;
  std::string buffer_;
  std::exception_ptr error_;
  bool closed_ = false;
  bool abandoned_ = false;
};

/// The common part of every output: the raw file, the uncompressed byte count, the protocol
/// Write* -> Close? -> Commit, and cleanup when destroyed without Commit().
class FileOutput : public OutputStream {
 public:
  FileOutput(const std::string& path, const OutputOptions& options) : raw_(path, options) {}

  void Write(std::string_view data) override {
    CF_CHECK(!closed_, "write after close to " + raw_.name());
    Encode(data);
    bytes_written_ += data.size();
  }
  void Close() override {
    if (closed_) return;
    closed_ = true;
    FinishEncoding();
    raw_.Close();
  }
  void Commit() override {
    Close();
    raw_.Commit();
  }
  const std::string& name() const override { return raw_.name(); }
  uint64_t bytes_written() const override { return bytes_written_; }
  std::vector<PendingRename> Renames() const override { return raw_.Renames(); }

 protected:
  virtual void Encode(std::string_view data) = 0;
  virtual void FinishEncoding() = 0;

  RawOutput raw_;

 private:
  uint64_t bytes_written_ = 0;
  bool closed_ = false;
};

class PlainOutput : public FileOutput {
 public:
  using FileOutput::FileOutput;

 protected:
  void Encode(std::string_view data) override { raw_.Write(data.data(), data.size()); }
  void FinishEncoding() override {}
};

/// `.zst`: libzstd streaming compression with a content checksum in every frame.
class ZstdOutput : public FileOutput {
 public:
  ZstdOutput(const std::string& path, const OutputOptions& options)
      : FileOutput(path, options), cctx_(ZSTD_createCCtx()), out_buf_(ZSTD_CStreamOutSize()) {
    if (cctx_ == nullptr) throw std::bad_alloc();
    const int level = options.level == 0 ? ZSTD_CLEVEL_DEFAULT : options.level;
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
      throw InvalidArgument("zstd level " + std::to_string(level) + " out of range [" +
                            std::to_string(ZSTD_minCLevel()) + ", " +
                            std::to_string(ZSTD_maxCLevel()) + "]");
    }
    Check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level));
    Check(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1));
    if (options.threads > 0) {
      // A libzstd built without threads refuses; compression is then single-threaded.
      ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_nbWorkers, options.threads);
    }
  }

 protected:
  void Encode(std::string_view data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) Step(&in, ZSTD_e_continue);
  }
  void FinishEncoding() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (Step(&in, ZSTD_e_end) != 0) {
    }
  }

 private:
  size_t Step(ZSTD_inBuffer* in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{out_buf_.data(), out_buf_.size(), 0};
    const size_t remaining = Check(ZSTD_compressStream2(cctx_.get(), &out, in, mode));
    raw_.Write(out_buf_.data(), out.pos);
    return remaining;
  }
  size_t Check(size_t ret) const {
    if (ZSTD_isError(ret)) {
      throw IoError("zstd compression failed for " + raw_.name() + ": " + ZSTD_getErrorName(ret));
    }
    return ret;
  }

  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx_;
  std::vector<char> out_buf_;
};

/// A Boost.Iostreams Sink over a RawOutput.
class BoostRawSink {
 public:
  using char_type = char;
  using category = bio::sink_tag;
  explicit BoostRawSink(RawOutput* raw) : raw_(raw) {}
  std::streamsize write(const char* s, std::streamsize n) {
    raw_->Write(s, static_cast<size_t>(n));
    return n;
  }

 private:
  RawOutput* raw_;
};

/// `.gz` and `.bz2` through Boost.Iostreams.
class BoostOutput : public FileOutput {
 public:
  BoostOutput(const std::string& path, const OutputOptions& options, Compression compression)
      : FileOutput(path, options),
        codec_(compression == Compression::kGzip ? "gzip" : "bzip2"),
        chain_(std::make_unique<bio::filtering_streambuf<bio::output>>()) {
    if (compression == Compression::kGzip) {
      const int level = options.level == 0 ? 6 : options.level;
      if (level < 1 || level > 9) {
        throw InvalidArgument("gzip level " + std::to_string(level) + " out of range [1, 9]");
      }
      chain_->push(bio::gzip_compressor(bio::gzip_params(level), kCompressedChunk),
                   kCompressedChunk);
    } else {
      const int level = options.level == 0 ? 9 : options.level;
      if (level < 1 || level > 9) {
        throw InvalidArgument("bzip2 level " + std::to_string(level) + " out of range [1, 9]");
      }
      chain_->push(bio::bzip2_compressor(bio::bzip2_params(level), kCompressedChunk),
                   kCompressedChunk);
    }
    chain_->push(BoostRawSink(&raw_), kCompressedChunk);
  }
  ~BoostOutput() override {
    if (chain_ != nullptr) {
      // Failed run: the chain would flush its remains on destruction; let them go nowhere.
      raw_.Abandon();
      try {
        chain_.reset();
      } catch (...) {
      }
    }
  }

 protected:
  void Encode(std::string_view data) override {
    Guard([&] {
      const auto n = static_cast<std::streamsize>(data.size());
      if (chain_->sputn(data.data(), n) != n) {
        throw IoError(codec_ + " compression failed for " + raw_.name());
      }
    });
  }
  void FinishEncoding() override {
    // Resetting the chain closes the compressor, which writes the stream trailer. Boost
    // swallows errors on this path; RawOutput keeps them.
    Guard([&] { chain_->reset(); });
    chain_.reset();
    raw_.ThrowIfFailed();
  }

 private:
  template <typename F>
  void Guard(F&& f) {
    try {
      f();
    } catch (const Error&) {
      throw;
    } catch (const std::ios_base::failure& e) {
      throw IoError(codec_ + " compression failed for " + raw_.name() + ": " + e.what());
    }
  }

  std::string codec_;
  std::unique_ptr<bio::filtering_streambuf<bio::output>> chain_;
};

/// A stream held by a CommitGroup.
class DeferredOutput : public DeferredCommit {
 public:
  explicit DeferredOutput(std::unique_ptr<OutputStream> output) : output_(std::move(output)) {}
  void Prepare() override { output_->Close(); }
  void Commit() override { output_->Commit(); }
  std::vector<PendingRename> Renames() const override { return output_->Renames(); }
  std::vector<PendingRename> Files() const override {
    std::vector<PendingRename> renames = output_->Renames();
    if (renames.empty()) return {PendingRename{output_->name(), output_->name()}};
    return renames;
  }
  /// A file written whole under a temp name: its parts concatenate (a compressed stream too:
  /// gzip members, zstd frames and bzip2 streams decode as the concatenation of their texts). A
  /// stream written in place (stdout, a FIFO) is not.
  Join JoinKind() const override {
    return output_->Renames().empty() ? Join::kNone : Join::kConcatenate;
  }

 private:
  std::unique_ptr<OutputStream> output_;
};

}  // namespace

std::unique_ptr<OutputStream> CreateOutput(const std::string& path, const OutputOptions& options) {
  const Compression compression =
      options.compression.value_or(path == "-" ? Compression::kNone : CompressionFromPath(path));
  switch (compression) {
    case Compression::kNone:
      return std::make_unique<PlainOutput>(path, options);
    case Compression::kZstd:
      return std::make_unique<ZstdOutput>(path, options);
    case Compression::kGzip:
    case Compression::kBzip2:
      return std::make_unique<BoostOutput>(path, options, compression);
  }
  CF_CHECK(false, "unknown compression " + std::to_string(static_cast<int>(compression)));
}

std::unique_ptr<DeferredCommit> DeferOutput(std::unique_ptr<OutputStream> output) {
  return std::make_unique<DeferredOutput>(std::move(output));
}

}  // namespace corpusflow
