// Byte encodings shared by every format corpusflow writes (spill blocks, record encodings,
// vocabulary runs): fixed-width little-endian integers and unsigned LEB128 varints, in the spirit
// of LevelDB's util/coding.h.
//   Encode* / Decode*  work on raw memory; the caller guarantees the room (EncodeFixed32 writes
//                      4 bytes, EncodeVarint64 at most kMaxVarint64Bytes).
//   Put* / Get*        append to a std::string / consume from the front of a std::string_view;
//                      Get* check bounds and return false (input unchanged) on truncated or
//                      malformed bytes.
// A varint is 1 to 10 bytes, 7 bits each, least significant group first, the high bit set on
// every byte but the last. Decoders reject a varint longer than 10 bytes or whose 10th byte
// carries bits beyond 64, so every accepted encoding names one 64-bit value.
// Pure functions: safe from any thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace corpusflow {

/// The longest varint of a 64-bit value.
inline constexpr size_t kMaxVarint64Bytes = 10;

/// Write `v` as 4 little-endian bytes at `dst`.
inline void EncodeFixed32(char* dst, uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, &v, sizeof v);
  } else {
    for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
  }
}

/// Write `v` as 8 little-endian bytes at `dst`.
inline void EncodeFixed64(char* dst, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, &v, sizeof v);
  } else {
    for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
  }
}

/// Read 4 little-endian bytes at `p`.
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int i = 0; i < 4; ++i) {
      v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
  }
  return v;
}

/// Read 8 little-endian bytes at `p`.
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
  }
  return v;
}

/// Read a little-endian integer of type T (8 to 64 bits, signed or unsigned) at `p`: the
/// element types of formats such as Megatron's `.bin`.
template <typename T>
inline T DecodeFixed(const char* p) {
  static_assert(std::is_integral_v<T> && sizeof(T) <= 8);
  if constexpr (std::endian::native == std::endian::little) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  } else {
    std::make_unsigned_t<T> v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return static_cast<T>(v);
  }
}

/// Write `n` 32-bit integers little-endian at `dst` (4 * n bytes); returns the byte after them.
inline char* EncodeFixed32Array(char* dst, const int32_t* values, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(dst, values, n * sizeof(int32_t));
    return dst + n * sizeof(int32_t);
  } else {
    for (size_t i = 0; i < n; ++i, dst += 4) EncodeFixed32(dst, static_cast<uint32_t>(values[i]));
    return dst;
  }
}

/// Read `n` little-endian 32-bit integers at `p` (4 * n bytes) into `out`.
inline void DecodeFixed32Array(const char* p, size_t n, int32_t* out) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(out, p, n * sizeof(int32_t));
  } else {
    for (size_t i = 0; i < n; ++i, p += 4) out[i] = static_cast<int32_t>(DecodeFixed32(p));
  }
}

/// Append `v` as 4 little-endian bytes.
inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, sizeof buf);
}

/// Append `v` as 8 little-endian bytes.
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, sizeof buf);
}

/// Consume 4 little-endian bytes from the front of `input`; false when fewer remain.
inline bool GetFixed32(std::string_view* input, uint32_t* v) {
  if (input->size() < 4) return false;
  *v = DecodeFixed32(input->data());
  input->remove_prefix(4);
  return true;
}

/// Consume 8 little-endian bytes from the front of `input`; false when fewer remain.
inline bool GetFixed64(std::string_view* input, uint64_t* v) {
  if (input->size() < 8) return false;
  *v = DecodeFixed64(input->data());
  input->remove_prefix(8);
  return true;
}

/// Bytes of the varint of `v` (1 to 10).
inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Write `v` as a varint at `dst` (VarintLength(v) bytes); returns the byte after it.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}

/// Append `v` as a varint.
inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[kMaxVarint64Bytes];
  dst->append(buf, static_cast<size_t>(EncodeVarint64(buf, v) - buf));
}

/// Read a varint from [p, limit); returns the byte after it, or nullptr when it is truncated,
/// longer than 10 bytes or larger than 64 bits.
inline const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    if (shift == 63 && byte > 1) return nullptr;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

/// Consume a varint from the front of `input`; false (input unchanged) when it is malformed.
inline bool GetVarint64(std::string_view* input, uint64_t* v) {
  const char* begin = input->data();
  const char* end = begin + input->size();
  const char* after = GetVarint64Ptr(begin, end, v);
  if (after == nullptr) return false;
  input->remove_prefix(static_cast<size_t>(after - begin));
  return true;
}

/// Append `value` as varint(length) followed by its bytes.
inline void PutLengthPrefixed(std::string* dst, std::string_view value) {
  PutVarint64(dst, value.size());
  dst->append(value);
}

/// Consume a varint(length)-prefixed string from the front of `input` (a view into it); false
/// (input unchanged) when the length is malformed or runs past the end.
inline bool GetLengthPrefixed(std::string_view* input, std::string_view* value) {
  std::string_view rest = *input;
  uint64_t length = 0;
  if (!GetVarint64(&rest, &length) || length > rest.size()) return false;
  *value = rest.substr(0, static_cast<size_t>(length));
  rest.remove_prefix(static_cast<size_t>(length));
  *input = rest;
  return true;
}

}  // namespace corpusflow
