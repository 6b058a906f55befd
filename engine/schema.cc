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
  }
  return "?";
}

const Field* Schema::Find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const Field& Schema::Require(std::string_view name, FieldType type, std::string_view who) const {
  const Field* f = Find(name);
  const std::string wanted =
      "'" + std::string(name) + "' (" + std::string(FieldTypeName(type)) + ")";
  if (f == nullptr) {
    throw InvalidArgument(
        std::string(who) + " needs field " + wanted + " but upstream " +
        (fields_.empty() ? std::string("produces no fields") : "only produces " + ToString()));
  }
  if (f->type != type) {
    throw InvalidArgument(std::string(who) + " needs field " + wanted + " but upstream '" +
                          f->name + "' is " + std::string(FieldTypeName(f->type)));
  }
  return *f;
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
