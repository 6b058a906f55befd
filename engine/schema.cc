#include "engine/schema.h"

#include <algorithm>

#include "engine/error.h"

namespace corpusflow {

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kStringList:
      return "string-list";
    case FieldType::kInt32List:
      return "int32-list";
    case FieldType::kJsonMembers:
      return "json-members";
    case FieldType::kInt32ListList:
      return "int32-list-list";
  }
  return "?";
}

const Field* Schema::Find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

namespace {

[[noreturn]] void ThrowMissing(const Schema& schema, std::string_view name, std::string_view wanted,
                               std::string_view who) {
  throw MissingFieldError(std::string(who) + " needs field " + std::string(wanted) +
                              " but upstream " +
                              (schema.empty() ? std::string("produces no fields")
                                              : "only produces " + schema.ToString()),
                          std::string(name));
}

}  // namespace

const Field& Schema::Require(std::string_view name, FieldType type, std::string_view who) const {
  const Field* f = Find(name);
  const std::string wanted =
      "'" + std::string(name) + "' (" + std::string(FieldTypeName(type)) + ")";
  if (f == nullptr) ThrowMissing(*this, name, wanted, who);
  if (f->type != type) {
    throw InvalidArgument(std::string(who) + " needs field " + wanted + " but upstream '" +
                          f->name + "' is " + std::string(FieldTypeName(f->type)));
  }
  return *f;
}

const Field& Schema::Require(std::string_view name, std::string_view who) const {
  const Field* f = Find(name);
  if (f == nullptr) ThrowMissing(*this, name, "'" + std::string(name) + "'", who);
  return *f;
}

std::vector<std::string> Schema::Names() const {
  std::vector<std::string> names;
  names.reserve(fields_.size());
  for (const Field& f : fields_) names.push_back(f.name);
  return names;
}

void Schema::Set(Field field) {
  for (Field& f : fields_) {
    if (f.name == field.name) {
      f = std::move(field);
      return;
    }
  }
  fields_.push_back(std::move(field));
}

void Schema::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return f.name == name; });
}

std::string Schema::ToString() const {
  std::string out;
  for (const Field& f : fields_) {
    if (!out.empty()) out += ", ";
    out += f.name + ":" + std::string(FieldTypeName(f.type));
    if (f.vocab_size > 0) out += "[vocab " + std::to_string(f.vocab_size) + "]";
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace corpusflow
