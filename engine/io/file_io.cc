#include "engine/io/file_io.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_streambuf.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <ios>
#include <vector>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {
namespace {

namespace bio = boost::iostreams;

/// Bytes per read(2) from a compressed file and per buffer of the Boost chains.
constexpr size_t kCompressedChunk = 256 << 10;
/// Bytes buffered before a write(2).
constexpr size_t kWriteChunk = 1 << 20;

struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

std::string DisplayName(const std::string& path) { return path == "-" ? "<stdin>" : path; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// read(2) that retries on EINTR unless SIGINT/SIGTERM arrived (then it throws Interrupted).
size_t ReadFd(int fd, char* buf, size_t n, const std::string& name) {
  for (;;) {
    const ssize_t r = ::read(fd, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) {
      CheckInterrupt();
      continue;
    }
    ThrowIoError("cannot read", name, errno);
  }
}

/// write(2) of all `n` bytes, in calls of at most kMaxWriteCall, retrying short writes and EINTR
/// (unless interrupted). EPIPE (stdout or a FIFO whose reader went away) is BrokenPipe.
void WriteFd(int fd, const char* data, size_t n, const std::string& name) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, std::min(n, kMaxWriteCall));
    if (w < 0) {
      if (errno == EINTR) {
        CheckInterrupt();
        continue;
      }
      if (errno == EPIPE) throw BrokenPipe(name);
      ThrowIoError("cannot write", name, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// The file under a decoder: a descriptor (stdin for "-") and the count of bytes read from it.
class RawInput {
 public:
  explicit RawInput(const std::string& path) : name_(DisplayName(path)) {
    if (path == "-") {
      fd_ = STDIN_FILENO;
      return;
    }
    do {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR && !InterruptRequested());
    if (fd_ < 0) ThrowIoError("cannot open input", path, errno);
    struct stat st {};
    if (fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd_);
      throw IoError("cannot read input " + path + ": it is a directory");
    }
    owned_ = true;
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~RawInput() {
    if (owned_) ::close(fd_);
  }
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;

  size_t Read(char* buf, size_t n) {
    const size_t got = ReadFd(fd_, buf, n, name_);
    bytes_read_ += got;
    return got;
  }
  uint64_t bytes_read() const { return bytes_read_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
  uint64_t bytes_read_ = 0;
};

class PlainInput : public InputStream {
 public:
  explicit PlainInput(const std::string& path) : raw_(path) {}
  size_t Read(char* buf, size_t n) override { return raw_.Read(buf, n); }
  uint64_t raw_bytes_read() const override { return raw_.bytes_read(); }
  const std::string& name() const override { return raw_.name(); }

 private:
  RawInput raw_;
};

/// `.zst`: libzstd streaming decompression. Concatenated frames and skippable frames are
/// accepted; content checksums are verified when present; a stream that ends inside a frame is
/// corrupt.
class ZstdInput : public InputStream {
 public:
  explicit ZstdInput(const std::string& path)
      : raw_(path), dctx_(ZSTD_createDCtx()), in_buf_(ZSTD_DStreamInSize()) {
    if (dctx_ == nullptr) throw std::bad_alloc();
    // Accept frames written with long-distance windows (`zstd --long=31`); 31 is libzstd's
    // ZSTD_WINDOWLOG_MAX on 64-bit systems.
    ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax, 31);
  }

  size_t Read(char* buf, size_t n) override {
    if (n == 0) return 0;
    for (;;) {
      if (in_.pos == in_.size && !raw_eof_) {
        in_.size = raw_.Read(in_buf_.data(), in_buf_.size());
        in_.pos = 0;
        in_.src = in_buf_.data();
        raw_eof_ = in_.size == 0;
      }
      const bool input_done = raw_eof_ && in_.pos == in_.size;
      if (input_done && frame_done_) {
        if (raw_.bytes_read() == 0) Corrupt("empty file, not a zstd stream");
        return 0;
      }
      ZSTD_outBuffer out{buf, n, 0};
      const size_t ret = ZSTD_decompressStream(dctx_.get(), &out, &in_);
      if (ZSTD_isError(ret)) Corrupt(ZSTD_getErrorName(ret));
      frame_done_ = ret == 0;
      if (out.pos > 0) return out.pos;
      if (input_done && !frame_done_) Corrupt("truncated (the stream ends inside a frame)");
    }
  }
  uint64_t raw_bytes_read() const override { return raw_.bytes_read(); }
  const std::string& name() const override { return raw_.name(); }

 private:
  [[noreturn]] void Corrupt(const std::string& what) const {
    const uint64_t offset = raw_.bytes_read() - (in_.size - in_.pos);
    throw CorruptionError("corrupt zstd data in " + raw_.name() + " at compressed byte " +
                          std::to_string(offset) + ": " + what);
  }

  RawInput raw_;
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx_;
  std::vector<char> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool raw_eof_ = false;
  bool frame_done_ = true;
};

/// A Boost.Iostreams Source over a RawInput (the chain copies devices, so it holds a pointer).
class BoostRawSource {
 public:
  using char_type = char;
  using category = bio::source_tag;
  explicit BoostRawSource(RawInput* raw) : raw_(raw) {}
  std::streamsize read(char* s, std::streamsize n) {
    const size_t got = raw_->Read(s, static_cast<size_t>(n));
    return got == 0 ? -1 : static_cast<std::streamsize>(got);
  }

 private:
  RawInput* raw_;
};

std::string GzipErrorText(const bio::gzip_error& e) {
  switch (e.error()) {
    case bio::gzip::bad_crc:
      return "CRC mismatch";
    case bio::gzip::bad_length:
      return "length mismatch";
    case bio::gzip::bad_header:
      return "bad gzip header";
    case bio::gzip::bad_footer:
      return "bad or missing gzip footer (truncated file?)";
    case bio::gzip::zlib_error: {
      const int code = e.zlib_error_code();
      if (code == bio::zlib::data_error) return "invalid deflate data";
      if (code == bio::zlib::buf_error) return "truncated (the stream ends inside a member)";
      if (code == bio::zlib::mem_error) return "out of memory";
      return "zlib error " + std::to_string(code);
    }
    default:
      return e.what();
  }
}

std::string Bzip2ErrorText(const bio::bzip2_error& e) {
  const int code = e.error();
  if (code == bio::bzip2::data_error) return "invalid bzip2 data";
  if (code == bio::bzip2::data_error_magic) return "bad bzip2 header";
  if (code == bio::bzip2::unexpected_eof) return "truncated (the stream ends inside a block)";
  if (code == bio::bzip2::mem_error) return "out of memory";
  return "bzip2 error " + std::to_string(code);
}

/// `.gz` and `.bz2` through Boost.Iostreams; concatenated members are read as one stream.
class BoostInput : public InputStream {
 public:
  BoostInput(const std::string& path, Compression compression)
      : raw_(path), compression_(compression) {
    if (compression == Compression::kGzip) {
      chain_.push(bio::gzip_decompressor(bio::gzip::default_window_bits, kCompressedChunk),
                  kCompressedChunk);
    } else {
      chain_.push(bio::bzip2_decompressor(bio::bzip2::default_small, kCompressedChunk),
                  kCompressedChunk);
    }
    chain_.push(BoostRawSource(&raw_), kCompressedChunk);
  }

  size_t Read(char* buf, size_t n) override {
    if (eof_ || n == 0) return 0;
    try {
      const std::streamsize got = chain_.sgetn(buf, static_cast<std::streamsize>(n));
      if (got <= 0) {
        eof_ = true;
        return 0;
      }
      return static_cast<size_t>(got);
    } catch (const Error&) {
      throw;
    } catch (const bio::gzip_error& e) {
      Corrupt(GzipErrorText(e));
    } catch (const bio::bzip2_error& e) {
      Corrupt(Bzip2ErrorText(e));
    } catch (const std::ios_base::failure& e) {
      Corrupt(e.what());
    }
  }
  uint64_t raw_bytes_read() const override { return raw_.bytes_read(); }
  const std::string& name() const override { return raw_.name(); }

 private:
  [[noreturn]] void Corrupt(const std::string& what) const {
    const char* codec = compression_ == Compression::kGzip ? "gzip" : "bzip2";
    throw CorruptionError("corrupt " + std::string(codec) + " data in " + raw_.name() +
                          " near compressed byte " + std::to_string(raw_.bytes_read()) + ": " +
                          what);
  }

  RawInput raw_;
  Compression compression_;
  bio::filtering_streambuf<bio::input> chain_;
  bool eof_ = false;
};

// ---------------------------------------------------------------------------------------------
// Outputs

/// The file under an encoder: `NAME.tmp` (or stdout), a write buffer, rename on commit, removal
/// of the temp file when abandoned.
class RawOutput {
 public:
  RawOutput(const std::string& path, bool sync) : path_(path), sync_(sync) {
    if (path == "-") {
      name_ = "<stdout>";
      fd_ = STDOUT_FILENO;
      return;
    }
    name_ = path;
    // A device or FIFO (/dev/null, a named pipe) is written in place: renaming a temp file over
    // it would replace the device with a regular file.
    struct stat st {};
    const bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    if (!special) tmp_path_ = path + ".tmp";
    const std::string& target = special ? path : tmp_path_;
    do {
      fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } while (fd_ < 0 && errno == EINTR && !InterruptRequested());
    if (fd_ < 0) ThrowIoError("cannot create output", target, errno);
    if (special) owned_fd_ = true;
  }
  ~RawOutput() { Abandon(); }
  RawOutput(const RawOutput&) = delete;
  RawOutput& operator=(const RawOutput&) = delete;

  const std::string& name() const { return name_; }
  /// Written in place (stdout, a device, a FIFO): no temp file, no rename.
  bool direct() const { return tmp_path_.empty(); }

  /// Buffer `n` bytes. A failure is sticky: every later call rethrows it, so an error inside a
  /// codec library that swallows exceptions (Boost's close path does) still ends the run.
  void Write(const char* data, size_t n) {
    if (abandoned_) return;
    ThrowIfFailed();
    if (closed_) throw std::logic_error("write after close to " + name_);
    if (buffer_.size() + n <= kWriteChunk) {
      buffer_.append(data, n);
      return;
    }
    Flush();
    if (n >= kWriteChunk) {
      Guarded([&] { WriteFd(fd_, data, n, name_); });
    } else {
      buffer_.append(data, n);
    }
  }

  void Flush() {
    ThrowIfFailed();
    if (buffer_.empty()) return;
    Guarded([&] { WriteFd(fd_, buffer_.data(), buffer_.size(), name_); });
    buffer_.clear();
  }

  void ThrowIfFailed() const {
    if (error_) std::rethrow_exception(error_);
  }

  /// Flush, optionally sync, and close the temp file.
  void Close() {
    if (closed_) return;
    Flush();
    std::string().swap(buffer_);
    if (direct()) {
      closed_ = true;
      if (owned_fd_ && ::close(fd_) != 0 && errno != EINTR) {
        ThrowIoError("cannot close output", path_, errno);
      }
      fd_ = -1;
      return;
    }
    if (sync_ && fdatasync(fd_) != 0) ThrowIoError("cannot sync output", tmp_path_, errno);
    const int fd = fd_;
    fd_ = -1;
    closed_ = true;
    if (::close(fd) != 0 && errno != EINTR) ThrowIoError("cannot close output", tmp_path_, errno);
  }

  /// Close, then rename `NAME.tmp` to NAME.
  void Commit() {
    Close();
    if (direct()) {
      committed_ = true;
      return;
    }
    if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
      ThrowIoError("cannot rename " + tmp_path_ + " to", path_, errno);
    }
    committed_ = true;
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
    if (committed_) return;
    if (fd_ >= 0 && (!direct() || owned_fd_)) ::close(fd_);
    fd_ = -1;
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
    tmp_path_.clear();
    committed_ = true;  // nothing left to clean up
  }

 private:
  std::string path_;
  std::string tmp_path_;
  std::string name_;
  bool sync_;
  int fd_ = -1;
  bool owned_fd_ = false;  // a device opened by path (closed by us, unlike stdout)
  std::string buffer_;
  std::exception_ptr error_;
  bool closed_ = false;
  bool committed_ = false;
  bool abandoned_ = false;
};

/// The common part of every output: the raw file, the uncompressed byte count, the protocol
/// Write* -> Close? -> Commit, and cleanup when destroyed without Commit().
class FileOutput : public OutputStream {
 public:
  FileOutput(const std::string& path, const OutputOptions& options) : raw_(path, options.sync) {}

  void Write(std::string_view data) override {
    if (closed_) throw std::logic_error("write after close to " + raw_.name());
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

}  // namespace

std::optional<uint64_t> TotalFileBytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& path : paths) {
    if (path == "-") return std::nullopt;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return std::nullopt;
    total += size;
  }
  return total;
}

Compression CompressionFromPath(std::string_view path) {
  if (EndsWith(path, ".gz")) return Compression::kGzip;
  if (EndsWith(path, ".bz2")) return Compression::kBzip2;
  if (EndsWith(path, ".zst")) return Compression::kZstd;
  return Compression::kNone;
}

std::string StripCompressionExtension(std::string_view path) {
  switch (CompressionFromPath(path)) {
    case Compression::kGzip:
      path.remove_suffix(3);
      break;
    case Compression::kBzip2:
    case Compression::kZstd:
      path.remove_suffix(4);
      break;
    case Compression::kNone:
      break;
  }
  return std::string(path);
}

Compression ParseCompression(std::string_view text) {
  if (text == "none") return Compression::kNone;
  if (text == "gzip" || text == "gz") return Compression::kGzip;
  if (text == "bzip2" || text == "bz2") return Compression::kBzip2;
  if (text == "zstd" || text == "zst") return Compression::kZstd;
  throw InvalidArgument("unknown compression '" + std::string(text) +
                        "' (expected none, gzip, bzip2 or zstd)");
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

std::unique_ptr<InputStream> OpenInput(const std::string& path) {
  return OpenInput(path, path == "-" ? Compression::kNone : CompressionFromPath(path));
}

std::unique_ptr<InputStream> OpenInput(const std::string& path, Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return std::make_unique<PlainInput>(path);
    case Compression::kZstd:
      return std::make_unique<ZstdInput>(path);
    case Compression::kGzip:
    case Compression::kBzip2:
      return std::make_unique<BoostInput>(path, compression);
  }
  throw std::logic_error("unknown compression");
}

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
  throw std::logic_error("unknown compression");
}

void CheckOutputWritable(const std::string& path) {
  if (path == "-") return;
  if (path.empty()) throw InvalidArgument("empty output path");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw IoError("cannot write output " + path + ": it is a directory");
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    ThrowIoError("cannot write output " + path + ": no folder", dir.string(), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw IoError("cannot write output " + path + ": " + dir.string() + " is not a folder");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    ThrowIoError("cannot write output " + path + ": folder", dir.string(), errno);
  }
}

void CheckInputReadable(const std::string& path) {
  if (path == "-") return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ThrowIoError("cannot open input", path, errno);
  if (S_ISDIR(st.st_mode)) throw IoError("cannot read input " + path + ": it is a directory");
  if (::access(path.c_str(), R_OK) != 0) ThrowIoError("cannot read input", path, errno);
}

std::vector<std::string> ExpandInputPattern(const std::string& pattern) {
  if (pattern == "-" || pattern.find_first_of("*?[") == std::string::npos) return {pattern};
  std::error_code ec;
  if (std::filesystem::exists(pattern, ec)) return {pattern};  // a name with a literal '*'
  glob_t matches{};
  const int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
  std::vector<std::string> paths;
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  if (rc == GLOB_NOSPACE) throw std::bad_alloc();
  if (rc == GLOB_ABORTED) throw IoError("cannot read a folder while expanding " + pattern);
  if (paths.empty()) throw InvalidArgument("no file matches '" + pattern + "'");
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace corpusflow
