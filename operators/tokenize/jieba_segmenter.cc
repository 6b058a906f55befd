#include "operators/tokenize/jieba_segmenter.h"

#include <cmath>
#include <limits>

#include "engine/error.h"
#include "operators/text/text_file.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {
namespace {

/// Per-thread buffers of Cut: a block's code points, their byte offsets and its route.
struct CutScratch {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  std::vector<double> score;
  std::vector<uint32_t> route_end;
};

CutScratch& ThreadScratch() {
  thread_local CutScratch scratch;
  return scratch;
}

/// Segment one block (a maximal run of jieba's block characters, all ASCII or 3-byte UTF-8) as
/// jieba's __cut_DAG_NO_HMM: DAG, max-log-probability route, merged [a-zA-Z0-9] singles.
void CutBlock(const JiebaDictionary& dict, std::string_view text, size_t begin, size_t end,
              CutScratch& s, std::vector<std::string_view>* words) {
  s.cps.clear();
  s.offsets.clear();
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t p = begin;
  while (p < end) {
    s.offsets.push_back(static_cast<uint32_t>(p - begin));
    const unsigned char b = bytes[p];
    if (b < 0x80) {
      s.cps.push_back(b);
      p += 1;
    } else {
      s.cps.push_back((static_cast<char32_t>(b & 0x0F) << 12) |
                      (static_cast<char32_t>(bytes[p + 1] & 0x3F) << 6) | (bytes[p + 2] & 0x3F));
      p += 3;
    }
  }
  const size_t n = s.cps.size();
  s.offsets.push_back(static_cast<uint32_t>(end - begin));
  s.score.resize(n + 1);
  s.route_end.resize(n + 1);
  s.score[n] = 0.0;
  const double log_total = dict.log_total();
  const char32_t* cps = s.cps.data();
  double* score = s.score.data();
  for (size_t k = n; k-- > 0;) {
    double best = -std::numeric_limits<double>::infinity();
    size_t best_end = n;  // none yet
    JiebaDictionary::Node node = dict.Child(JiebaDictionary::kRoot, cps[k]);
    size_t i = k;
    while (node != JiebaDictionary::kNoNode) {
      const double lf = dict.WordLogFrequency(node);
      if (JiebaDictionary::IsWord(lf)) {
        const double candidate = (lf - log_total) + score[i + 1];
        // Python's max over (score, x) tuples: on equal scores the larger x wins.
        if (candidate >= best) {
          best = candidate;
          best_end = i;
        }
      }
      if (++i >= n || !dict.HasChildren(node)) break;
      node = dict.Child(node, cps[i]);
    }
    if (best_end == n) {
      // No word starts here: the single character, with frequency 1 (log 1 = 0).
      best = (0.0 - log_total) + score[k + 1];
      best_end = k;
    }
    score[k] = best;
    s.route_end[k] = static_cast<uint32_t>(best_end);
  }

  // Follow the route; consecutive single-character [a-zA-Z0-9] words form one token.
  const char* base = text.data() + begin;
  size_t x = 0;
  size_t run_begin = 0;
  bool in_run = false;
  while (x < n) {
    const size_t y = s.route_end[x] + 1;
    if (y - x == 1 && IsAsciiAlnum(cps[x])) {
      if (!in_run) {
        in_run = true;
        run_begin = x;
      }
    } else {
      if (in_run) {
        words->emplace_back(base + s.offsets[run_begin], s.offsets[x] - s.offsets[run_begin]);
        in_run = false;
      }
      words->emplace_back(base + s.offsets[x], s.offsets[y] - s.offsets[x]);
    }
    x = y;
  }
  if (in_run) {
    words->emplace_back(base + s.offsets[run_begin], s.offsets[n] - s.offsets[run_begin]);
  }
}

/// Whether the rest of a user-dictionary line after the word matches `( [0-9]+)?( [a-z]+)?$`;
/// sets the frequency digits when present.
bool MatchUserDictRest(std::string_view rest, std::string_view* digits) {
  *digits = {};
  if (rest.empty()) return true;
  if (rest.front() != ' ') return false;
  size_t i = 1;
  size_t j = i;
  while (j < rest.size() && rest[j] >= '0' && rest[j] <= '9') ++j;
  if (j > i) {
    *digits = rest.substr(i, j - i);
    if (j == rest.size()) return true;
    if (rest[j] != ' ') return false;
    i = j + 1;
  }
  j = i;
  while (j < rest.size() && rest[j] >= 'a' && rest[j] <= 'z') ++j;
  if (j == i || j != rest.size()) return false;
  return true;
}

}  // namespace

std::string JiebaSegmenter::DefaultDictionaryPath() { return CORPUSFLOW_JIEBA_DICT; }

std::string JiebaSegmenter::DictionaryPathOrDefault(const std::string& dict_path) {
  return dict_path.empty() ? DefaultDictionaryPath() : dict_path;
}

JiebaSegmenter::JiebaSegmenter(std::unique_ptr<JiebaDictionary> dictionary)
    : dictionary_(std::move(dictionary)) {}

JiebaSegmenter::~JiebaSegmenter() = default;

std::unique_ptr<JiebaSegmenter> JiebaSegmenter::Load(
    const std::string& dict_path, const std::vector<std::string>& user_dict_paths) {
  auto segmenter = std::make_unique<JiebaSegmenter>(JiebaDictionary::Load(dict_path));
  for (const std::string& path : user_dict_paths) {
    segmenter->LoadUserDictionary(ReadWholeFile(path), path);
  }
  return segmenter;
}

void JiebaSegmenter::Cut(std::string_view text, std::vector<std::string_view>* words) const {
  words->clear();
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    throw DataError("jieba: a text of " + std::to_string(text.size()) +
                    " bytes is too long to segment (4 GiB at most)");
  }
  CutScratch& scratch = ThreadScratch();
  const char* data = text.data();
  const size_t size = text.size();
  size_t p = 0;
  while (p < size) {
    // A block: a maximal run of [\u4E00-\u9FD5a-zA-Z0-9+#&._%-].
    size_t q = p;
    while (q < size) {
      const auto b = static_cast<unsigned char>(data[q]);
      if (b < 0x80) {
        if (!IsJiebaBlockChar(b)) break;
        ++q;
      } else if (b >= 0xE4 && b <= 0xE9) {
        char32_t cp = 0;
        if (DecodeUtf8(data + q, data + size, &cp) != 3 || !IsJiebaBlockChar(cp)) break;
        q += 3;
      } else {
        break;
      }
    }
    if (q > p) {
      CutBlock(*dictionary_, text, p, q, scratch, words);
      p = q;
      continue;
    }
    // Outside blocks: "\r\n" is one token, every other character (whitespace or not) is one.
    if (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n') {
      words->emplace_back(data + p, 2);
      p += 2;
      continue;
    }
    char32_t cp = 0;
    const int len = DecodeUtf8(data + p, data + size, &cp);
    const size_t step = static_cast<size_t>(len > 0 ? len : -len);
    words->emplace_back(data + p, step);
    p += step;
  }
}

int64_t JiebaSegmenter::SuggestFrequency(std::string_view word) const {
  // jieba's suggest_freq(word, tune=False).
  const JiebaDictionary& dict = *dictionary_;
  const double total = static_cast<double>(dict.total_frequency());
  double freq = 1.0;
  std::vector<std::string_view> segments;
  Cut(word, &segments);
  for (std::string_view seg : segments) {
    const int64_t f = dict.Frequency(seg).value_or(1);
    freq *= static_cast<double>(f) / total;
  }
  const auto suggested = static_cast<int64_t>(freq * total) + 1;
  return std::max(suggested, dict.Frequency(word).value_or(1));
}

void JiebaSegmenter::LoadUserDictionary(std::string_view text, const std::string& name) {
  TextLines lines(text);
  std::string_view raw;
  while (lines.Next(&raw)) {
    const uint64_t line_number = lines.line_number();
    std::string_view line = StripAsciiSpace(raw);
    if (!IsValidUtf8(line)) {
      throw DataError(name + ":" + std::to_string(line_number) +
                      ": user dictionary is not valid UTF-8");
    }
    while (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.empty()) continue;
    // re_userdict = '^(.+?)( [0-9]+)?( [a-z]+)?$': the shortest word whose rest matches.
    std::string_view word = line;
    std::string_view digits;
    const char* p = line.data();
    const char* end = p + line.size();
    while (p < end) {
      char32_t cp = 0;
      p += DecodeUtf8(p, end, &cp);
      const size_t len = static_cast<size_t>(p - line.data());
      std::string_view rest_digits;
      if (MatchUserDictRest(line.substr(len), &rest_digits)) {
        word = line.substr(0, len);
        digits = rest_digits;
        break;
      }
    }
    int64_t frequency;
    if (digits.empty()) {
      frequency = SuggestFrequency(word);
    } else {
      frequency = 0;
      for (char c : digits) {
        if (frequency > (std::numeric_limits<int64_t>::max() - 9) / 10) {
          throw DataError(name + ":" + std::to_string(line_number) + ": frequency too large");
        }
        frequency = frequency * 10 + (c - '0');
      }
    }
    dictionary_->AddWord(word, frequency);
  }
}

}  // namespace corpusflow
