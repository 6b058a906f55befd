#include "operators/pegasus/pseudo_summary.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "operators/text/utf8_internal.h"

namespace po = boost::program_options;

namespace corpusflow {

void SegmentText(std::span<const char32_t> text, CodePointRange range, size_t maxlen,
                 std::u32string_view separators, std::vector<CodePointRange>* chunks) {
  uint32_t begin = range.begin, end = range.end;
  while (begin < end && IsPythonWhitespace(text[begin])) ++begin;
  while (end > begin && IsPythonWhitespace(text[end - 1])) --end;
  if (separators.empty() || end - begin <= maxlen) {
    chunks->push_back(CodePointRange{begin, end});
    return;
  }
  const char32_t separator = separators.front();
  const std::u32string_view rest = separators.substr(1);
  // The buffer is always a contiguous range: consecutive pieces with their separators.
  uint32_t buffer_begin = begin, buffer_end = begin;
  uint32_t piece_begin = begin;
  while (true) {
    uint32_t piece_end = piece_begin;
    while (piece_end < end && text[piece_end] != separator) ++piece_end;
    const bool last = piece_end == end;
    const size_t buffer_size = buffer_end - buffer_begin, piece_size = piece_end - piece_begin;
    if (buffer_size > 0 && piece_size > 0 && buffer_size + piece_size > maxlen - 1) {
      SegmentText(text, CodePointRange{buffer_begin, buffer_end}, maxlen, rest, chunks);
      buffer_begin = piece_begin;
    }
    buffer_end = last ? piece_end : piece_end + 1;
    if (last) break;
    piece_begin = piece_end + 1;
  }
  if (buffer_end > buffer_begin) {
    SegmentText(text, CodePointRange{buffer_begin, buffer_end}, maxlen, rest, chunks);
  }
}

size_t GroupChunks(std::span<const CodePointRange> chunks, size_t group_chars, size_t min_chunks,
                   std::vector<std::pair<uint32_t, uint32_t>>* groups) {
  uint32_t group_begin = 0;
  size_t length = 0;
  for (uint32_t k = 0; k < chunks.size(); ++k) {
    const size_t chunk = chunks[k].size();
    if (length + chunk > group_chars && k - group_begin >= min_chunks) {
      groups->emplace_back(group_begin, k);
      group_begin = k;
      length = 0;
    }
    length += chunk;
  }
  const auto end = static_cast<uint32_t>(chunks.size());
  if (end > group_begin && end - group_begin >= min_chunks) {
    groups->emplace_back(group_begin, end);
    return 0;
  }
  return end - group_begin;
}

void PseudoSummarizer::Select(std::span<const std::span<const uint32_t>> chunks,
                              uint32_t alphabet_size, PseudoSummaryPair* pair,
                              std::vector<std::vector<size_t>>* rounds) {
  std::vector<uint32_t>& source = pair->source;
  std::vector<uint32_t>& target = pair->target;
  source.clear();
  target.clear();
  pair->swapped = false;
  if (rounds != nullptr) rounds->clear();
  for (uint32_t i = 0; i < chunks.size(); ++i) source.push_back(i);
  if (chunks.empty()) return;
  size_t source_length = 0, target_length = 0;
  for (const auto& c : chunks) source_length += c.size();

  while (true) {
    // The source concatenated once per round; a candidate's source is this minus one chunk.
    source_.clear();
    source_offsets_.clear();
    for (const uint32_t i : source) {
      source_offsets_.push_back(static_cast<uint32_t>(source_.size()));
      source_.insert(source_.end(), chunks[i].begin(), chunks[i].end());
    }
    similarities_.clear();
    size_t best = 0;
    size_t best_position = 0;
    for (size_t p = 0; p < source.size(); ++p) {
      const uint32_t i = source[p];
      const size_t cut_begin = source_offsets_[p], cut_end = cut_begin + chunks[i].size();
      // The candidate target: the selected chunks with i inserted in document order.
      candidate_target_.clear();
      const auto insert_at = std::lower_bound(target.begin(), target.end(), i);
      for (auto it = target.begin(); it != insert_at; ++it) {
        candidate_target_.insert(candidate_target_.end(), chunks[*it].begin(), chunks[*it].end());
      }
      candidate_target_.insert(candidate_target_.end(), chunks[i].begin(), chunks[i].end());
      for (auto it = insert_at; it != target.end(); ++it) {
        candidate_target_.insert(candidate_target_.end(), chunks[*it].begin(), chunks[*it].end());
      }
      size_t similarity;
      if (algorithm_ == LcsAlgorithm::kQuadratic) {
        candidate_source_.assign(source_.begin(), source_.begin() + cut_begin);
        candidate_source_.insert(candidate_source_.end(), source_.begin() + cut_end, source_.end());
        similarity = LcsLengthQuadratic(candidate_source_, candidate_target_);
      } else {
        const std::span<const uint32_t> source_parts[2] = {
            std::span<const uint32_t>(source_.data(), cut_begin),
            std::span<const uint32_t>(source_.data() + cut_end, source_.size() - cut_end)};
        const std::span<const uint32_t> target_part[1] = {candidate_target_};
        similarity =
            lcs_.Length(SymbolParts(source_parts), SymbolParts(target_part), alphabet_size);
      }
      similarities_.push_back(similarity);
      // numpy.argmax: the first maximum.
      if (p == 0 || similarity > best) {
        best = similarity;
        best_position = p;
      }
    }
    if (rounds != nullptr) rounds->push_back(similarities_);
    const uint32_t moved = source[best_position];
    source.erase(source.begin() + static_cast<std::ptrdiff_t>(best_position));
    target.insert(std::lower_bound(target.begin(), target.end(), moved), moved);
    source_length -= chunks[moved].size();
    target_length += chunks[moved].size();
    if (source.size() <= 1) break;
    // The reference divides by zero here; the ratio is infinite, so selection is over.
    if (source_length == 0) break;
    if (static_cast<double>(target_length) / static_cast<double>(source_length) > summary_rate_) {
      break;
    }
  }
  if (source_length < target_length) {
    std::swap(source, target);
    pair->swapped = true;
  }
}

void PseudoSummarizer::Select(const std::vector<std::u32string>& chunks, PseudoSummaryPair* pair,
                              std::vector<std::vector<size_t>>* rounds) {
  std::unordered_map<char32_t, uint32_t> ids;
  std::vector<std::vector<uint32_t>> mapped(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    for (const char32_t c : chunks[i]) {
      mapped[i].push_back(ids.try_emplace(c, static_cast<uint32_t>(ids.size())).first->second);
    }
  }
  std::vector<std::span<const uint32_t>> spans(mapped.begin(), mapped.end());
  Select(spans, static_cast<uint32_t>(ids.size()), pair, rounds);
}

namespace {

/// Per-worker scratch of the operator.
struct PseudoSummaryWorker : OpState {
  explicit PseudoSummaryWorker(const PseudoSummaryOptions& options)
      : summarizer(options.summary_rate, options.lcs) {}

  /// Map the code points of a document to dense ids 0, 1, ... (one table for the document).
  void MapSymbols() {
    if (id_of.empty()) id_of.assign(0x110000, kNoId);
    ids.resize(code_points.size());
    for (size_t k = 0; k < code_points.size(); ++k) {
      uint32_t& id = id_of[code_points[k]];
      if (id == kNoId) {
        id = static_cast<uint32_t>(used.size());
        used.push_back(code_points[k]);
      }
      ids[k] = id;
    }
  }
  void ResetSymbols() {
    for (const char32_t cp : used) id_of[cp] = kNoId;
    used.clear();
  }

  static constexpr uint32_t kNoId = std::numeric_limits<uint32_t>::max();
  std::vector<char32_t> code_points;
  std::vector<uint32_t> byte_offsets;
  std::vector<uint32_t> ids;
  std::vector<uint32_t> id_of;
  std::vector<char32_t> used;
  std::vector<CodePointRange> chunks;
  std::vector<std::pair<uint32_t, uint32_t>> groups;
  std::vector<std::span<const uint32_t>> group_chunks;
  PseudoSummaryPair pair;
  PseudoSummarizer summarizer;
};

class PseudoSummaryRun : public TransformRun {
 public:
  PseudoSummaryRun(const PseudoSummaryOptions& options, OperatorStats& stats)
      : options_(options), stats_(stats) {}

  std::unique_ptr<OpState> MakeLocalState() override {
    return std::make_unique<PseudoSummaryWorker>(options_);
  }

  void Apply(Batch& batch, OpState* local) override {
    auto& w = *static_cast<PseudoSummaryWorker*>(local);
    const StringColumn& texts = batch.GetString(options_.field);
    Batch out;
    out.set_sequence(batch.sequence());
    out.set_first_record(batch.first_record());
    out.set_origin(batch.origin());
    // Fields copied into every pair.
    std::vector<const Column*> carried;
    for (const Column& c : batch.columns()) {
      const std::string& name = c.field.name;
      if (name == options_.src || name == options_.tgt) continue;
      if (name == options_.field && !options_.keep_input) continue;
      carried.push_back(&c);
    }
    for (const Column* c : carried) out.AddField(c->field);
    StringColumn src, tgt;
    src.Reserve(texts.size() * 2, texts.DataBytes());
    tgt.Reserve(texts.size() * 2, texts.DataBytes() / 3);
    uint64_t pairs = 0, dropped = 0, chunk_total = 0, tail_chunks = 0, swapped = 0;
    uint64_t escaped_bytes = 0;
    for (size_t r = 0; r < texts.size(); ++r) {
      const std::string_view text = texts[r];
      if (text.size() >= std::numeric_limits<uint32_t>::max()) {
        throw DataError("pseudo-summary: record " + RecordNumberText(batch.first_record() + r) +
                        " is longer than 4 GiB");
      }
      DecodeUtf8Escaped(text, &w.code_points, &w.byte_offsets);
      for (const char32_t cp : w.code_points) escaped_bytes += IsEscapedByte(cp) ? 1 : 0;
      w.chunks.clear();
      SegmentText(w.code_points, CodePointRange{0, static_cast<uint32_t>(w.code_points.size())},
                  options_.chunk_chars, options_.separators, &w.chunks);
      w.groups.clear();
      tail_chunks += GroupChunks(w.chunks, options_.group_chars, options_.min_chunks, &w.groups);
      chunk_total += w.chunks.size();
      if (w.groups.empty()) {
        ++dropped;
        continue;
      }
      w.MapSymbols();
      const uint32_t alphabet = static_cast<uint32_t>(w.used.size());
      for (const auto& [first, last] : w.groups) {
        w.group_chunks.clear();
        for (uint32_t k = first; k < last; ++k) {
          w.group_chunks.emplace_back(w.ids.data() + w.chunks[k].begin, w.chunks[k].size());
        }
        w.summarizer.Select(w.group_chunks, alphabet, &w.pair);
        AppendChunks(text, w, first, w.pair.source, &src);
        AppendChunks(text, w, first, w.pair.target, &tgt);
        for (size_t c = 0; c < carried.size(); ++c) {
          out.columns()[c].AppendRecordFrom(*carried[c], r);
        }
        swapped += w.pair.swapped ? 1 : 0;
        ++pairs;
      }
      w.ResetSymbols();
    }
    stats_.Add("documents", texts.size());
    stats_.Add("pairs", pairs);
    stats_.Add("chunks", chunk_total);
    stats_.Add("tail_chunks_unused", tail_chunks);
    stats_.Add("swapped", swapped);
    if (escaped_bytes > 0) stats_.Add("invalid_utf8_bytes", escaped_bytes);
    if (dropped > 0) {
      stats_.Drop("fewer than " + std::to_string(options_.min_chunks) + " chunks", dropped);
    }
    out.AddString(options_.src) = std::move(src);
    out.AddString(options_.tgt) = std::move(tgt);
    batch = std::move(out);
  }

 private:
  /// Append the chunks (indices within the group starting at chunk `first`) as one record.
  static void AppendChunks(std::string_view text, const PseudoSummaryWorker& w, uint32_t first,
                           const std::vector<uint32_t>& indices, StringColumn* column) {
    std::string& bytes = column->bytes();
    for (const uint32_t i : indices) {
      const CodePointRange& chunk = w.chunks[first + i];
      const uint32_t begin = w.byte_offsets[chunk.begin], end = w.byte_offsets[chunk.end];
      bytes.append(text.substr(begin, end - begin));
    }
    column->EndRecord();
  }

  const PseudoSummaryOptions& options_;
  OperatorStats& stats_;
};

std::string EscapeSeparators(std::u32string_view separators) {
  std::string out;
  for (const char32_t c : separators) {
    if (c == U'\n') {
      out += "\\n";
    } else if (c == U'\t') {
      out += "\\t";
    } else if (c == U'\r') {
      out += "\\r";
    } else {
      AppendUtf8(c, &out);
    }
  }
  return out;
}

}  // namespace

std::u32string ParseSeparators(std::string_view text) {
  if (!IsValidUtf8(text)) throw InvalidArgument("--separators must be UTF-8");
  std::u32string out;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    pos += DecodeUtf8Escaped(text, pos, &cp);
    if (cp == U'\\' && pos < text.size()) {
      const char next = text[pos];
      if (next == 'n' || next == 't' || next == 'r' || next == '\\') {
        cp = next == 'n' ? U'\n' : next == 't' ? U'\t' : next == 'r' ? U'\r' : U'\\';
        ++pos;
      }
    }
    out.push_back(cp);
  }
  if (out.empty()) throw InvalidArgument("--separators must not be empty");
  return out;
}

PseudoSummaryOperator::PseudoSummaryOperator(PseudoSummaryOptions options)
    : options_(std::move(options)) {
  if (options_.chunk_chars == 0) throw InvalidArgument("--chunk-chars must be at least 1");
  if (options_.min_chunks < 2) throw InvalidArgument("--min-chunks must be at least 2");
  if (!(options_.summary_rate > 0.0)) throw InvalidArgument("--summary-rate must be positive");
  if (options_.field.empty() || options_.src.empty() || options_.tgt.empty() ||
      options_.src == options_.tgt) {
    throw InvalidArgument("--field, --src and --tgt must be non-empty and --src != --tgt");
  }
}

std::vector<AddedField> PseudoSummaryOperator::AddedFields() const {
  std::vector<AddedField> added;
  for (const AddedField& field :
       {AddedField{options_.src, "--src"}, AddedField{options_.tgt, "--tgt"}}) {
    // The consumed input of the same name is replaced in place, as the user named it.
    if (options_.keep_input || field.name != options_.field) added.push_back(field);
  }
  return added;
}

Schema PseudoSummaryOperator::OutputSchema(const Schema& input) const {
  input.Require(options_.field, FieldType::kString, name());
  Schema out = input;
  if (!options_.keep_input) out.Remove(options_.field);
  out.Remove(options_.src);
  out.Remove(options_.tgt);
  out.Set(Field{options_.src, FieldType::kString, 0});
  out.Set(Field{options_.tgt, FieldType::kString, 0});
  return out;
}

std::string PseudoSummaryOperator::Describe() const {
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%g", options_.summary_rate);
  return "T5 PEGASUS pseudo-summary of '" + options_.field + "': chunks of " +
         std::to_string(options_.chunk_chars) + " chars on '" +
         EscapeSeparators(options_.separators) + "', groups of " +
         std::to_string(options_.group_chars) + " chars, summary rate " + rate +
         (options_.lcs == LcsAlgorithm::kQuadratic ? ", quadratic LCS" : "") + " -> " +
         options_.src + ", " + options_.tgt;
}

std::unique_ptr<TransformRun> PseudoSummaryOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<PseudoSummaryRun>(options_, ctx.stats);
}

static const OperatorRegistrar kRegisterPseudoSummary(OperatorDef{
    .name = "pseudo-summary",
    .role = OperatorRole::kTransform,
    .synopsis = "pseudo-summary [--summary-rate 0.25] [--chunk-chars 32] [--group-chars 768] "
                "[options]",
    .summary = "T5 PEGASUS pairs: the chunks whose LCS best covers the rest become the summary",
    .details =
        "The construction of ZhuiyiTechnology/t5-pegasus, with identical results: the text is "
        "cut into chunks of about --chunk-chars code points (bert4keras text_segmentate on the "
        "--separators, default newline then 。), chunks are grouped into about --group-chars "
        "code points with at least --min-chunks chunks per group, and in each group chunks "
        "move greedily to the target, each time the one maximising the longest common "
        "subsequence between the remaining source and the target, until target/source exceeds "
        "--summary-rate. One record per group with `src` and `tgt`; the text field is replaced "
        "and other fields are copied to every pair. Documents too short for one group are "
        "dropped and counted. Run it after a global shuffle, as the reference reads shuffled "
        "data: read | shuffle | pseudo-summary | tokenize ...",
    .describe =
        [](OptionSet& o) {
          auto add = o.named.add_options();
          add("summary-rate", po::value<double>()->default_value(0.25, "0.25"),
              "stop selecting when target/source length exceeds this");
          add("chunk-chars", CountValue()->default_value(32),
              "chunk length in code points (text_segmentate's maxlen)");
          add("separators", po::value<std::string>()->default_value("\\n\u3002"),
              "chunk separators, tried in order (escapes \\n \\t \\r \\\\)");
          add("group-chars", CountValue()->default_value(768),
              "group length in code points (512 * 1.5)");
          add("min-chunks", CountValue()->default_value(3), "chunks per group, at least");
          add("field", po::value<std::string>()->default_value("text"), "text field");
          add("src", po::value<std::string>()->default_value("src"), "output field: source");
          add("tgt", po::value<std::string>()->default_value("tgt"), "output field: summary");
          add("keep-input", po::bool_switch(), "keep the text field in every pair");
          o.hidden.add_options()("lcs", po::value<std::string>()->default_value("bitparallel"),
                                 "bitparallel or quadratic (benchmarks)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      PseudoSummaryOptions options;
      options.summary_rate = v["summary-rate"].as<double>();
      options.chunk_chars = v["chunk-chars"].as<uint64_t>();
      options.separators = ParseSeparators(v["separators"].as<std::string>());
      options.group_chars = v["group-chars"].as<uint64_t>();
      options.min_chunks = v["min-chunks"].as<uint64_t>();
      options.field = v["field"].as<std::string>();
      options.src = v["src"].as<std::string>();
      options.tgt = v["tgt"].as<std::string>();
      options.keep_input = v["keep-input"].as<bool>();
      const std::string lcs = v["lcs"].as<std::string>();
      if (lcs == "bitparallel") {
        options.lcs = LcsAlgorithm::kBitParallel;
      } else if (lcs == "quadratic") {
        options.lcs = LcsAlgorithm::kQuadratic;
      } else {
        throw InvalidArgument("--lcs must be 'bitparallel' or 'quadratic', not '" + lcs + "'");
      }
      return std::make_unique<PseudoSummaryOperator>(std::move(options));
    },
    .outputs = {{"src", "--src"}, {"tgt", "--tgt"}},
});

}  // namespace corpusflow
