// Schemas: the named, typed fields a stage reads and writes. The planner threads a Schema through
// the operators before any I/O, so "tokenize needs `tgt` but upstream only produces `text`" is a
// plan-time usage error. Plain values; no synchronisation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

enum class FieldType { kString, kStringList, kInt32List };

/// "string", "string-list" or "int32-list".
std::string_view FieldTypeName(FieldType type);

/// A field of a record and its metadata.
struct Field {
  std::string name;
  FieldType type = FieldType::kString;
  /// For id fields: the vocabulary size of the tokenizer that produced them (0 if unknown).
  int64_t vocab_size = 0;

  bool operator==(const Field&) const = default;
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  const Field* Find(std::string_view name) const;
  /// Return the field or throw InvalidArgument naming the operator `who`, e.g.
  /// "tokenize needs field 'tgt' (string) but upstream only produces 'text' (string)".
  const Field& Require(std::string_view name, FieldType type, std::string_view who) const;
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
