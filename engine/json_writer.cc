#include "engine/json_writer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace corpusflow {
namespace {

/// Bytes that JSON strings cannot hold as they are: control characters, '"' and '\\'.
constexpr std::array<bool, 256> MakeJsonEscapeTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}
constexpr std::array<bool, 256> kJsonEscape = MakeJsonEscapeTable();

/// 2^53: every integer of smaller magnitude is exact in a double.
constexpr double kExactIntegerLimit = 9007199254740992.0;

template <typename T>
void AppendInteger(T v, std::string* out) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, v);
  out->append(digits, r.ptr);
}

}  // namespace

JsonKey::JsonKey(std::string_view name) { AppendJsonString(name, &quoted_); }

void JsonWriter::Key(std::string_view name) {
  BeforeItem();
  AppendJsonString(name, out_);
  out_->push_back(':');
  if (spaced_) out_->push_back(' ');
  after_key_ = true;
}

void JsonWriter::Key(const JsonKey& key) {
  BeforeItem();
  out_->append(key.quoted());
  out_->push_back(':');
  if (spaced_) out_->push_back(' ');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeItem();
  AppendJsonString(value, out_);
}

void JsonWriter::Int(int64_t value) {
  BeforeItem();
  AppendInteger(value, out_);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeItem();
  AppendInteger(value, out_);
}

void JsonWriter::Double(double value) {
  BeforeItem();
  AppendJsonDouble(value, out_);
}

void JsonWriter::Decimal(double value) {
  BeforeItem();
  AppendJsonDecimal(value, out_);
}

void JsonWriter::Bool(bool value) {
  BeforeItem();
  out_->append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeItem();
  out_->append("null");
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Eight bytes at a time: a word without control characters, '"' or '\\' is copied as it is
  // (the exact SWAR tests for "some byte is zero" and "some byte is below n").
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto needs_escape = [](uint64_t w) {
    const uint64_t below_space = (w - kOnes * 0x20) & ~w;
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    const uint64_t has_quote = (quote - kOnes) & ~quote;
    const uint64_t has_backslash = (backslash - kOnes) & ~backslash;
    return ((below_space | has_quote | has_backslash) & kHigh) != 0;
  };
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t run = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (!needs_escape(word)) {
        i += 8;
        continue;
      }
    }
    const size_t end = std::min(i + 8, s.size());
    for (; i < end; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (!kJsonEscape[c]) continue;
      out->append(s.data() + run, i - run);
      run = i + 1;
      out->push_back('\\');
      switch (c) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '\b':
          out->push_back('b');
          break;
        case '\f':
          out->push_back('f');
          break;
        case '\n':
          out->push_back('n');
          break;
        case '\r':
          out->push_back('r');
          break;
        case '\t':
          out->push_back('t');
          break;
        default:
          out->append("u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonDouble(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  // %.6g already writes integers below 10^6 exactly; larger ones would get an exponent.
  const double magnitude = std::fabs(v);
  if (magnitude >= 1e6 && magnitude < kExactIntegerLimit && v == std::trunc(v)) {
    AppendInteger(static_cast<int64_t>(v), out);
    return;
  }
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%.6g", v);
  out->append(buf, static_cast<size_t>(n));
}

void AppendJsonDecimal(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  if (std::fabs(v) < kExactIntegerLimit && v == std::trunc(v)) {
    AppendInteger(static_cast<int64_t>(v), out);
    return;
  }
  // %f never writes an exponent; the zeros after the last significant digit go.
  char buf[400];
  const int n = std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string_view text(buf, static_cast<size_t>(n));
  while (text.back() == '0') text.remove_suffix(1);
  if (text.back() == '.') text.remove_suffix(1);
  if (text == "-0") text = "0";
  out->append(text);
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string JsonNumber(double v) {
  std::string out;
  AppendJsonDouble(v, &out);
  return out;
}

}  // namespace corpusflow
