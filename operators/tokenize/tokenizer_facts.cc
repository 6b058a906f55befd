#include "operators/tokenize/tokenizer_facts.h"

#include <limits>
#include <vector>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/io/paths.h"
#include "operators/text/text_file.h"

namespace corpusflow {
namespace {

// Protobuf wire types and the fields of sentencepiece_model.proto read here.
constexpr uint64_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;
constexpr uint64_t kModelPieces = 1, kModelTrainerSpec = 2;
constexpr uint64_t kPiecePiece = 1, kPieceType = 3;
constexpr uint64_t kTrainerEosPiece = 47;
constexpr uint64_t kPieceTypeNormal = 1, kPieceTypeControl = 3;

/// A cursor over the fields of one protobuf message.
class WireFields {
 public:
  WireFields(std::string_view message, const std::string& name)
      : p_(message.data()), end_(message.data() + message.size()), name_(name) {}

  /// Read the next field: its number, wire type and, for varints, value; for length-delimited
  /// fields, the bytes. False at the end of the message.
  bool Next(uint64_t* number, uint64_t* wire_type, uint64_t* value, std::string_view* bytes) {
    if (p_ == end_) return false;
    uint64_t tag = 0;
    p_ = Varint(&tag);
    *number = tag >> 3;
    *wire_type = tag & 7;
    if (*number == 0) Fail();
    switch (*wire_type) {
      case kVarint:
        p_ = Varint(value);
        break;
      case kFixed64:
        Skip(8);
        break;
      case kFixed32:
        Skip(4);
        break;
      case kLengthDelimited: {
        uint64_t length = 0;
        p_ = Varint(&length);
        if (length > static_cast<uint64_t>(end_ - p_)) Fail();
        *bytes = std::string_view(p_, static_cast<size_t>(length));
        p_ += length;
        break;
      }
      default:  // groups: not used by the model format
        Fail();
    }
    return true;
  }

 private:
  const char* Varint(uint64_t* v) {
    const char* next = GetVarint64Ptr(p_, end_, v);
    if (next == nullptr) Fail();
    return next;
  }
  void Skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) Fail();
    p_ += n;
  }
  [[noreturn]] void Fail() const {
    throw DataError(name_ + ": not a SentencePiece model (malformed protobuf)");
  }

  const char* p_;
  const char* end_;
  const std::string& name_;
};

}  // namespace

TokenizerFacts ReadVocabularyFacts(const std::string& path) {
  const std::string text = ReadWholeFile(path);
  TextLines lines(text);
  std::string_view line;
  TokenizerFacts facts;
  int64_t count = 0;
  while (lines.Next(&line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (count <= std::numeric_limits<int32_t>::max()) {
      const auto id = static_cast<int32_t>(count);
      if (line == "[CLS]" && !facts.start_id) facts.start_id = id;
      if (line == "[SEP]" && !facts.end_id) facts.end_id = id;
    }
    ++count;
  }
  if (count == 0) throw DataError(path + ": empty vocabulary");
  facts.vocab_size = count;
  return facts;
}

TokenizerFacts ParseSentencePieceFacts(std::string_view model, const std::string& name,
                                       int32_t id_offset) {
  struct Piece {
    std::string_view text;
    uint64_t type = kPieceTypeNormal;
  };
  std::vector<Piece> pieces;
  std::string_view eos_piece = "</s>";
  uint64_t number = 0, wire_type = 0, value = 0;
  std::string_view bytes;
  WireFields fields(model, name);
  while (fields.Next(&number, &wire_type, &value, &bytes)) {
    if (number == kModelPieces && wire_type == kLengthDelimited) {
      Piece piece;
      WireFields piece_fields(bytes, name);
      std::string_view piece_bytes;
      while (piece_fields.Next(&number, &wire_type, &value, &piece_bytes)) {
        if (number == kPiecePiece && wire_type == kLengthDelimited) piece.text = piece_bytes;
        if (number == kPieceType && wire_type == kVarint) piece.type = value;
      }
      pieces.push_back(piece);
    } else if (number == kModelTrainerSpec && wire_type == kLengthDelimited) {
      WireFields spec(bytes, name);
      std::string_view spec_bytes;
      while (spec.Next(&number, &wire_type, &value, &spec_bytes)) {
        if (number == kTrainerEosPiece && wire_type == kLengthDelimited) eos_piece = spec_bytes;
      }
    }
  }
  if (pieces.empty()) throw DataError(name + ": not a SentencePiece model (no pieces)");
  TokenizerFacts facts;
  facts.vocab_size = static_cast<int64_t>(pieces.size()) + id_offset;
  for (size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].text != eos_piece) continue;
    if (pieces[id].type == kPieceTypeControl) {
      const auto eos = static_cast<int32_t>(id);
      facts.end_id = eos > 1 ? eos + id_offset : eos;
    }
    break;
  }
  return facts;
}

TokenizerFacts ReadSentencePieceFacts(const std::string& path, int32_t id_offset) {
  CheckInputReadable(path);
  return ParseSentencePieceFacts(ReadWholeFile(path), path, id_offset);
}

}  // namespace corpusflow
