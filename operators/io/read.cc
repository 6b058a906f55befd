#include "operators/io/read.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/interrupt.h"
#include "engine/io/line_reader.h"
#include "engine/io/paths.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {

std::string_view TextFormatName(TextFormat format) {
  return format == TextFormat::kJsonl ? "jsonl" : "lines";
}

TextFormat TextFormatFromPath(std::string_view path) {
  const std::string base = StripCompressionExtension(path);
  for (std::string_view ext : {".jsonl", ".ndjson", ".json"}) {
    if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0) {
      return TextFormat::kJsonl;
    }
  }
  return TextFormat::kLines;
}

namespace {

/// Per-record cost of offsets when deciding that a batch is full (an 8-byte offset per column).
constexpr uint64_t kOffsetBytes = sizeof(uint64_t);
/// The drop reason of a record longer than the run's --max-record-bytes (--on-error skip).
constexpr const char* kTooLongReason = "longer than --max-record-bytes";

/// The type of a JSON value, for messages.
std::string_view JsonTypeName(simdjson::dom::element_type type) {
  using T = simdjson::dom::element_type;
  switch (type) {
    case T::ARRAY:
      return "an array";
    case T::OBJECT:
      return "an object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "a number";
    case T::STRING:
      return "a string";
    case T::BOOL:
      return "a boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "?";
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

class ReadRun : public BatchReader {
 public:
  ReadRun(const ReadOperator& op, ExecContext& ctx, OperatorStats& stats)
      : op_(op), ctx_(ctx), stats_(stats), columns_(op.columns()) {
    if (op.options().meta) columns_.push_back("meta");
    batch_cost_ = std::max<uint64_t>(ctx.batch_bytes(), 1);
    stats_.SetText("format", FormatsText());
  }

  bool Next(Batch* out) override {
    PrepareColumns(out);
    uint64_t cost = 0;
    const uint64_t per_record = kOffsetBytes * columns_.size();
    while (cost < batch_cost_) {
      if (reader_ == nullptr && !OpenNextFile()) break;
      std::string_view line;
      const LineReader::Status status = reader_->Read(&line);
      if (status == LineReader::Status::kEnd) {
        CloseFile();
        continue;
      }
      // A long run of dropped or blank lines fills no batch: stay responsive meanwhile.
      if ((++lines_read_ & 0xFFFF) == 0) {
        CheckInterrupt();
        ReportProgress();
      }
      if (status == LineReader::Status::kTooLong) {
        BadRecord(kTooLongReason, "record longer than " +
                                      FormatBytes(static_cast<double>(reader_->max_line_bytes())) +
                                      ", the --max-record-bytes limit (default: an eighth of "
                                      "--memory)");
        continue;
      }
      const uint64_t before = data_bytes_;
      if (format_ == TextFormat::kLines) {
        AddLine(line);
      } else {
        AddJsonLine(line);
      }
      cost += data_bytes_ - before + per_record;
    }
    ReportProgress();
    return out->num_records() > 0;
  }

 private:
  /// Make `out` an empty batch with exactly our columns, reusing their capacity when possible.
  void PrepareColumns(Batch* out) {
    bool same = out->columns().size() == columns_.size();
    for (size_t i = 0; same && i < columns_.size(); ++i) {
      const Column& c = out->columns()[i];
      same = c.field.name == columns_[i] && c.field.type == FieldType::kString;
    }
    if (same) {
      out->ClearRecords();
    } else {
      out->Reset();
      for (const std::string& name : columns_) out->AddString(name);
    }
    targets_.clear();
    for (size_t i = 0; i < columns_.size(); ++i) {
      targets_.push_back(&std::get<StringColumn>(out->columns()[i].data));
    }
  }

  bool OpenNextFile() {
    if (next_file_ >= op_.paths().size()) return false;
    const size_t i = next_file_++;
    const std::string& path = op_.paths()[i];
    const ReadOptions& options = op_.options();
    const Compression compression =
        options.compression.value_or(path == "-" ? Compression::kNone : CompressionFromPath(path));
    std::unique_ptr<InputStream> input = OpenInput(path, compression, ctx_.file_system());
    // The line reader holds no more of a line than the run's record limit.
    reader_ =
        std::make_unique<LineReader>(std::move(input), size_t{1} << 20, ctx_.max_record_bytes());
    format_ = op_.FormatOf(i);
    raw_reported_ = 0;
    stats_.Add("files", 1);
    return true;
  }

  void CloseFile() {
    ReportProgress();
    reader_.reset();
  }

  void ReportProgress() {
    if (reader_ == nullptr) return;
    const uint64_t raw = reader_->input().raw_bytes_read();
    ctx_.progress().AddBytes(raw - raw_reported_);
    stats_.Add("input_bytes", raw - raw_reported_);
    raw_reported_ = raw;
  }

  void AppendMeta() {
    StringColumn& meta = *targets_.back();
    std::string& bytes = meta.bytes();
    bytes.append(reader_->input().name());
    bytes.push_back(':');
    bytes.append(std::to_string(reader_->line_number()));
    data_bytes_ += meta.bytes().size() - meta.offsets().back();
    meta.EndRecord();
  }

  void AddLine(std::string_view line) {
    if (op_.options().skip_empty && line.empty()) {
      stats_.Drop("empty line");
      return;
    }
    targets_[0]->Append(line);
    data_bytes_ += line.size();
    if (op_.options().meta) AppendMeta();
  }

  void AddJsonLine(std::string_view line) {
    if (reader_->line_number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (IsBlank(line)) {
      stats_.Add("blank_lines", 1);
      return;
    }
    if (padded_.size() < line.size() + simdjson::SIMDJSON_PADDING) {
      padded_.resize(std::max(line.size() + simdjson::SIMDJSON_PADDING, 2 * padded_.size()));
    }
    std::memcpy(padded_.data(), line.data(), line.size());
    simdjson::dom::element doc;
    if (auto error = parser_.parse(padded_.data(), line.size(), false).get(doc)) {
      return BadRecord("malformed JSON",
                       std::string("malformed JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
      return BadRecord("not a JSON object",
                       "expected a JSON object, found " + std::string(JsonTypeName(doc.type())));
    }
    const std::vector<std::string>& fields = op_.options().fields;
    values_.clear();
    for (const std::string& field : fields) {
      simdjson::dom::element value;
      if (object.at_key(field).get(value) != simdjson::SUCCESS) {
        return BadRecord("missing field '" + field + "'", "no field '" + field + "'");
      }
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return BadRecord("field '" + field + "' not a string",
                         "field '" + field + "' is " + std::string(JsonTypeName(value.type())) +
                             ", not a string");
      }
      if (op_.options().skip_empty && text.empty()) {
        stats_.Drop("empty " + field);
        return;
      }
      values_.push_back(text);
    }
    for (size_t i = 0; i < values_.size(); ++i) {
      targets_[i]->Append(values_[i]);
      data_bytes_ += values_[i].size();
    }
    if (op_.options().meta) AppendMeta();
  }

  /// Fail with "FILE:LINE: message", or drop the record under `reason`.
  void BadRecord(const std::string& reason, const std::string& message) {
    if (op_.options().skip_bad_records) {
      stats_.Drop(reason);
      return;
    }
    throw DataError(reader_->input().name() + ":" + std::to_string(reader_->line_number()) + ": " +
                    message + " (use --on-error skip to drop bad records)");
  }

  std::string FormatsText() const {
    bool lines = false, jsonl = false;
    for (size_t i = 0; i < op_.paths().size(); ++i) {
      (op_.FormatOf(i) == TextFormat::kJsonl ? jsonl : lines) = true;
    }
    return lines && jsonl ? "lines+jsonl" : jsonl ? "jsonl" : "lines";
  }

  const ReadOperator& op_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  std::vector<std::string> columns_;
  uint64_t batch_cost_;
  std::vector<StringColumn*> targets_;
  uint64_t data_bytes_ = 0;
  uint64_t lines_read_ = 0;

  size_t next_file_ = 0;
  std::unique_ptr<LineReader> reader_;
  TextFormat format_ = TextFormat::kLines;
  uint64_t raw_reported_ = 0;

  simdjson::dom::parser parser_;
  std::vector<char> padded_;
  std::vector<std::string_view> values_;
};

}  // namespace

ReadOperator::ReadOperator(ReadOptions options) : options_(std::move(options)) {
  if (options_.inputs.empty()) throw InvalidArgument("no input; usage: read PATH... [options]");
  for (const std::string& pattern : options_.inputs) {
    for (std::string& path : ExpandInputPattern(pattern)) paths_.push_back(std::move(path));
  }
  if (std::count(paths_.begin(), paths_.end(), "-") > 1) {
    throw InvalidArgument("stdin ('-') can be read only once");
  }
  if (options_.fields.empty()) throw InvalidArgument("--field needs a name");
  for (const std::string& field : options_.fields) {
    if (field.empty()) throw InvalidArgument("--field needs a name");
    if (std::count(options_.fields.begin(), options_.fields.end(), field) > 1) {
      throw InvalidArgument("field '" + field + "' given twice");
    }
  }
  if (!options_.rename.empty() && options_.fields.size() != 1) {
    throw InvalidArgument("--as renames a single field, but " +
                          std::to_string(options_.fields.size()) + " fields are read");
  }
  for (const std::string& path : paths_) {
    const TextFormat format = options_.format.value_or(TextFormatFromPath(path));
    if (format == TextFormat::kLines && options_.fields.size() != 1) {
      throw InvalidArgument(path + " is read as lines, which give one field, but " +
                            std::to_string(options_.fields.size()) +
                            " fields are named (use --format jsonl?)");
    }
    formats_.push_back(format);
  }
  columns_ = options_.fields;
  if (!options_.rename.empty()) columns_[0] = options_.rename;
  if (options_.meta && std::count(columns_.begin(), columns_.end(), "meta") > 0) {
    throw InvalidArgument("--meta adds a column 'meta', which a field already uses");
  }
}

void ReadOperator::Validate(const PlanContext& /*ctx*/) const {
  for (const std::string& path : paths_) CheckInputReadable(path);
}

Schema ReadOperator::OutputSchema(const Schema& /*input*/) const {
  Schema schema;
  for (const std::string& column : columns_) schema.Set(Field{column, FieldType::kString, 0});
  if (options_.meta) schema.Set(Field{"meta", FieldType::kString, 0});
  return schema;
}

std::string ReadOperator::Describe() const {
  std::string text = "read ";
  text += paths_.size() == 1 ? (paths_[0] == "-" ? std::string("stdin") : paths_[0])
                             : std::to_string(paths_.size()) + " files";
  bool lines = false, jsonl = false;
  for (TextFormat f : formats_) (f == TextFormat::kJsonl ? jsonl : lines) = true;
  text += lines && jsonl ? " as lines and jsonl" : jsonl ? " as jsonl" : " as lines";
  if (options_.compression)
    text += " (" + std::string(CompressionName(*options_.compression)) + ")";
  return text;
}

std::unique_ptr<BatchReader> ReadOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<ReadRun>(*this, ctx.exec, ctx.stats);
}

std::optional<uint64_t> ReadOperator::TotalBytes() const { return TotalFileBytes(paths_); }

namespace {

/// Split "a,b" and repeated values into one list.
std::vector<std::string> SplitNames(const std::vector<std::string>& values) {
  std::vector<std::string> names;
  for (const std::string& value : values) {
    size_t start = 0;
    for (;;) {
      const size_t comma = value.find(',', start);
      names.push_back(value.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return names;
}

std::optional<TextFormat> ParseFormatOption(const std::string& text) {
  if (text == "auto") return std::nullopt;
  if (text == "lines" || text == "text" || text == "txt") return TextFormat::kLines;
  if (text == "jsonl" || text == "json" || text == "ndjson") return TextFormat::kJsonl;
  throw InvalidArgument("unknown --format '" + text + "' (expected auto, lines or jsonl)");
}

std::optional<Compression> ParseCompressionOption(const std::string& text) {
  if (text == "auto") return std::nullopt;
  return ParseCompression(text);
}

}  // namespace

static const OperatorRegistrar kRegisterRead(OperatorDef{
    .name = "read",
    .role = OperatorRole::kSource,
    .synopsis = "read PATH... [options]",
    .summary = "Read text lines or JSONL from files, globs or stdin (.gz/.bz2/.zst)",
    .details =
        "Each PATH is a file, a glob pattern (quoted: 'data/*.jsonl.zst', expanded in sorted "
        "order) or - for stdin; files are read one after the other. Compression follows the "
        "extension (.gz, .bz2, .zst) unless --compression says otherwise.\n"
        "lines: every line is a record, byte for byte (NUL, 0xFF, CR and empty lines kept; a last "
        "line without newline is a record). jsonl (.jsonl, .ndjson, .json): one JSON object per "
        "line; each --field must hold a string and becomes a column of that name; blank lines "
        "are skipped. A bad record (malformed JSONL, or a line longer than the run's "
        "--max-record-bytes, by default an eighth of --memory) stops the run with FILE:LINE "
        "unless --on-error skip, which drops it and counts it by reason.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("format", po::value<std::string>()->default_value("auto"),
                                "auto (by extension), lines or jsonl")(
              "field", po::value<std::vector<std::string>>()->composing(),
              "JSONL key(s) to read, repeatable or comma-separated (default text); with lines, "
              "the column name")("as", po::value<std::string>(),
                                 "name of the column of a single field")(
              "compression", po::value<std::string>()->default_value("auto"),
              "auto (by extension), none, gzip, bzip2 or zstd")("skip-empty", po::bool_switch(),
                                                                "drop empty records (counted)")(
              "on-error", po::value<std::string>()->default_value("fail"),
              "bad record (malformed JSONL, longer than --max-record-bytes): fail (FILE:LINE) "
              "or skip (dropped, counted by reason)")(
              "meta", po::bool_switch(), "add a column 'meta' with FILE:LINE of each record");
          o.hidden.add_options()("input", po::value<std::vector<std::string>>(), "input files");
          o.positional.add("input", -1);
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      ReadOptions options;
      if (v.count("input")) options.inputs = v["input"].as<std::vector<std::string>>();
      options.format = ParseFormatOption(v["format"].as<std::string>());
      if (v.count("field")) options.fields = SplitNames(v["field"].as<std::vector<std::string>>());
      if (v.count("as")) options.rename = v["as"].as<std::string>();
      options.compression = ParseCompressionOption(v["compression"].as<std::string>());
      options.skip_empty = v["skip-empty"].as<bool>();
      const std::string on_error = v["on-error"].as<std::string>();
      if (on_error != "fail" && on_error != "skip") {
        throw InvalidArgument("unknown --on-error '" + on_error + "' (expected fail or skip)");
      }
      options.skip_bad_records = on_error == "skip";
      options.meta = v["meta"].as<bool>();
      return std::make_unique<ReadOperator>(std::move(options));
    },
});

}  // namespace corpusflow
