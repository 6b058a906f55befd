#include "cli/pipeline_spec.h"

#include "engine/error.h"

namespace corpusflow {
namespace {

std::vector<StageSpec> Parse(std::string_view text, bool file_mode) {
  std::vector<StageSpec> stages;
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool saw_bar = false;

  auto end_word = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  auto end_stage = [&](bool explicit_bar) {
    end_word();
    if (words.empty()) {
      if (explicit_bar && !file_mode) {
        throw InvalidArgument("empty stage in pipeline (two '|' in a row, or '|' at an end)");
      }
    } else {
      StageSpec stage;
      stage.name = words.front();
      stage.args.assign(words.begin() + 1, words.end());
      stages.push_back(std::move(stage));
      words.clear();
    }
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {
      const size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) throw InvalidArgument("unterminated ' in pipeline");
      word.append(text.substr(i + 1, close - i - 1));
      in_word = true;
      i = close;
    } else if (c == '"') {
      in_word = true;
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            (text[j + 1] == '"' || text[j + 1] == '\\' || text[j + 1] == '$')) {
          ++j;
        }
        word += text[j];
      }
      if (j >= text.size()) throw InvalidArgument("unterminated \" in pipeline");
      i = j;
    } else if (c == '\\') {
      if (i + 1 < text.size()) {
        if (text[i + 1] == '\n') {  // line continuation
          ++i;
          continue;
        }
        word += text[++i];
        in_word = true;
      }
    } else if (c == '|') {
      saw_bar = true;
      end_stage(true);
    } else if (c == '\n' && file_mode) {
      end_stage(false);
    } else if (c == '#' && file_mode && !in_word) {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      end_word();
    } else {
      word += c;
      in_word = true;
    }
  }
  end_stage(saw_bar);
  if (stages.empty()) throw InvalidArgument("empty pipeline");
  return stages;
}

}  // namespace

std::vector<StageSpec> ParsePipelineSpec(std::string_view text) { return Parse(text, false); }

std::vector<StageSpec> ParsePipelineFile(std::string_view text) { return Parse(text, true); }

}  // namespace corpusflow
