// Schemas: the named, typed fields a stage reads and writes. The planner threads a Schema through
// the operators before any I/O, so "tokenize needs `tgt` but upstream only produces `text`" is a
// plan-time usage error (a MissingFieldError, to which the planner adds "did you mean" and the
// operators that produce the field). Plain values; no synchronisation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "engine/token_names.h"

namespace corpusflow {

/// kJsonMembers is the members of a JSON object that no other column holds, as the text of one
/// JSON object per record (`{"id":7,"tags":["a"]}`, each value byte for byte as read):
/// `read --all-fields` makes it, `write` puts its members back beside the other columns. Its
/// data is a StringColumn. kInt32ListList is a list of id lists per record: the sentences of a
/// document as `tokenize` makes them from a string-list field (one id list per sentence).
enum class FieldType { kString, kStringList, kInt32List, kJsonMembers, kInt32ListList };

/// "string", "string-list", "int32-list", "json-members" or "int32-list-list".
std::string_view FieldTypeName(FieldType type);

/// A field of a record and its metadata.
struct Field {
  std::string name;
  FieldType type = FieldType::kString;
  /// For id fields: the vocabulary size of the tokenizer that produced them (0 if unknown).
  int64_t vocab_size = 0;
  /// For id fields: the names of the ids (the tokenizer's vocabulary), so that options can name a
  /// token ('[SEP]') instead of its id; null when unknown (parse-ids). Planning metadata only:
  /// batch columns do not carry it, and it takes no part in comparisons.
  std::shared_ptr<const TokenNames> token_names = nullptr;

  /// Equal name, type and vocabulary size: the layout of the data (a batch's field equals the
  /// planned one).
  bool operator==(const Field& other) const {
    return name == other.name && type == other.type && vocab_size == other.vocab_size;
  }
};

/// A field an operator needs is not in its input schema. Schema::Require throws it; the planner
/// completes the message with the nearest known field names and the operators that add the
/// field (engine/plan.h).
class MissingFieldError : public InvalidArgument {
 public:
  MissingFieldError(const std::string& message, std::string field)
      : InvalidArgument(message), field_(std::move(field)) {}
  /// The name of the missing field.
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  const Field* Find(std::string_view name) const;
  /// Return the field or throw naming the operator `who`: MissingFieldError "tokenize needs field
  /// 'tgt' (string) but upstream only produces text:string" when there is none, InvalidArgument
  /// "... but upstream 'tgt' is int32-list" when it has another type.
  const Field& Require(std::string_view name, FieldType type, std::string_view who) const;
  /// Return the field of any type, or throw MissingFieldError "write needs field 'tgt' but
  /// upstream only produces text:string".
  const Field& Require(std::string_view name, std::string_view who) const;
  /// The names of the fields, in order.
  std::vector<std::string> Names() const;
  /// Add a field, or replace the one of the same name in place.
  void Set(Field field);
  void Remove(std::string_view name);
  /// "text:string, tokens:string-list".
  std::string ToString() const;

  bool operator==(const Schema&) const = default;

 private:
  std::vector<Field> fields_;
};

}  // namespace corpusflow
