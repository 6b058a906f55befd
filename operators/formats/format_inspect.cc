#include "operators/formats/format_inspect.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>

#include "engine/error.h"
#include "operators/formats/datatrove_format.h"
#include "operators/formats/mds_format.h"
#include "operators/formats/olmo_format.h"
#include "operators/megatron/inspect.h"

namespace corpusflow {
namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Percent(uint64_t part, uint64_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%",
                whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

/// Figures of a stream of sequences (documents or samples).
class SequenceFigures {
 public:
  explicit SequenceFigures(const FormatInspectOptions& options) : options_(options) {}

  /// Count one sequence and check its ids.
  void Add(std::span<const int64_t> ids) {
    const uint64_t length = ids.size();
    min_length_ = std::min(min_length_, length);
    max_length_ = std::max(max_length_, length);
    tokens_ += length;
    if (length == 0) ++empty_;
    const size_t bucket = LengthBucket(length);
    if (histogram_.size() <= bucket) histogram_.resize(bucket + 1);
    ++histogram_[bucket];
    for (const int64_t v : ids) {
      min_id_ = std::min(min_id_, v);
      max_id_ = std::max(max_id_, v);
      if (v < 0 || (options_.vocab_size > 0 && v >= options_.vocab_size)) {
        if (out_of_range_++ == 0) first_out_of_range_ = count_;
      }
    }
    ++count_;
  }

  /// The line of sequence `index` when it is one of the first shown (else empty).
  std::string Show(const char* what, uint64_t index, std::span<const int64_t> ids,
                   const std::string& extra = "") const {
    if (index >= options_.show) return "";
    return std::string(what) + " " + std::to_string(index) + " (" + std::to_string(ids.size()) +
           " tokens" + extra + "): " +
           DecodeIds(ids, options_.show_tokens, options_.names,
                     options_.has_vocabulary ? options_.vocab_size : 0) +
           "\n";
  }

  /// The figure lines: count, tokens, lengths, histogram, ids.
  std::string Format(const char* what) const {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%-10s %s\n", what, WithCommas(count_).c_str());
    out += line;
    std::snprintf(line, sizeof line, "tokens     %s (mean %.1f per %s)\n",
                  WithCommas(tokens_).c_str(),
                  count_ ? static_cast<double>(tokens_) / static_cast<double>(count_) : 0.0,
                  std::string(what).substr(0, std::string(what).size() - 1).c_str());
    out += line;
    out += "lengths    min " + std::to_string(count_ ? min_length_ : 0) + ", max " +
           std::to_string(max_length_) + ", " + WithCommas(empty_) + " empty\n";
    out += FormatLengthHistogram(histogram_, what);
    out += "token ids  ";
    out += tokens_ == 0 ? std::string("none")
                        : std::to_string(min_id_) + ".." + std::to_string(max_id_);
    if (options_.vocab_size > 0) {
      out += out_of_range_ == 0
                 ? " (vocabulary of " + std::to_string(options_.vocab_size) + ": all in range)"
                 : " (vocabulary of " + std::to_string(options_.vocab_size) + ": " +
                       WithCommas(out_of_range_) + " ids OUT OF RANGE, the first in " +
                       std::string(what).substr(0, std::string(what).size() - 1) + " " +
                       std::to_string(first_out_of_range_) + ")";
    }
    return out + "\n";
  }

  bool ok() const { return out_of_range_ == 0; }
  uint64_t count() const { return count_; }
  uint64_t tokens() const { return tokens_; }

 private:
  const FormatInspectOptions& options_;
  uint64_t count_ = 0;
  uint64_t tokens_ = 0;
  uint64_t empty_ = 0;
  uint64_t min_length_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_length_ = 0;
  std::vector<uint64_t> histogram_;
  int64_t min_id_ = std::numeric_limits<int64_t>::max();
  int64_t max_id_ = std::numeric_limits<int64_t>::min();
  uint64_t out_of_range_ = 0;
  uint64_t first_out_of_range_ = 0;
};

/// How a flat token file falls into the windows of `seq_len` tokens a trainer reads.
class WindowFigures {
 public:
  explicit WindowFigures(uint64_t seq_len) : seq_len_(seq_len) {}
  /// Count the document [start, end) in tokens of the file.
  void AddDocument(uint64_t start, uint64_t end) {
    if (seq_len_ > 0 && end > start && start / seq_len_ != (end - 1) / seq_len_) ++crossing_;
  }
  /// The `windows` line for a file of `tokens` tokens (nothing without a window length).
  std::string Format(uint64_t tokens) const {
    if (seq_len_ == 0) return "";
    return "windows    " + WithCommas(tokens / seq_len_) + " of " + WithCommas(seq_len_) +
           " tokens, " + WithCommas(tokens % seq_len_) + " tokens left over; " +
           WithCommas(crossing_) + " documents cross a window boundary\n";
  }

 private:
  uint64_t seq_len_;
  uint64_t crossing_ = 0;
};

std::string LossLine(uint64_t kept, uint64_t tokens) {
  return "loss mask  " + WithCommas(kept) + " of " + WithCommas(tokens) + " tokens count (" +
         Percent(kept, tokens) + ")\n";
}

std::string FileLine(const std::string& path) {
  struct stat st;
  const uint64_t bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return path + " (" + WithCommas(bytes) + " bytes)";
}

/// The column of `columns` named `given`, else the first of `defaults` present; -1: none.
int FindColumn(const std::vector<std::string>& columns, const std::string& given,
               std::initializer_list<const char*> defaults, const std::string& folder,
               const char* role) {
  if (!given.empty()) {
    const auto it = std::find(columns.begin(), columns.end(), given);
    if (it == columns.end()) {
      throw InvalidArgument("inspect: " + folder + " has no column '" + given + "' (" + role + ")");
    }
    return static_cast<int>(it - columns.begin());
  }
  for (const char* name : defaults) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it != columns.end()) return static_cast<int>(it - columns.begin());
  }
  return -1;
}

}  // namespace

TokenFormat DetectTokenFormat(const std::string& name) {
  if (name.ends_with(".ds") || IsFile(name + ".ds")) return TokenFormat::kDatatrove;
  if (std::filesystem::path(name).filename() == "index.json" ||
      IsFile((std::filesystem::path(name) / "index.json").string())) {
    return TokenFormat::kMds;
  }
  if (name.ends_with(".npy") || IsFile(name + ".npy")) return TokenFormat::kOlmo;
  return TokenFormat::kMegatron;
}

FormatReport InspectDatatrove(const std::string& name, const FormatInspectOptions& options) {
  const DatatroveReader reader(name, options.token_size);
  FormatReport report;
  std::string& out = report.text;
  const std::string& prefix = reader.prefix();
  out += "format     datatrove tokenized files, " + std::to_string(reader.token_size()) +
         "-byte tokens\n";
  out += "data       " + FileLine(DatatroveTokensPath(prefix)) + "\n";
  out += "index      " + FileLine(DatatroveIndexPath(prefix)) + "\n";
  if (reader.has_loss()) out += "loss       " + FileLine(DatatroveLossPath(prefix)) + "\n";
  if (reader.has_metadata()) {
    out += "metadata   " + DatatroveMetadataPath(prefix) + ": tokenizer '" +
           reader.metadata().tokenizer + "', " + WithCommas(reader.metadata().tokens) + " tokens\n";
  } else {
    out += "metadata   none (token size " + std::to_string(reader.token_size()) + " assumed)\n";
  }
  SequenceFigures figures(options);
  WindowFigures windows(options.seq_len);
  std::string shown;
  uint64_t kept = 0;
  reader.ForEachDocument(
      [&](uint64_t d, std::span<const int64_t> ids, std::span<const uint8_t> loss) {
        windows.AddDocument(figures.tokens(), figures.tokens() + ids.size());
        figures.Add(ids);
        for (const uint8_t v : loss) kept += v;
        shown += figures.Show("document", d, ids);
      });
  out += figures.Format("documents");
  out += windows.Format(reader.tokens());
  if (reader.has_loss()) out += LossLine(kept, figures.tokens());
  out += std::string("check      ") + (figures.ok() ? "ok" : "FAILED") +
         ": file sizes, metadata, document ends" + (reader.has_loss() ? ", loss bytes" : "") +
         ", token ids\n";
  out += shown;
  report.ok = figures.ok();
  return report;
}

FormatReport InspectMds(const std::string& name, const FormatInspectOptions& options) {
  const MdsReader reader(name);
  FormatReport report;
  std::string& out = report.text;
  const auto& columns = reader.columns();
  const int ids =
      FindColumn(columns, options.field, {"input_ids", "tokens"}, reader.folder(), "--field");
  const int mask =
      FindColumn(columns, options.loss_mask, {"loss_mask"}, reader.folder(), "--loss-mask");
  const int bounds =
      FindColumn(columns, options.boundaries, {"cu_seqlens"}, reader.folder(), "--boundaries");
  const int id_column = ids >= 0 ? ids : columns.size() == 1 ? 0 : -1;
  if (id_column < 0) {
    throw InvalidArgument("inspect: " + reader.folder() +
                          ": which column holds the ids? give --field (columns: " +
                          [&] {
                            std::string list;
                            for (const auto& c : columns) list += (list.empty() ? "" : ", ") + c;
                            return list;
                          }() +
                          ")");
  }
  out += "format     MDS (MosaicML streaming), index.json version 2\n";
  out += "shards     " + WithCommas(reader.shards()) + " in " + reader.folder() + " (" +
         WithCommas(reader.shard_bytes()) + " bytes, size limit " +
         WithCommas(reader.size_limit()) + ")\n";
  out += "columns   ";
  for (size_t c = 0; c < columns.size(); ++c) {
    out += " " + columns[c] + " (" + reader.encodings()[c] + ")";
  }
  out += "\n";
  SequenceFigures figures(options);
  std::string shown;
  uint64_t kept = 0, documents = 0, padding = 0, boundary_errors = 0, mask_errors = 0;
  std::string first_error;
  reader.ForEachSample([&](uint64_t s, const std::vector<std::vector<int64_t>>& values) {
    const std::vector<int64_t>& tokens = values[static_cast<size_t>(id_column)];
    figures.Add(tokens);
    std::string extra;
    if (mask >= 0) {
      const auto& m = values[static_cast<size_t>(mask)];
      bool bad = m.size() != tokens.size();
      for (const int64_t v : m) {
        if (v == 1) ++kept;
        bad = bad || (v != 0 && v != 1);
      }
      if (bad && mask_errors++ == 0 && first_error.empty()) {
        first_error = "sample " + std::to_string(s) + ": loss mask not 0/1 per token";
      }
    }
    if (bounds >= 0) {
      const auto& b = values[static_cast<size_t>(bounds)];
      bool bad = b.empty() || b.front() != 0 || static_cast<uint64_t>(b.back()) > tokens.size();
      for (size_t j = 1; j < b.size(); ++j) bad = bad || b[j] <= b[j - 1];
      if (bad) {
        if (boundary_errors++ == 0 && first_error.empty()) {
          first_error = "sample " + std::to_string(s) +
                        ": boundaries are not 0, increasing ends, within the sample";
        }
      } else {
        documents += b.size() - 1;
        const uint64_t pad = tokens.size() - static_cast<uint64_t>(b.back());
        padding += pad;
        extra =
            ", " + std::to_string(b.size() - 1) + " documents, " + std::to_string(pad) + " padding";
      }
    }
    shown += figures.Show("sample", s, tokens, extra);
  });
  out += figures.Format("samples");
  if (bounds >= 0) {
    out += "documents  " + WithCommas(documents) + " (" + columns[static_cast<size_t>(bounds)] +
           "), padding " + WithCommas(padding) + " tokens (" + Percent(padding, figures.tokens()) +
           ")\n";
  }
  if (mask >= 0) out += LossLine(kept, figures.tokens());
  report.ok = figures.ok() && boundary_errors == 0 && mask_errors == 0;
  out += std::string("check      ") + (report.ok ? "ok" : "FAILED") +
         ": index.json, shard headers and offsets, column sizes" +
         (bounds >= 0 ? ", boundaries" : "") + (mask >= 0 ? ", loss mask" : "") + ", token ids" +
         (first_error.empty() ? "" : " (" + first_error + ")") + "\n";
  out += shown;
  return report;
}

FormatReport InspectOlmo(const std::string& name, const FormatInspectOptions& options) {
  const OlmoReader reader(name, options.token_size);
  FormatReport report;
  std::string& out = report.text;
  const std::string& prefix = reader.prefix();
  out += "format     OLMo token memmap, uint" + std::to_string(8 * reader.width()) + "\n";
  out += "data       " + FileLine(OlmoTokensPath(prefix)) + ", " + WithCommas(reader.tokens()) +
         " tokens\n";
  out += "metadata   " + FileLine(OlmoMetadataPath(prefix)) + "\n";
  if (reader.has_mask()) out += "mask       " + FileLine(OlmoMaskPath(prefix)) + "\n";
  SequenceFigures figures(options);
  std::string shown;
  uint64_t kept = 0, without_eos = 0, first_without = 0;
  int64_t last_min = std::numeric_limits<int64_t>::max(), last_max = -1;
  WindowFigures windows(options.seq_len);
  reader.ForEachDocument(
      [&](uint64_t d, uint64_t start, std::span<const int64_t> ids, std::span<const uint8_t> mask) {
        windows.AddDocument(start, start + ids.size());
        figures.Add(ids);
        for (const uint8_t v : mask) kept += v;
        last_min = std::min(last_min, ids.back());
        last_max = std::max(last_max, ids.back());
        if (options.eos && ids.back() != *options.eos && without_eos++ == 0) first_without = d;
        shown += figures.Show("document", d, ids);
      });
  out += figures.Format("documents");
  out += windows.Format(reader.tokens());
  out += "padding    " + WithCommas(reader.tokens() - figures.tokens()) +
         " tokens outside documents (" +
         Percent(reader.tokens() - figures.tokens(), reader.tokens()) + ")\n";
  if (reader.has_mask()) out += LossLine(kept, figures.tokens());
  if (options.eos) {
    out += "EOS        " +
           (without_eos == 0 ? "every document ends with " + std::to_string(*options.eos)
                             : WithCommas(without_eos) + " documents do NOT end with " +
                                   std::to_string(*options.eos) + ", the first is document " +
                                   std::to_string(first_without)) +
           "\n";
  } else if (figures.count() > 0) {
    out += "EOS        documents end with " +
           (last_min == last_max ? "id " + std::to_string(last_min)
                                 : "ids " + std::to_string(last_min) + ".." +
                                       std::to_string(last_max) + " (give --eos to check)") +
           "\n";
  }
  report.ok = figures.ok() && without_eos == 0;
  out += std::string("check      ") + (report.ok ? "ok" : "FAILED") + ": file sizes, metadata" +
         (reader.has_mask() ? ", mask bytes" : "") + ", token ids" + (options.eos ? ", EOS" : "") +
         "\n";
  out += shown;
  return report;
}

}  // namespace corpusflow
