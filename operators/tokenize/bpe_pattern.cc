#include "operators/tokenize/bpe_pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "engine/error.h"

namespace corpusflow {
namespace {

// The pre-tokenizer regexes of the known encodings, as their references publish them: tiktoken's
// (the npm package's data files), and the Split pre-tokenizer of Llama 3's and Qwen2's
// tokenizer.json.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kCl100k =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// `\s` and `\S` with U+0085 added, so that they are Unicode's White_Space as in the references.
std::string WithWhiteSpaceClasses(std::string_view regex) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      const char e = regex[++i];
      if (e == 's') {
        out += in_class ? R"(\s\x{85})" : R"([\s\x{85}])";
      } else if (e == 'S' && !in_class) {
        out += R"([^\s\x{85}])";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' first in a class (after an optional '^') is a literal.
      if (i + 1 < regex.size() && regex[i + 1] == '^') out += regex[++i];
      if (i + 1 < regex.size() && regex[i + 1] == ']') out += regex[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < regex.size() && regex[i + 1] == ':') {
      // A POSIX class [:alpha:] inside a class.
      const size_t close = regex.find(":]", i + 2);
      if (close != std::string_view::npos) {
        out.append(regex.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

/// Each thread's match data, match context and JIT stack, shared by every pattern.
struct ThreadMatchState {
  ThreadMatchState()
      : data(pcre2_match_data_create(1, nullptr)),
        context(pcre2_match_context_create(nullptr)),
        stack(pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr)) {
    if (data == nullptr || context == nullptr || stack == nullptr) throw std::bad_alloc();
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  pcre2_match_data* data;
  pcre2_match_context* context;
  pcre2_jit_stack* stack;
};

}  // namespace

struct BpePattern::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

const char* BpePattern::Named(std::string_view name) {
  if (name == "gpt2" || name == "r50k" || name == "p50k") return kGpt2;
  if (name == "cl100k" || name == "llama3") return kCl100k;
  if (name == "o200k") return kO200k;
  if (name == "qwen2") return kQwen2;
  return nullptr;
}

BpePattern::BpePattern(std::string_view regex, bool names)
    : compiled_(std::make_unique<Compiled>()) {
  const char* named = names ? Named(regex) : nullptr;
  regex_ = named != nullptr ? std::string(named) : std::string(regex);
  if (regex_.empty()) throw InvalidArgument("the pre-tokenizer regex is empty");
  const std::string pcre = WithWhiteSpaceClasses(regex_);
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre.data()), pcre.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (compiled_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw InvalidArgument("the pre-tokenizer regex '" + regex_ +
                          "' is not valid: " + reinterpret_cast<const char*>(message) +
                          " (near byte " + std::to_string(offset) + ")");
  }
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

BpePattern::~BpePattern() = default;

std::string BpePattern::Literal(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u) && c != ' ') out += '\\';
    out += c;
  }
  return out;
}

bool BpePattern::CanMatchEmpty() const {
  uint32_t empty = 0;
  pcre2_pattern_info(compiled_->code, PCRE2_INFO_MATCHEMPTY, &empty);
  return empty != 0;
}

bool BpePattern::Find(std::string_view text, size_t at, size_t* begin, size_t* end) const {
  thread_local ThreadMatchState state;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (at < text.size()) {
    const int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), at,
                                                    PCRE2_NO_UTF_CHECK, state.data, state.context)
                                  : pcre2_match(compiled_->code, subject, text.size(), at,
                                                PCRE2_NO_UTF_CHECK, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw DataError("the pre-tokenizer regex failed on a text of " + std::to_string(text.size()) +
                      " bytes: " + reinterpret_cast<const char*>(message));
    }
    // rc == 0: more groups than the one pair of offsets asked for; the whole match is there.
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    if (ovector[1] > ovector[0]) {
      *begin = ovector[0];
      *end = ovector[1];
      return true;
    }
    // An empty match: search again from the next character.
    at = ovector[0] + 1;
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  }
  return false;
}

}  // namespace corpusflow
