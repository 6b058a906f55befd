#include "engine/io/spill_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <xxhash.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/random.h"

namespace corpusflow {
namespace {

std::string Where(const std::string& file, uint64_t offset) {
  return "spill file " + file + ": block at offset " + std::to_string(offset);
}

/// Seed of the block checksum: the payload's hash, seeded with the sizes.
uint64_t PayloadChecksum(uint32_t raw_size, uint32_t stored_size, std::string_view payload) {
  const uint64_t seed = (static_cast<uint64_t>(raw_size) << 32) | stored_size;
  return XXH3_64bits_withSeed(payload.data(), payload.size(), seed);
}

void EncodeIdentity(char* header, const SpillBlockId& id) {
  char* p = header + kSpillBlockIdentityOffset;
  EncodeFixed64(p, id.run);
  EncodeFixed64(p + 8, id.stream);
  EncodeFixed32(p + 16, id.file);
  EncodeFixed32(p + 20, id.sequence);
}

/// The block checksum from the payload's and the identity bytes of `header`.
uint64_t SealChecksum(uint64_t payload_checksum, const char* header) {
  return XXH3_64bits_withSeed(header + kSpillBlockIdentityOffset,
                              kSpillBlockHeaderBytes - kSpillBlockIdentityOffset, payload_checksum);
}

std::string Describe(const SpillBlockId& id) {
  char run[17];
  std::snprintf(run, sizeof run, "%016llx", static_cast<unsigned long long>(id.run));
  return "block " + std::to_string(id.sequence) + " of stream " + std::to_string(id.stream) +
         " (file " + std::to_string(id.file) + " of run " + run + ")";
}

}  // namespace

uint64_t NewSpillRunId() { return RandomSeed(); }

SpillCompression ParseSpillCompression(std::string_view name) {
  if (name == "zstd") return SpillCompression::kZstd;
  if (name == "none") return SpillCompression::kNone;
  if (name == "auto") return SpillCompression::kAuto;
  throw InvalidArgument("invalid spill compression '" + std::string(name) +
                        "' (expected auto, zstd or none)");
}

uint64_t SpillBlockChecksum(uint32_t raw_size, uint32_t stored_size, const SpillBlockId& id,
                            std::string_view payload) {
  char header[kSpillBlockHeaderBytes];
  EncodeIdentity(header, id);
  return SealChecksum(PayloadChecksum(raw_size, stored_size, payload), header);
}

SpillBlockEncoder::SpillBlockEncoder(SpillOptions options) : options_(options) {
  if (options_.compression != SpillCompression::kNone) {
    const int min_level = ZSTD_minCLevel();
    const int max_level = ZSTD_maxCLevel();
    if (options_.level < min_level || options_.level > max_level) {
      throw InvalidArgument("spill compression level " + std::to_string(options_.level) +
                            " is outside zstd's range " + std::to_string(min_level) + ".." +
                            std::to_string(max_level));
    }
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) throw std::bad_alloc();
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, options_.level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);
  }
}

SpillBlockEncoder::~SpillBlockEncoder() { ZSTD_freeCCtx(cctx_); }

SpillBlock SpillBlockEncoder::Encode(std::string_view raw) {
  if (raw.size() > kMaxSpillBlockRawBytes) {
    throw InvalidArgument("a spill block of " + std::to_string(raw.size()) +
                          " bytes is larger than the limit of 4 GiB (one record that large "
                          "cannot be spilled)");
  }
  SpillBlock block;
  block.payload = raw;
  if (cctx_ != nullptr && !raw.empty()) {
    const size_t bound = ZSTD_compressBound(raw.size());
    if (compressed_.size() < bound) compressed_.resize(bound);
    const size_t n = ZSTD_compress2(cctx_, compressed_.data(), bound, raw.data(), raw.size());
    if (ZSTD_isError(n)) {
      throw Error(std::string("zstd compression of a spill block failed: ") + ZSTD_getErrorName(n));
    }
    // Keep the compressed form only when it is smaller: stored < raw then means "zstd".
    if (n < raw.size()) block.payload = std::string_view(compressed_.data(), n);
  }
  const auto raw_size = static_cast<uint32_t>(raw.size());
  const auto stored_size = static_cast<uint32_t>(block.payload.size());
  EncodeFixed32(block.header, kSpillBlockMagic);
  EncodeFixed32(block.header + 4, raw_size);
  EncodeFixed32(block.header + 8, stored_size);
  // The checksum and the identity are written by SpillFile::Append.
  std::memset(block.header + 12, 0, kSpillBlockHeaderBytes - 12);
  block.payload_checksum = PayloadChecksum(raw_size, stored_size, block.payload);
  return block;
}

SpillBlockDecoder::SpillBlockDecoder() = default;

SpillBlockDecoder::~SpillBlockDecoder() { ZSTD_freeDCtx(dctx_); }

SpillBlockHeader SpillBlockDecoder::ParseHeader(const char* header, const std::string& file,
                                                uint64_t offset) {
  if (DecodeFixed32(header) != kSpillBlockMagic) {
    throw CorruptionError(Where(file, offset) + ": bad magic (not a spill block header)");
  }
  SpillBlockHeader h;
  h.raw_size = DecodeFixed32(header + 4);
  h.stored_size = DecodeFixed32(header + 8);
  h.checksum = DecodeFixed64(header + 12);
  const char* id = header + kSpillBlockIdentityOffset;
  h.id.run = DecodeFixed64(id);
  h.id.stream = DecodeFixed64(id + 8);
  h.id.file = DecodeFixed32(id + 16);
  h.id.sequence = DecodeFixed32(id + 20);
  if (h.stored_size > h.raw_size) {
    throw CorruptionError(Where(file, offset) + ": stored size " + std::to_string(h.stored_size) +
                          " exceeds raw size " + std::to_string(h.raw_size));
  }
  return h;
}

void SpillBlockDecoder::Decode(std::string_view frame, char* dst, const std::string& file,
                               uint64_t offset) {
  if (frame.size() < kSpillBlockHeaderBytes) {
    throw CorruptionError(Where(file, offset) + ": truncated header");
  }
  const SpillBlockHeader h = ParseHeader(frame.data(), file, offset);
  if (frame.size() != h.frame_size()) {
    throw CorruptionError(Where(file, offset) + ": truncated payload (" +
                          std::to_string(frame.size() - kSpillBlockHeaderBytes) + " of " +
                          std::to_string(h.stored_size) + " bytes)");
  }
  const std::string_view payload = frame.substr(kSpillBlockHeaderBytes);
  if (SealChecksum(PayloadChecksum(h.raw_size, h.stored_size, payload), frame.data()) !=
      h.checksum) {
    throw CorruptionError(Where(file, offset) +
                          ": checksum mismatch (the data on disk is corrupt)");
  }
  if (h.stored_size == h.raw_size) {
    if (!payload.empty()) std::memcpy(dst, payload.data(), payload.size());
    return;
  }
  if (dctx_ == nullptr) {
    dctx_ = ZSTD_createDCtx();
    if (dctx_ == nullptr) throw std::bad_alloc();
  }
  const size_t n = ZSTD_decompressDCtx(dctx_, dst, h.raw_size, payload.data(), payload.size());
  if (ZSTD_isError(n)) {
    throw CorruptionError(Where(file, offset) + ": corrupt zstd data: " + ZSTD_getErrorName(n));
  }
  if (n != h.raw_size) {
    throw CorruptionError(Where(file, offset) + ": zstd data decodes to " + std::to_string(n) +
                          " bytes, header says " + std::to_string(h.raw_size));
  }
}

SpillFile::SpillFile(std::filesystem::path path, FileSystem& fs, uint64_t run, uint32_t number)
    : path_(std::move(path)), name_(path_.string()), fs_(fs), run_(run), number_(number) {
  std::optional<File> file = fs_.CreateExclusive(name_, 0600);
  if (!file) ThrowIoError("cannot create spill file", name_, EEXIST);
  file_ = std::move(*file);
  file_.set_name("spill file " + name_);
}

SpillFile::~SpillFile() {
  file_ = File();
  fs_.Unlink(name_);
}

SpillBlockHandle SpillFile::Append(const SpillBlock& block, uint64_t stream, uint32_t sequence) {
  SpillBlockHandle handle;
  handle.raw_size = DecodeFixed32(block.header + 4);
  handle.stored_size = static_cast<uint32_t>(block.payload.size());
  handle.stream = stream;
  handle.sequence = sequence;
  char header[kSpillBlockHeaderBytes];
  std::memcpy(header, block.header, kSpillBlockIdentityOffset);
  EncodeIdentity(header, SpillBlockId{run_, stream, number_, sequence});
  EncodeFixed64(header + 12, SealChecksum(block.payload_checksum, header));
  handle.offset = end_.fetch_add(block.size(), std::memory_order_acq_rel);
  file_.PWrite(handle.offset, std::string_view(header, kSpillBlockHeaderBytes));
  file_.PWrite(handle.offset + kSpillBlockHeaderBytes, block.payload);
  return handle;
}

void SpillFile::ReadExact(char* dst, size_t n, uint64_t offset) const {
  const size_t got = file_.PRead(offset, dst, n);
  if (got < n) {
    throw CorruptionError(Where(name_, offset) + ": the file ends at offset " +
                          std::to_string(offset + got) + " inside the block (truncated)");
  }
}

void SpillFile::CheckIdentity(const SpillBlockHeader& found, const SpillBlockHandle& handle) const {
  const SpillBlockId expected{run_, handle.stream, number_, handle.sequence};
  if (found.id != expected) {
    throw CorruptionError(Where(name_, handle.offset) + ": it holds " + Describe(found.id) +
                          ", not " + Describe(expected) +
                          " (a block copied over another, or left by another run)");
  }
}

void SpillFile::CheckSizes(const SpillBlockHeader& found, const SpillBlockHandle& handle) const {
  if (found.raw_size != handle.raw_size || found.stored_size != handle.stored_size) {
    // Another block's header (its identity says whose), or a damaged one.
    CheckIdentity(found, handle);
    throw CorruptionError(Where(name_, handle.offset) + ": header sizes " +
                          std::to_string(found.raw_size) + "/" + std::to_string(found.stored_size) +
                          " differ from the ones written (" + std::to_string(handle.raw_size) +
                          "/" + std::to_string(handle.stored_size) + ")");
  }
}

void SpillFile::Read(const SpillBlockHandle& handle, char* dst, SpillBlockDecoder& decoder) const {
  if (handle.stored_size == handle.raw_size) {
    // Stored raw: read the payload straight into place and verify it there.
    char header[kSpillBlockHeaderBytes];
    ReadExact(header, sizeof header, handle.offset);
    const SpillBlockHeader found = SpillBlockDecoder::ParseHeader(header, name_, handle.offset);
    CheckSizes(found, handle);
    ReadExact(dst, handle.raw_size, handle.offset + kSpillBlockHeaderBytes);
    if (SealChecksum(PayloadChecksum(handle.raw_size, handle.stored_size,
                                     std::string_view(dst, handle.raw_size)),
                     header) != found.checksum) {
      throw CorruptionError(Where(name_, handle.offset) +
                            ": checksum mismatch (the data on disk is corrupt)");
    }
    CheckIdentity(found, handle);
    return;
  }
  std::string& frame = decoder.scratch();
  if (frame.size() < handle.frame_size()) frame.resize(handle.frame_size());
  ReadExact(frame.data(), handle.frame_size(), handle.offset);
  const SpillBlockHeader found = SpillBlockDecoder::ParseHeader(frame.data(), name_, handle.offset);
  CheckSizes(found, handle);
  decoder.Decode(std::string_view(frame.data(), handle.frame_size()), dst, name_, handle.offset);
  CheckIdentity(found, handle);
}

SpillBlockHandle SpillFile::ReadAt(uint64_t offset, std::string* out,
                                   SpillBlockDecoder& decoder) const {
  const uint64_t file_end = size();
  if (offset + kSpillBlockHeaderBytes > file_end) {
    throw CorruptionError(Where(name_, offset) + ": truncated header");
  }
  char header[kSpillBlockHeaderBytes];
  ReadExact(header, sizeof header, offset);
  const SpillBlockHeader found = SpillBlockDecoder::ParseHeader(header, name_, offset);
  SpillBlockHandle handle;
  handle.offset = offset;
  handle.raw_size = found.raw_size;
  handle.stored_size = found.stored_size;
  // Any stream and sequence, but this file's run and number (checked by Read).
  handle.stream = found.id.stream;
  handle.sequence = found.id.sequence;
  if (offset + handle.frame_size() > file_end) {
    throw CorruptionError(Where(name_, offset) + ": the payload runs past the end of the file");
  }
  const size_t old = out->size();
  out->resize(old + handle.raw_size);
  Read(handle, out->data() + old, decoder);
  return handle;
}

void SpillFile::Release(const SpillBlockHandle& handle) {
  // Best effort: filesystems without hole punching keep the space until the file is removed.
  (void)::fallocate(file_.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(handle.offset), static_cast<off_t>(handle.frame_size()));
}

}  // namespace corpusflow
