#include "engine/io/input_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_streambuf.hpp>
#include <ios>
#include <vector>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/io/file.h"

namespace corpusflow {
namespace {

namespace bio = boost::iostreams;

/// Bytes per read(2) from a compressed file and per buffer of the Boost chains.
constexpr size_t kCompressedChunk = 256 << 10;

struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

/// The file under a decoder: stdin for "-", else a file opened through the run's FileSystem,
/// and the count of bytes read from it.
class RawInput {
 public:
  RawInput(const std::string& path, FileSystem& fs) {
    if (path == "-") {
      file_ = File(STDIN_FILENO, "<stdin>", File::Ownership::kBorrowed);
      return;
    }
    file_ = fs.OpenForRead(path, "cannot open input");
    struct stat st {};
    if (::fstat(file_.fd(), &st) == 0 && S_ISDIR(st.st_mode)) {
      throw IoError("cannot read input " + path + ": it is a directory");
    }
    ::posix_fadvise(file_.fd(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  size_t Read(char* buf, size_t n) { return file_.Read(buf, n); }
  uint64_t bytes_read() const { return file_.position(); }
  const std::string& name() const { return file_.name(); }

 private:
  File file_;
};

class PlainInput : public InputStream {
 public:
  PlainInput(const std::string& path, FileSystem& fs) : raw_(path, fs) {}
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
  ZstdInput(const std::string& path, FileSystem& fs)
      : raw_(path, fs), dctx_(ZSTD_createDCtx()), in_buf_(ZSTD_DStreamInSize()) {
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
  BoostInput(const std::string& path, Compression compression, FileSystem& fs)
      : raw_(path, fs), compression_(compression) {
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

}  // namespace

std::unique_ptr<InputStream> OpenInput(const std::string& path) {
  return OpenInput(path, path == "-" ? Compression::kNone : CompressionFromPath(path));
}

std::unique_ptr<InputStream> OpenInput(const std::string& path, Compression compression) {
  return OpenInput(path, compression, FileSystem::Default());
}

std::unique_ptr<InputStream> OpenInput(const std::string& path, Compression compression,
                                       FileSystem& fs) {
  switch (compression) {
    case Compression::kNone:
      return std::make_unique<PlainInput>(path, fs);
    case Compression::kZstd:
      return std::make_unique<ZstdInput>(path, fs);
    case Compression::kGzip:
    case Compression::kBzip2:
      return std::make_unique<BoostInput>(path, compression, fs);
  }
  CF_CHECK(false, "unknown compression " + std::to_string(static_cast<int>(compression)));
}

}  // namespace corpusflow
