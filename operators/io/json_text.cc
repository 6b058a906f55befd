#include "operators/io/json_text.h"

#include <cstring>

#include "engine/check.h"

namespace corpusflow {

namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipJsonSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsJsonSpace(s[i])) ++i;
  return i;
}

/// The end of the string that starts with the quote at `i`.
size_t SkipJsonString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

/// The end of the value that starts at `i`.
size_t SkipJsonValue(std::string_view s, size_t i) {
  if (i < s.size() && s[i] == '"') return SkipJsonString(s, i);
  if (i < s.size() && (s[i] == '{' || s[i] == '[')) {
    size_t depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = SkipJsonString(s, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !IsJsonSpace(s[i])) ++i;
  return i;
}

}  // namespace

void SplitJsonMembers(std::string_view json, std::vector<RawMember>* members) {
  members->clear();
  size_t i = SkipJsonSpace(json, 0);
  CF_CHECK(i < json.size() && json[i] == '{', "read: not a JSON object after parsing");
  i = SkipJsonSpace(json, i + 1);
  while (i < json.size() && json[i] != '}') {
    const size_t key_end = SkipJsonString(json, i);
    RawMember member{json.substr(i, key_end - i), {}};
    i = SkipJsonSpace(json, key_end);
    CF_CHECK(i < json.size() && json[i] == ':', "read: no ':' after a key of a parsed object");
    i = SkipJsonSpace(json, i + 1);
    const size_t value_end = SkipJsonValue(json, i);
    member.value = json.substr(i, value_end - i);
    members->push_back(member);
    i = SkipJsonSpace(json, value_end);
    if (i < json.size() && json[i] == ',') i = SkipJsonSpace(json, i + 1);
  }
}

size_t JsonNumberLength(std::string_view s) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return 0;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return 0;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return 0;
  }
  return i;
}

bool BlankJsonNumbers(char* json, size_t size) {
  bool changed = false;
  bool in_string = false;
  for (size_t i = 0; i < size; ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    const bool number_char =
        (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    if (!number_char) continue;
    // The token: every character that can continue a number (from its first one on, so that
    // `+1` or `.5` stay whole and invalid).
    size_t end = i;
    while (end < size &&
           ((json[end] >= '0' && json[end] <= '9') || json[end] == '-' || json[end] == '+' ||
            json[end] == '.' || json[end] == 'e' || json[end] == 'E')) {
      ++end;
    }
    if (JsonNumberLength(std::string_view(json + i, end - i)) == end - i) {
      json[i] = '0';
      std::memset(json + i + 1, ' ', end - i - 1);
      changed = true;
    }
    i = end - 1;
  }
  return changed;
}

}  // namespace corpusflow
