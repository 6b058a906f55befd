#include "operators/io/read.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/interrupt.h"
#include "engine/io/line_reader.h"
#include "engine/io/paths.h"
#include "engine/name_registry.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/io/json_text.h"

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

/// "no field 'txt' (did you mean 'text'?); the record has text, id; 'src' comes from ...": why
/// `field` is missing from `object`, with what the record has and where the field comes from.
std::string MissingFieldMessage(const std::string& field, simdjson::dom::object object) {
  constexpr size_t kListed = 8;
  std::vector<std::string> keys;
  for (const simdjson::dom::key_value_pair member : object) {
    if (std::find(keys.begin(), keys.end(), member.key) == keys.end()) {
      keys.emplace_back(member.key);
    }
  }
  std::string message = "no field '" + field + "'" + DidYouMean(field, keys, 1) + "; the record ";
  if (keys.empty()) message += "is empty";
  for (size_t i = 0; i < keys.size() && i < kListed; ++i) {
    message += (i == 0 ? "has " : ", ") + keys[i];
  }
  if (keys.size() > kListed) message += ", ... (" + std::to_string(keys.size()) + " fields)";
  const std::string origin = OperatorRegistry::Global().FieldOrigin(field);
  if (!origin.empty()) message += "; " + origin;
  return message;
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

class ReadRun : public BatchReader {
 public:
  ReadRun(const ReadOperator& op, const OpenContext& open)
      : op_(op),
        ctx_(open.exec),
        stats_(open.stats),
        layout_(op.OutputSchema(Schema()).fields()),
        later_fields_(open.later_fields),
        fields_(op.options().fields.size()) {
    batch_cost_ = std::max<uint64_t>(ctx_.batch_bytes(), 1);
    stats_.SetText("format", FormatsText());
    // The input byte space (engine/slices.h), and this rank's share of its slices: all of them
    // for one process; for rank r of n, slices [S*r/n, S*(r+1)/n) of the S slices.
    uint64_t total = 0;
    for (const std::string& path : op_.paths()) {
      file_bytes_.push_back(InputSpaceBytes(path));
      total += file_bytes_.back();
    }
    if (ctx_.divides_input()) {
      for (const std::string& path : op_.paths()) {
        // A stream cannot be cut, nor read by every rank or task.
        if (path == "-" || !std::filesystem::is_regular_file(path)) {
          throw InvalidArgument("read: " + (path == "-" ? std::string("stdin") : path) +
                                " is a stream, which the ranks of an MPI run or the tasks of a "
                                "checkpointed run cannot share; give files");
        }
      }
      if (op_.options().meta) {
        throw InvalidArgument(
            "read --meta names each record's FILE:LINE, which a rank or task that starts inside "
            "a file does not know; run it as one process without --checkpoint");
      }
      const uint64_t slice = ctx_.slice_bytes();
      const uint64_t slices = std::max<uint64_t>(1, (total + slice - 1) / slice);
      const auto [first, end] = ctx_.InputSliceRange(slices);
      range_begin_ = first * slice;
      if (end < slices) range_end_ = end * slice;
    }
  }

  bool Next(Batch* out) override {
    PrepareColumns(out);
    uint64_t cost = 0;
    const uint64_t per_record = kOffsetBytes * layout_.size();
    // The records of one batch are of one input slice (engine/slices.h): a line of the next
    // slice waits for the next batch.
    std::optional<uint64_t> slice;
    while (cost < batch_cost_) {
      std::string_view line;
      LineReader::Status status;
      if (pending_) {
        pending_ = false;
        line = pending_line_;
        status = pending_status_;
      } else {
        if (reader_ == nullptr && !OpenNextFile()) {
          CheckEveryFieldFound();
          break;
        }
        status = reader_->Read(&line);
      }
      if (status == LineReader::Status::kEnd) {
        CloseFile();
        continue;
      }
      const uint64_t line_offset = file_base_ + (file_compressed_ ? 0 : reader_->line_offset());
      if (line_offset >= range_end_) {
        // The rest of the input is the next ranks'.
        CloseFile();
        next_file_ = op_.paths().size();
        continue;
      }
      const uint64_t line_slice = SliceOf(line_offset, ctx_.slice_bytes());
      if (slice != line_slice) {
        if (out->num_records() > 0) {
          pending_ = true;
          pending_line_.assign(line);
          pending_status_ = status;
          break;
        }
        slice = line_slice;
        out->set_origin(SliceOrigin(line_slice));
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
    bool same = out->columns().size() == layout_.size();
    for (size_t i = 0; same && i < layout_.size(); ++i)
      same = out->columns()[i].field == layout_[i];
    if (same) {
      out->ClearRecords();
    } else {
      out->Reset();
      for (const Field& field : layout_) out->AddField(field);
    }
    targets_.clear();
    for (size_t i = 0; i < layout_.size(); ++i) {
      targets_.push_back(&std::get<StringColumn>(out->columns()[i].data));
    }
  }

  /// Open the next file with records in this rank's range of the input byte space; false at the
  /// end.
  bool OpenNextFile() {
    for (;;) {
      if (next_file_ >= op_.paths().size()) return false;
      const size_t i = next_file_++;
      const std::string& path = op_.paths()[i];
      const ReadOptions& options = op_.options();
      const Compression compression = options.compression.value_or(
          path == "-" ? Compression::kNone : CompressionFromPath(path));
      // This file's place in the run's input byte space: after the files before it.
      file_base_ = next_file_base_;
      next_file_base_ += file_bytes_[i];
      file_compressed_ = compression != Compression::kNone;
      const char delimiter = options.zero_terminated ? '\0' : '\n';
      // A compressed file or a stream is read whole by the rank whose range holds its start; a
      // plain file by every rank whose range it overlaps, each from the first record that starts
      // in its range.
      uint64_t start = 0;
      if (file_compressed_ || file_bytes_[i] == 0) {
        if (file_base_ < range_begin_ || file_base_ >= range_end_) continue;
      } else {
        if (file_base_ + file_bytes_[i] <= range_begin_ || file_base_ >= range_end_) continue;
        if (range_begin_ > file_base_) start = range_begin_ - file_base_ - 1;
      }
      std::unique_ptr<InputStream> input = start == 0
                                               ? OpenInput(path, compression, ctx_.file_system())
                                               : OpenPlainInputAt(path, start, ctx_.file_system());
      // The line reader holds no more of a line than the run's record limit.
      reader_ = std::make_unique<LineReader>(std::move(input), size_t{1} << 20,
                                             ctx_.max_record_bytes(), delimiter, start);
      reader_start_ = start;
      format_ = op_.FormatOf(i);
      raw_reported_ = start;
      stats_.Add("files", 1);
      if (start > 0) {
        // The record under the byte before the range belongs to the rank before.
        std::string_view line;
        if (reader_->Read(&line) == LineReader::Status::kEnd) {
          CloseFile();
          continue;
        }
      }
      return true;
    }
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
    simdjson::error_code error = parser_.parse(padded_.data(), line.size(), false).get(doc);
    if (error == simdjson::NUMBER_ERROR && BlankJsonNumbers(padded_.data(), line.size())) {
      // Valid numbers out of double's range are valid JSON (Python reads 1e400 as inf): parse
      // again with every valid number blanked; an invalid one still fails.
      error = parser_.parse(padded_.data(), line.size(), false).get(doc);
    }
    if (error) {
      return BadRecord("malformed JSON",
                       std::string("malformed JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
      return BadRecord("not a JSON object",
                       "expected a JSON object, found " + std::string(JsonTypeName(doc.type())));
    }
    const ReadOptions& options = op_.options();
    const std::vector<std::string>& fields = options.fields;
    members_split_ = false;
    // A key given twice: the last value counts, as in Python's json module and jq.
    found_.assign(fields.size(), simdjson::dom::element());
    found_index_.assign(fields.size(), kNotFound);
    size_t index = 0;
    for (const simdjson::dom::key_value_pair pair : object) {
      for (size_t k = 0; k < fields.size(); ++k) {
        if (pair.key == fields[k]) {
          found_[k] = pair.value;
          found_index_[k] = index;
        }
      }
      ++index;
    }
    values_.clear();
    for (size_t k = 0; k < fields.size(); ++k) {
      const std::string& field = fields[k];
      if (found_index_[k] == kNotFound) {
        const std::string message = MissingFieldMessage(field, object);
        FieldCount& count = fields_[k];
        if (count.missing++ == 0) count.first_missing = Where() + ": " + message;
        return BadRecord("missing field '" + field + "'", message);
      }
      ++fields_[k].found;
      const simdjson::dom::element value = found_[k];
      std::string_view text;
      const simdjson::dom::element_type type = value.type();
      if (type == simdjson::dom::element_type::INT64 ||
          type == simdjson::dom::element_type::UINT64 ||
          type == simdjson::dom::element_type::DOUBLE) {
        // A number is kept as it is written ("kept as its JSON text").
        text = RawValue(line, found_index_[k]);
        ++numbers_as_text_;
      } else if (value.get_string().get(text) != simdjson::SUCCESS) {
        return BadRecord("field '" + field + "' not a string",
                         "field '" + field + "' is " + std::string(JsonTypeName(type)) +
                             ", not a string or number (--all-fields carries any JSON value)");
      }
      if (options.skip_empty && text.empty()) {
        stats_.Drop("empty " + field);
        return;
      }
      values_.push_back(text);
    }
    if (options.all_fields) CollectOtherMembers(line, object);
    for (size_t i = 0; i < values_.size(); ++i) {
      targets_[i]->Append(values_[i]);
      data_bytes_ += values_[i].size();
    }
    if (options.all_fields) {
      targets_[values_.size()]->Append(other_);
      data_bytes_ += other_.size();
    }
    if (options.meta) AppendMeta();
  }

  /// "FILE:LINE" of the line last read.
  std::string Where() const {
    if (reader_start_ > 0) {
      // A rank that starts inside a file does not know the line numbers.
      return reader_->input().name() + " (the record at byte " +
             std::to_string(reader_->line_offset()) + ")";
    }
    return reader_->input().name() + ":" + std::to_string(reader_->line_number());
  }

  /// Split `line` into its members as written, once per record.
  void SplitMembers(std::string_view line) {
    if (members_split_) return;
    SplitJsonMembers(line, &members_);
    members_split_ = true;
  }

  /// The value of the member at `index` of the record's object, as written in `line`.
  std::string_view RawValue(std::string_view line, size_t index) {
    SplitMembers(line);
    CF_CHECK(index < members_.size(), "read: a parsed member is not in the line");
    return members_[index].value;
  }

  /// Fill other_ with the members of `object` that no column holds, as one JSON object, each as
  /// written. A key given twice keeps its first place and its last value, as Python's json and jq
  /// do (and as --field takes the last value). A member that a column or a later stage would
  /// replace is an error unless that stage may --overwrite it (it is dropped).
  void CollectOtherMembers(std::string_view line, simdjson::dom::object object) {
    SplitMembers(line);
    const ReadOptions& options = op_.options();
    keys_.clear();
    for (const simdjson::dom::key_value_pair member : object) keys_.push_back(member.key);
    CF_CHECK(keys_.size() == members_.size(), "read: the members of a parsed object do not match");
    other_.assign("{");
    other_keys_.clear();
    for (size_t index = 0; index < keys_.size(); ++index) {
      const std::string_view key = keys_[index];
      if (std::find(options.fields.begin(), options.fields.end(), key) != options.fields.end() ||
          std::find(other_keys_.begin(), other_keys_.end(), key) != other_keys_.end()) {
        continue;
      }
      if (key != kOtherMembersColumn &&
          std::any_of(layout_.begin(), layout_.end(),
                      [&](const Field& column) { return column.name == key; })) {
        throw DataError(
            Where() + ": field '" + std::string(key) + "' would be overwritten by " +
            (key == "meta" && options.meta ? std::string("--meta") : "--as " + std::string(key)) +
            "; name the column otherwise");
      }
      if (const FieldClaim* claim = FindLaterField(key)) {
        if (claim->overwrite) {
          ++replaced_;
          continue;
        }
        throw DataError(Where() + ": field '" + std::string(key) + "' would be overwritten by " +
                        claim->stage + " (pass --overwrite to " + claim->stage +
                        " to replace it, or " + claim->field.option + " NAME to keep both)");
      }
      size_t last = index;
      for (size_t j = index + 1; j < keys_.size(); ++j) {
        if (keys_[j] == key) last = j;
      }
      other_keys_.push_back(key);
      if (other_.size() > 1) other_.push_back(',');
      other_.append(members_[index].key);
      other_.push_back(':');
      other_.append(members_[last].value);
    }
    other_.push_back('}');
  }

  const FieldClaim* FindLaterField(std::string_view name) const {
    for (const FieldClaim& claim : later_fields_) {
      if (claim.field.name == name) return &claim;
    }
    return nullptr;
  }

  /// At the end of the input: a field that no record had, whose records --on-error skip
  /// dropped one by one, is an error (the output would be empty).
  void CheckEveryFieldFound() {
    if (checked_) return;
    checked_ = true;
    if (numbers_as_text_ > 0) stats_.Add("numbers_as_text", numbers_as_text_);
    if (replaced_ > 0) stats_.Add("members_replaced", replaced_);
    for (size_t k = 0; k < fields_.size(); ++k) {
      const FieldCount& count = fields_[k];
      if (count.found > 0 || count.missing == 0) continue;
      throw DataError("read: no record has field '" + op_.options().fields[k] +
                      "', so --on-error skip dropped all " + std::to_string(count.missing) +
                      " records; the first: " + count.first_missing);
    }
  }

  /// Fail with "FILE:LINE: message", or drop the record under `reason`.
  void BadRecord(const std::string& reason, const std::string& message) {
    if (op_.options().skip_bad_records) {
      stats_.Drop(reason);
      return;
    }
    throw DataError(Where() + ": " + message + " (use --on-error skip to drop bad records)");
  }

  std::string FormatsText() const {
    bool lines = false, jsonl = false;
    for (size_t i = 0; i < op_.paths().size(); ++i) {
      (op_.FormatOf(i) == TextFormat::kJsonl ? jsonl : lines) = true;
    }
    return lines && jsonl ? "lines+jsonl" : jsonl ? "jsonl" : "lines";
  }

  /// How many records had a --field, and how many lacked it (the first named).
  struct FieldCount {
    uint64_t found = 0;
    uint64_t missing = 0;
    std::string first_missing;
  };

  const ReadOperator& op_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  /// The open file's first byte in the input byte space (engine/slices.h), the next file's, and
  /// whether the open file is compressed (all its records are of the slice where it starts).
  uint64_t file_base_ = 0;
  uint64_t next_file_base_ = 0;
  bool file_compressed_ = false;
  /// Each input's bytes in the input byte space (InputSpaceBytes), and this rank's range of it.
  std::vector<uint64_t> file_bytes_;
  uint64_t range_begin_ = 0;
  uint64_t range_end_ = std::numeric_limits<uint64_t>::max();
  /// Where the open file's reader started (0, or inside the file under MPI).
  uint64_t reader_start_ = 0;
  /// A line read for a batch that had to end first: it begins the next one.
  bool pending_ = false;
  std::string pending_line_;
  LineReader::Status pending_status_ = LineReader::Status::kLine;
  /// The columns of every batch: the fields, `*` (--all-fields), `meta` (--meta).
  std::vector<Field> layout_;
  /// OpenContext::later_fields, copied: the run may outlive the context.
  std::vector<FieldClaim> later_fields_;
  std::vector<FieldCount> fields_;
  bool checked_ = false;
  uint64_t numbers_as_text_ = 0;
  uint64_t replaced_ = 0;
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
  static constexpr size_t kNotFound = ~size_t{0};
  /// Per requested field: its last value in the record and that member's index (kNotFound).
  std::vector<simdjson::dom::element> found_;
  std::vector<size_t> found_index_;
  std::vector<RawMember> members_;
  bool members_split_ = false;
  std::string other_;
  std::vector<std::string_view> other_keys_;
  /// The keys of the record's object, in order (duplicates included).
  std::vector<std::string_view> keys_;
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
  if (options_.all_fields) {
    if (std::count(columns_.begin(), columns_.end(), kOtherMembersColumn) > 0) {
      throw InvalidArgument("--all-fields adds the column '*', which a field already uses");
    }
    for (size_t i = 0; i < paths_.size(); ++i) {
      if (formats_[i] != TextFormat::kJsonl) {
        throw InvalidArgument("--all-fields keeps the fields of JSONL records, but " + paths_[i] +
                              " is read as lines (use --format jsonl?)");
      }
    }
  }
  if (options_.zero_terminated) {
    for (size_t i = 0; i < paths_.size(); ++i) {
      if (formats_[i] != TextFormat::kLines) {
        throw InvalidArgument("--zero-terminated reads lines that end at NUL, but " + paths_[i] +
                              " is read as JSONL (use --format lines?)");
      }
    }
  }
}

void ReadOperator::Validate(const PlanContext& /*ctx*/) const {
  for (const std::string& path : paths_) CheckInputReadable(path);
}

Schema ReadOperator::OutputSchema(const Schema& /*input*/) const {
  Schema schema;
  for (const std::string& column : columns_) schema.Set(Field{column, FieldType::kString, 0});
  if (options_.all_fields) {
    schema.Set(Field{std::string(kOtherMembersColumn), FieldType::kJsonMembers, 0});
  }
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
  return std::make_unique<ReadRun>(*this, ctx);
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
        "line without newline is a record; with -z/--zero-terminated a line ends at NUL instead, "
        "as shuf -z reads, and may hold newlines). jsonl (.jsonl, .ndjson, .json): one JSON object "
        "per "
        "line; each --field becomes a string column of that name (a string as its text, a "
        "number as its JSON text: 7 -> \"7\"); blank lines are skipped. --all-fields keeps "
        "every other member too, each value byte for byte (numbers, booleans, null, objects, "
        "arrays), in one column '*' that write puts back as the same JSON members; a member that "
        "a later stage adds is an error (FILE:LINE) unless that stage has --overwrite. A bad "
        "record (malformed JSONL, or a line longer than the run's --max-record-bytes, by default "
        "an eighth of --memory) stops the run with FILE:LINE unless --on-error skip, which drops "
        "it and counts it by reason; a --field that no record has is an error either way.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("format", po::value<std::string>()->default_value("auto"),
                                "auto (by extension), lines or jsonl")(
              "field", po::value<std::vector<std::string>>()->composing(),
              "JSONL key(s) to read, repeatable or comma-separated (default text; a key given "
              "twice: its last value, as in Python and jq); with lines, the column name")(
              "as", po::value<std::string>(), "name of the column of a single field")(
              "compression", po::value<std::string>()->default_value("auto"),
              "auto (by extension), none, gzip, bzip2 or zstd")("skip-empty", po::bool_switch(),
                                                                "drop empty records (counted)")(
              "on-error", po::value<std::string>()->default_value("fail"),
              "bad record (malformed JSONL, longer than --max-record-bytes): fail (FILE:LINE) "
              "or skip (dropped, counted by reason)")(
              "meta", po::bool_switch(), "add a column 'meta' with FILE:LINE of each record")(
              "all-fields", po::bool_switch(),
              "jsonl: keep every other field as JSON in the column '*' (write puts them back)")(
              "zero-terminated,z", po::bool_switch(),
              "lines: a line ends at NUL, not newline (as shuf -z)");
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
      options.all_fields = v["all-fields"].as<bool>();
      options.zero_terminated = v["zero-terminated"].as<bool>();
      return std::make_unique<ReadOperator>(std::move(options));
    },
});

}  // namespace corpusflow
