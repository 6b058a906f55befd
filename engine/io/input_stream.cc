#include "engine/io/input_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <boost/iostreams/categories.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filtering_streambuf.hpp>
#include <climits>
#include <cstring>
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

  size_t Read(char* buf, size_t n) {
    if (offset_ == 0) return file_.Read(buf, n);
    const size_t got = file_.PRead(offset_ + file_.position(), buf, n);
    file_.Skip(got);
    return got;
  }
  /// Read from byte `offset` on (a regular file).
  void StartAt(uint64_t offset) { offset_ = offset; }
  uint64_t bytes_read() const { return offset_ + file_.position(); }
  const std::string& name() const { return file_.name(); }

 private:
  File file_;
  uint64_t offset_ = 0;
};

class PlainInput : public InputStream {
 public:
  PlainInput(const std::string& path, FileSystem& fs) : raw_(path, fs) {}
  PlainInput(const std::string& path, uint64_t offset, FileSystem& fs) : raw_(path, fs) {
    raw_.StartAt(offset);
  }
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

/// `.gz`: zlib's inflate with the gzip wrapper, which checks every member's header, its CRC-32
/// and its ISIZE (the member's decoded length modulo 2^32; RFC 1952). Concatenated members are
/// read as one stream; anything after a member that is not another member is corrupt, as is a
/// stream that ends inside a member or an empty file.
class GzipInput : public InputStream {
 public:
  GzipInput(const std::string& path, FileSystem& fs) : raw_(path, fs), in_buf_(kCompressedChunk) {
    // 15 + 16: the largest window, gzip wrapper only.
    if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw std::bad_alloc();
  }
  ~GzipInput() override { inflateEnd(&zs_); }
  GzipInput(const GzipInput&) = delete;
  GzipInput& operator=(const GzipInput&) = delete;

  size_t Read(char* buf, size_t n) override {
    if (n == 0) return 0;
    for (;;) {
      if (zs_.avail_in == 0 && !raw_eof_) {
        const size_t got = raw_.Read(in_buf_.data(), in_buf_.size());
        zs_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
        zs_.avail_in = static_cast<uInt>(got);
        raw_eof_ = got == 0;
      }
      if (zs_.avail_in == 0 && raw_eof_) {
        if (in_member_) Corrupt("truncated (the stream ends inside a member)");
        if (!any_member_) Corrupt("empty file, not a gzip stream");
        return 0;
      }
      if (!in_member_) {
        // The next member (or trailing bytes that must be one).
        if (any_member_ && inflateReset(&zs_) != Z_OK) Corrupt("cannot reset zlib");
        in_member_ = any_member_ = true;
        member_bytes_ = 0;
      }
      const Bytef* in_before = zs_.next_in;
      zs_.next_out = reinterpret_cast<Bytef*>(buf);
      zs_.avail_out = static_cast<uInt>(std::min<size_t>(n, UINT_MAX));
      const int ret = inflate(&zs_, Z_NO_FLUSH);
      KeepTail(in_before, zs_.next_in);
      const size_t out = static_cast<size_t>(reinterpret_cast<char*>(zs_.next_out) - buf);
      member_bytes_ += out;
      switch (ret) {
        case Z_OK:
        case Z_BUF_ERROR:  // no progress: more input is needed (read above)
          break;
        case Z_STREAM_END:
          in_member_ = false;
          break;
        case Z_MEM_ERROR:
          throw std::bad_alloc();
        case Z_NEED_DICT:
          Corrupt("the member needs a preset dictionary (not gzip)");
        default:
          Corrupt(DataErrorText());
      }
      if (out > 0) return out;
    }
  }
  uint64_t raw_bytes_read() const override { return raw_.bytes_read(); }
  const std::string& name() const override { return raw_.name(); }

 private:
  /// Keep the last 4 compressed bytes inflate consumed: after a failed length check, the ISIZE.
  void KeepTail(const Bytef* from, const Bytef* to) {
    for (const Bytef* p = to - from > 4 ? to - 4 : from; p < to; ++p) {
      std::memmove(tail_, tail_ + 1, 3);
      tail_[3] = *p;
    }
  }

  std::string DataErrorText() const {
    const std::string msg = zs_.msg != nullptr ? zs_.msg : "invalid data";
    if (msg == "incorrect data check") return "CRC mismatch";
    if (msg == "incorrect length check") {
      const uint32_t isize =
          static_cast<uint32_t>(tail_[0]) | static_cast<uint32_t>(tail_[1]) << 8 |
          static_cast<uint32_t>(tail_[2]) << 16 | static_cast<uint32_t>(tail_[3]) << 24;
      return "length mismatch: the member's ISIZE trailer says " + std::to_string(isize) +
             " bytes, it decodes to " + std::to_string(member_bytes_ & 0xffffffffu) +
             " (modulo 2^32)";
    }
    if (msg == "incorrect header check" || msg == "unknown compression method" ||
        msg == "unknown header flags set" || msg == "header crc mismatch") {
      return "bad gzip header (" + msg + ")";
    }
    return "invalid deflate data (" + msg + ")";
  }

  [[noreturn]] void Corrupt(const std::string& what) const {
    const uint64_t offset = raw_.bytes_read() - zs_.avail_in;
    throw CorruptionError("corrupt gzip data in " + raw_.name() + " at compressed byte " +
                          std::to_string(offset) + ": " + what);
  }

  RawInput raw_;
  z_stream zs_{};
  std::vector<char> in_buf_;
  bool raw_eof_ = false;
  bool in_member_ = false;
  bool any_member_ = false;
  /// Bytes the current member decoded to so far.
  uint64_t member_bytes_ = 0;
  unsigned char tail_[4] = {0, 0, 0, 0};
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

std::string Bzip2ErrorText(const bio::bzip2_error& e) {
  const int code = e.error();
  if (code == bio::bzip2::data_error) return "invalid bzip2 data";
  if (code == bio::bzip2::data_error_magic) return "bad bzip2 header";
  if (code == bio::bzip2::unexpected_eof) return "truncated (the stream ends inside a block)";
  if (code == bio::bzip2::mem_error) return "out of memory";
  return "bzip2 error " + std::to_string(code);
}

/// `.bz2` through Boost.Iostreams; concatenated streams are read as one stream.
class Bzip2Input : public InputStream {
 public:
  Bzip2Input(const std::string& path, FileSystem& fs) : raw_(path, fs) {
    chain_.push(bio::bzip2_decompressor(bio::bzip2::default_small, kCompressedChunk),
                kCompressedChunk);
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
    throw CorruptionError("corrupt bzip2 data in " + raw_.name() + " near compressed byte " +
                          std::to_string(raw_.bytes_read()) + ": " + what);
  }

  RawInput raw_;
  bio::filtering_streambuf<bio::input> chain_;
  bool eof_ = false;
};

}  // namespace

std::unique_ptr<InputStream> OpenPlainInputAt(const std::string& path, uint64_t offset,
                                              FileSystem& fs) {
  return std::make_unique<PlainInput>(path, offset, fs);
}

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
      return std::make_unique<GzipInput>(path, fs);
    case Compression::kBzip2:
      return std::make_unique<Bzip2Input>(path, fs);
  }
  CF_CHECK(false, "unknown compression " + std::to_string(static_cast<int>(compression)));
}

}  // namespace corpusflow
