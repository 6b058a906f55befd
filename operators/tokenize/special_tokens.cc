#include "operators/tokenize/special_tokens.h"

#include <algorithm>
#include <charconv>

#include "engine/error.h"

namespace corpusflow {
namespace {

struct Preset {
  std::string_view name;
  std::vector<SpecialToken> tokens;
};

const std::vector<Preset>& Presets() {
  static const std::vector<Preset> presets = {
      {"pegasus", {{"<pad>", 0}, {"</s>", 1}, {"<mask_1>", 2}, {"<mask_2>", 3}}},
      {"bert", {{"[PAD]", 0}, {"[UNK]", 100}, {"[CLS]", 101}, {"[SEP]", 102}, {"[MASK]", 103}}},
  };
  return presets;
}

void Add(const SpecialToken& token, std::string_view option, std::vector<SpecialToken>* tokens) {
  for (const SpecialToken& t : *tokens) {
    if (t.text != token.text) continue;
    if (t.id == token.id) return;
    throw InvalidArgument(std::string(option) + ": '" + token.text + "' is given two ids, " +
                          std::to_string(t.id) + " and " + std::to_string(token.id));
  }
  tokens->push_back(token);
}

}  // namespace

std::vector<SpecialToken> ParseSpecialTokens(std::string_view spec, std::string_view option) {
  std::vector<SpecialToken> tokens;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view entry = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (entry.empty()) {
      throw InvalidArgument(std::string(option) + ": empty entry in '" + std::string(spec) +
                            "' (give a preset, pegasus or bert, or TOKEN=ID entries separated "
                            "by commas)");
    }
    const size_t eq = entry.rfind('=');
    if (eq == std::string_view::npos) {
      const auto preset = std::find_if(Presets().begin(), Presets().end(),
                                       [&](const Preset& p) { return p.name == entry; });
      if (preset == Presets().end()) {
        throw InvalidArgument(std::string(option) + ": '" + std::string(entry) +
                              "' is neither a preset (pegasus, bert) nor TOKEN=ID");
      }
      for (const SpecialToken& token : preset->tokens) Add(token, option, &tokens);
      continue;
    }
    const std::string_view text = entry.substr(0, eq);
    const std::string_view digits = entry.substr(eq + 1);
    int32_t id = -1;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (text.empty() || digits.empty() || error != std::errc() ||
        end != digits.data() + digits.size() || id < 0) {
      throw InvalidArgument(std::string(option) + ": '" + std::string(entry) +
                            "' is not TOKEN=ID with a non-empty token and an id >= 0");
    }
    Add(SpecialToken{std::string(text), id}, option, &tokens);
  }
  return tokens;
}

std::string FormatSpecialTokens(const std::vector<SpecialToken>& tokens) {
  std::string out;
  for (const SpecialToken& token : tokens) {
    if (!out.empty()) out += ',';
    out += token.text + "=" + std::to_string(token.id);
  }
  return out;
}

SpecialTokenMatcher::SpecialTokenMatcher(std::vector<SpecialToken> tokens)
    : tokens_(std::move(tokens)) {
  std::stable_sort(
      tokens_.begin(), tokens_.end(),
      [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  for (const SpecialToken& token : tokens_) {
    if (!token.text.empty()) first_byte_[static_cast<unsigned char>(token.text[0])] = true;
  }
}

const SpecialToken* SpecialTokenMatcher::Match(std::string_view rest) const {
  for (const SpecialToken& token : tokens_) {
    if (!token.text.empty() && rest.starts_with(token.text)) return &token;
  }
  return nullptr;
}

}  // namespace corpusflow
