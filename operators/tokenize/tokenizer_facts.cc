#include "operators/tokenize/tokenizer_facts.h"

#include <functional>
#include <limits>
#include <optional>
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
/// PEGASUS' id offset, named in the hints of errors.
constexpr int32_t kPegasusOffset = 103;

std::string_view PieceTypeName(uint64_t type) {
  switch (type) {
    case 1:
      return "normal";
    case 2:
      return "unknown";
    case 3:
      return "control";
    case 4:
      return "user-defined";
    case 5:
      return "unused";
    case 6:
      return "byte";
    default:
      return "of unknown type";
  }
}

/// BERT's placeholder lines, `[unused0]` .. `[unused993]`: free ids for special tokens.
bool IsUnusedPlaceholder(std::string_view token) {
  constexpr std::string_view kPrefix = "[unused";
  if (!token.starts_with(kPrefix) || !token.ends_with(']')) return false;
  const std::string_view digits = token.substr(kPrefix.size(), token.size() - kPrefix.size() - 1);
  return !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
}

/// Check every id of `special_tokens` against a vocabulary of `vocab_size` ids in which
/// `token_at(id)` is the token of an id, or nullopt for a free one. `hint` ends the message of
/// an id that is another token's.
void CheckSpecialTokens(const std::vector<SpecialToken>& special_tokens, int64_t vocab_size,
                        const std::string& name,
                        const std::function<std::optional<std::string_view>(int32_t)>& token_at,
                        const std::string& hint) {
  for (const SpecialToken& special : special_tokens) {
    const std::string entry =
        "special token '" + special.text + "=" + std::to_string(special.id) + "'";
    if (special.id >= vocab_size) {
      throw InvalidArgument(name + ": " + entry + " is outside its " + std::to_string(vocab_size) +
                            " ids");
    }
    const std::optional<std::string_view> token = token_at(special.id);
    if (!token || *token == special.text) continue;
    throw InvalidArgument(name + ": " + entry + ": id " + std::to_string(special.id) +
                          " is its token '" + std::string(*token) +
                          "', which would then stand for two things" + hint);
  }
}

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

TokenizerFacts ReadVocabularyFacts(const std::string& path,
                                   const std::vector<SpecialToken>& special_tokens) {
  const std::string text = ReadWholeFile(path);
  TextLines lines(text);
  std::string_view line;
  TokenizerFacts facts;
  int64_t count = 0;
  // The lines, kept only when special tokens are checked against them.
  std::vector<std::string_view> tokens;
  while (lines.Next(&line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (count <= std::numeric_limits<int32_t>::max()) {
      const auto id = static_cast<int32_t>(count);
      if (line == "[CLS]" && !facts.start_id) facts.start_id = id;
      if (line == "[SEP]" && !facts.end_id) facts.end_id = id;
    }
    if (!special_tokens.empty()) tokens.push_back(line);
    ++count;
  }
  if (count == 0) throw DataError(path + ": empty vocabulary");
  facts.vocab_size = count;
  CheckSpecialTokens(
      special_tokens, count, path,
      [&](int32_t id) -> std::optional<std::string_view> {
        const std::string_view token = tokens[static_cast<size_t>(id)];
        if (IsUnusedPlaceholder(token)) return std::nullopt;
        return token;
      },
      " (use its own id, or an [unusedN] line's)");
  return facts;
}

TokenizerFacts ParseSentencePieceFacts(std::string_view model, const std::string& name,
                                       int32_t id_offset,
                                       const std::vector<SpecialToken>& special_tokens) {
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
  std::optional<size_t> eos;
  for (size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].text != eos_piece) continue;
    if (pieces[id].type == kPieceTypeControl) {
      eos = id;
      const auto eos_id = static_cast<int32_t>(id);
      facts.end_id = eos_id > 1 ? eos_id + id_offset : eos_id;
    }
    break;
  }
  if (id_offset > 0) {
    // The offset keeps ids 0 and 1 as they are: PEGASUS reads them as pad and EOS
    // (sp_text_encoder.cc checks that both are control pieces). Anything else there turns every
    // <unk> or <s> into padding or EOS, and EOS into an ordinary shifted id.
    const bool pad_ok = pieces[0].type == kPieceTypeControl && eos != size_t{0};
    const bool eos_ok = eos == size_t{1};
    if (!pad_ok || !eos_ok) {
      auto describe = [&](size_t id) {
        if (id >= pieces.size()) return std::string("missing");
        return "'" + std::string(pieces[id].text) + "' (" +
               std::string(PieceTypeName(pieces[id].type)) + ")";
      };
      const std::string eos_at =
          eos ? "its EOS '" + std::string(eos_piece) + "' is piece " + std::to_string(*eos)
              : "it has no EOS control piece '" + std::string(eos_piece) + "'";
      throw InvalidArgument(
          name + ": --id-offset " + std::to_string(id_offset) +
          " keeps ids 0 and 1 for the model's pad and EOS, but its piece 0 is " + describe(0) +
          ", piece 1 is " + describe(1) + " and " + eos_at +
          ", so its ids cannot be right; train the model with PEGASUS's ids (spm_train "
          "--pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1) or leave out --id-offset");
    }
  }
  const auto offset = static_cast<int64_t>(id_offset);
  CheckSpecialTokens(
      special_tokens, facts.vocab_size, name,
      [&](int32_t id) -> std::optional<std::string_view> {
        int64_t piece = id;
        if (id > 1) {
          if (id < 2 + offset) return std::nullopt;
          piece = id - offset;
        }
        if (piece >= static_cast<int64_t>(pieces.size())) return std::nullopt;
        return pieces[static_cast<size_t>(piece)].text;
      },
      id_offset == 0 ? " (PEGASUS's layout needs --id-offset " + std::to_string(kPegasusOffset) +
                           ", which shifts the pieces from 2 up and leaves ids 2.." +
                           std::to_string(kPegasusOffset + 1) + " free)"
                     : std::string());
  return facts;
}

TokenizerFacts ReadSentencePieceFacts(const std::string& path, int32_t id_offset,
                                      const std::vector<SpecialToken>& special_tokens) {
  CheckInputReadable(path);
  return ParseSentencePieceFacts(ReadWholeFile(path), path, id_offset, special_tokens);
}

}  // namespace corpusflow
