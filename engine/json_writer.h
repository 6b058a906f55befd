// The one JSON writer of corpusflow: `write`'s JSONL records and the `--stats-json` document
// (and any later JSON output) are produced by it, so escaping and number formats are written
// once. A JsonWriter appends to a caller-owned std::string; it inserts the commas between members
// and elements itself, and the caller chooses the layout: compact (`{"a":1,"b":[2,3]}`, JSONL)
// or spaced (`{"a": 1, "b": [2, 3]}`), plus explicit line breaks (Break) where a document wants
// them. The writer does not check the document's shape (a key outside an object, an unclosed
// array); its callers are a handful of fixed layouts.
//
// Strings: '"', '\\' and the control characters U+0000..U+001F are escaped (\b \f \n \r \t by
// name, the others as \u00XX); every other byte is copied as it is, so a string that is valid
// UTF-8 gives valid JSON (the caller repairs or rejects invalid UTF-8 first; `write` does).
// Numbers: integers exactly, in decimal (never in exponent notation); doubles with 6
// significant digits (printf's %.6g), except that a double holding an integer of magnitude
// below 2^53 is written exactly as that integer; non-finite doubles are null. Decimal writes a
// double in plain decimal notation (never an exponent), for documents whose readers expect it.
//
// Thread safety: a JsonWriter belongs to one thread. The free functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corpusflow {

/// A member name quoted once, for a key written many times (the columns of JSONL records).
class JsonKey {
 public:
  explicit JsonKey(std::string_view name);
  /// The quoted, escaped name.
  const std::string& quoted() const { return quoted_; }

 private:
  std::string quoted_;
};

class JsonWriter {
 public:
  enum class Style {
    /// No spaces: `{"a":1,"b":[2,3]}` (JSONL).
    kCompact,
    /// A space after each ':' and ',': `{"a": 1, "b": [2, 3]}`.
    kSpaced,
  };

  /// Append to `out` (which is not cleared). REQUIRES: `out` outlives the writer.
  explicit JsonWriter(std::string* out, Style style = Style::kCompact)
      : out_(out), spaced_(style == Style::kSpaced) {}

  /// Open an object (as a value: after Key, in an array or at the top).
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  /// Open an array.
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  /// Write a member name and the ':' after it; the member's value comes next.
  void Key(std::string_view name);
  void Key(const JsonKey& key);
  /// Write a string value.
  void String(std::string_view value);
  /// Write an integer value exactly.
  void Int(int64_t value);
  void Uint(uint64_t value);
  /// Write a double value (6 significant digits; integers below 2^53 exactly; null if not
  /// finite).
  void Double(double value);
  /// Write a double in decimal notation with at most 6 digits after the point, trailing zeros
  /// dropped (0.000001, 2.5, 268435456); null if not finite. Never an exponent.
  void Decimal(double value);
  void Bool(bool value);
  void Null();
  /// Write members given as JSON text, `"a":1,"b":[2]` (an object's text without its braces),
  /// inside the open object, as they are. Nothing when `members` is empty.
  void RawMembers(std::string_view members) {
    if (members.empty()) return;
    BeforeItem();
    out_->append(members);
  }

  /// Put `whitespace` (e.g. "\n  ") before the next member, element or closing bracket,
  /// instead of the style's separator space. For documents laid out over several lines.
  void Break(std::string_view whitespace) { break_.assign(whitespace); }

 private:
  /// Separator before a value or key: ',' after an earlier item of the same container, then
  /// the pending Break or the style's space.
  void BeforeItem() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (need_comma_) out_->push_back(',');
    if (!break_.empty()) {
      out_->append(break_);
      break_.clear();
    } else if (need_comma_ && spaced_) {
      out_->push_back(' ');
    }
    need_comma_ = true;
  }
  void Open(char bracket) {
    BeforeItem();
    out_->push_back(bracket);
    need_comma_ = false;
  }
  void Close(char bracket) {
    if (!break_.empty()) {
      out_->append(break_);
      break_.clear();
    }
    out_->push_back(bracket);
    need_comma_ = true;
  }

  std::string* out_;
  bool spaced_;
  /// An item was written in the current container, so the next one needs a comma.
  bool need_comma_ = false;
  /// A key was just written: its value follows without a separator.
  bool after_key_ = false;
  std::string break_;
};

/// Append `s` to `out` as a quoted JSON string (escaped as JsonWriter::String does).
void AppendJsonString(std::string_view s, std::string* out);
/// Append a double as JsonWriter::Double does.
void AppendJsonDouble(double v, std::string* out);

/// Append a double as JsonWriter::Decimal does.
void AppendJsonDecimal(double v, std::string* out);

/// `s` as a quoted JSON string.
std::string JsonQuote(std::string_view s);
/// `v` as a JSON number, as JsonWriter::Double writes it.
std::string JsonNumber(double v);

}  // namespace corpusflow
