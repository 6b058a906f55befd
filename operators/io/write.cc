#include "operators/io/write.h"

#include <algorithm>
#include <cstring>

#include "engine/check.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"
#include "engine/json_writer.h"
#include "engine/registry.h"
#include "engine/sharding.h"
#include "engine/stats.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Estimated memory of one open shard (write buffer, codec state, batch slice), for the
/// plan-time check of `--shards`.
constexpr uint64_t kShardMemoryBytes = 4 << 20;

/// One output file of the run.
struct Shard {
  std::unique_ptr<OutputStream> stream;
  std::string buffer;  // formatted records of the current batch
  bool closed = false;
};

class WriteRun : public BatchWriter {
 public:
  WriteRun(const WriteOperator& op, const OpenContext& open)
      : op_(op),
        options_(op.options()),
        ctx_(open.exec),
        stats_(open.stats),
        dealer_(options_.shard_policy, options_.shards, open.input.records, "write") {
    ExecContext& ctx = open.exec;
    output_options_.run_files = ctx.run_files();
    output_options_.level = options_.level;
    output_options_.compression = op.compression();
    output_options_.sync = options_.fsync;
    const bool single = options_.shards <= 1 && options_.shard_bytes == 0;
    output_options_.threads = options_.compression_threads.value_or(single ? ctx.threads() : 0);
    if (options_.shards > 0) {
      for (uint64_t i = 0; i < options_.shards; ++i) {
        OpenShard(ShardFilePath(options_.path, i, options_.shards));
      }
    } else if (options_.shard_bytes == 0) {
      OpenShard(options_.path);
    }
  }

  bool ordered() const override { return true; }

  void Write(Batch& batch, OpState* /*local*/) override {
    ResolveColumns(batch);
    const size_t n = batch.num_records();
    for (size_t i = 0; i < n; ++i) {
      ++records_seen_;
      current_ = i;
      Shard& shard = TargetShard();
      const size_t mark = shard.buffer.size();
      const bool kept = op_.format() == TextFormat::kLines ? FormatLine(i, &shard.buffer)
                                                           : FormatJson(i, &shard.buffer);
      if (options_.shards > 0) dealer_.Advance(kept);
      if (!kept) {
        shard.buffer.resize(mark);
        continue;
      }
      ++kept_;
      if (options_.shard_bytes > 0 &&
          shard.stream->bytes_written() + shard.buffer.size() >= options_.shard_bytes) {
        FlushShard(shard);
        shard.stream->Close();
        shard.closed = true;
      }
    }
    for (Shard& shard : shards_) FlushShard(shard);
  }

  void Finish() override {
    if (shards_.empty()) OpenShard(ShardFilePath(options_.path, 0, 0));
    uint64_t bytes = 0;
    for (Shard& shard : shards_) {
      FlushShard(shard);
      shard.stream->Close();
      bytes += shard.stream->bytes_written();
    }
    // Across MPI ranks this rank's file m is its part of round-robin shard (turn + m) mod N,
    // which the commit joins after the parts of the ranks before (RoundRobinTurn).
    const uint64_t count = shards_.size();
    const uint64_t rotation = RoundRobinTurn(ctx_.cluster(), kept_, count);
    // Every file is complete; the run renames them all once it has succeeded.
    for (uint64_t k = 0; k < count; ++k) {
      std::unique_ptr<DeferredCommit> part =
          DeferOutput(std::move(shards_[(k + count - rotation) % count].stream));
      if (rotation != 0) {
        const std::string target = ShardFilePath(options_.path, k, options_.shards);
        part = RetargetFiles(std::move(part), [target](const std::string&) { return target; });
      }
      ctx_.DeferCommit(std::move(part));
    }
    // The joined output has rank 0's files.
    if (ctx_.cluster().rank() == 0 && !ctx_.writes_parts()) stats_.Add("files", count);
    stats_.Add("output_bytes", bytes);
    if (replaced_ > 0) stats_.Add("invalid_utf8_replaced", replaced_);
  }

 private:
  void OpenShard(const std::string& path) {
    Shard shard;
    shard.stream = CreateOutput(path, output_options_);
    shards_.push_back(std::move(shard));
  }

  /// The shard the next kept record goes to.
  Shard& TargetShard() {
    if (options_.shards > 0) return shards_[dealer_.shard()];
    if (options_.shard_bytes > 0 && (shards_.empty() || shards_.back().closed)) {
      OpenShard(ShardFilePath(options_.path, shards_.size(), 0));
    }
    return shards_.back();
  }

  void FlushShard(Shard& shard) {
    if (shard.buffer.empty()) return;
    shard.stream->Write(shard.buffer);
    shard.buffer.clear();
  }

  void ResolveColumns(const Batch& batch) {
    const Column* meta = batch.Find("meta");
    meta_ = meta != nullptr ? std::get_if<StringColumn>(&meta->data) : nullptr;
    columns_.clear();
    if (op_.format() == TextFormat::kLines) {
      const std::string name = options_.fields.empty() ? "text" : options_.fields[0];
      columns_.push_back(&RequireColumn(batch, name));
      return;
    }
    if (options_.fields.empty()) {
      for (const Column& c : batch.columns()) columns_.push_back(&c);
    } else {
      for (const std::string& name : options_.fields)
        columns_.push_back(&RequireColumn(batch, name));
    }
    keys_.clear();
    for (const Column* c : columns_) keys_.emplace_back(c->field.name);
  }

  static const Column& RequireColumn(const Batch& batch, const std::string& name) {
    const Column* c = batch.Find(name);
    CF_CHECK(c != nullptr, "write: batch has no column '" + name + "'");
    return *c;
  }

  /// Where a bad record is: its ordinal at this stage, and its origin when `read --meta` gave one.
  std::string RecordName() const {
    std::string name = "record " + std::to_string(records_seen_);
    if (meta_ != nullptr) name += " (" + std::string((*meta_)[current_]) + ")";
    return name;
  }

  bool FormatLine(size_t i, std::string* out) {
    const std::string_view text = std::get<StringColumn>(columns_[0]->data)[i];
    if (std::memchr(text.data(), '\n', text.size()) != nullptr) {
      switch (options_.newline) {
        case NewlinePolicy::kFail:
          throw DataError("write " + options_.path + ": " + RecordName() + " of field '" +
                          columns_[0]->field.name +
                          "' contains a newline, so it cannot be one line (use --newline space "
                          "or drop, or --format jsonl)");
        case NewlinePolicy::kDrop:
          stats_.Drop("newline in record");
          return false;
        case NewlinePolicy::kSpace: {
          const size_t start = out->size();
          out->append(text);
          std::replace(out->begin() + static_cast<std::ptrdiff_t>(start), out->end(), '\n', ' ');
          out->push_back('\n');
          stats_.Add("newlines_replaced", 1);
          return true;
        }
      }
    }
    out->append(text);
    out->push_back('\n');
    return true;
  }

  /// Write a string value, applying the invalid UTF-8 policy; false when the record is dropped.
  bool AppendString(std::string_view s, const Column& column, JsonWriter& json) {
    if (IsValidUtf8(s)) {
      json.String(s);
      return true;
    }
    switch (options_.invalid_utf8) {
      case BadUtf8Policy::kError:
        throw DataError("write " + options_.path + ": " + RecordName() + ": field '" +
                        column.field.name +
                        "' is not valid UTF-8, which JSON requires (use --invalid-utf8 replace "
                        "or drop, or --format lines)");
      case BadUtf8Policy::kDrop:
        stats_.Drop("invalid UTF-8");
        return false;
      case BadUtf8Policy::kReplace:
        replaced_ += ReplaceInvalidUtf8(s, &repaired_);
        json.String(repaired_);
        return true;
    }
    return false;
  }

  bool FormatJson(size_t i, std::string* out) {
    JsonWriter json(out);
    json.BeginObject();
    for (size_t k = 0; k < columns_.size(); ++k) {
      const Column& column = *columns_[k];
      if (column.field.type == FieldType::kJsonMembers) {
        // read --all-fields: the record's other members, written back as they were read.
        const std::string_view object = std::get<StringColumn>(column.data)[i];
        CF_CHECK(object.size() >= 2 && object.front() == '{' && object.back() == '}',
                 "write: column '" + column.field.name + "' does not hold a JSON object");
        json.RawMembers(object.substr(1, object.size() - 2));
        continue;
      }
      json.Key(keys_[k]);
      if (const auto* s = std::get_if<StringColumn>(&column.data)) {
        if (!AppendString((*s)[i], column, json)) return false;
      } else if (const auto* list = std::get_if<StringListColumn>(&column.data)) {
        json.BeginArray();
        for (size_t j = 0; j < list->ItemCount(i); ++j) {
          if (!AppendString(list->Item(i, j), column, json)) return false;
        }
        json.EndArray();
      } else if (const auto* lists = std::get_if<Int32ListListColumn>(&column.data)) {
        json.BeginArray();
        for (size_t j = 0; j < lists->ItemCount(i); ++j) {
          json.BeginArray();
          for (const int32_t id : lists->Item(i, j)) json.Int(id);
          json.EndArray();
        }
        json.EndArray();
      } else {
        json.BeginArray();
        for (const int32_t id : std::get<Int32ListColumn>(column.data)[i]) json.Int(id);
        json.EndArray();
      }
    }
    json.EndObject();
    out->push_back('\n');
    return true;
  }

  const WriteOperator& op_;
  const WriteOptions& options_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  /// Which of the --shards files the next record goes to.
  ShardDealer dealer_;
  OutputOptions output_options_;
  std::vector<Shard> shards_;
  std::vector<const Column*> columns_;
  const StringColumn* meta_ = nullptr;
  size_t current_ = 0;
  std::vector<JsonKey> keys_;
  std::string repaired_;
  uint64_t records_seen_ = 0;
  /// Records written (a record the sink drops is not).
  uint64_t kept_ = 0;
  uint64_t replaced_ = 0;
};

}  // namespace

WriteOperator::WriteOperator(WriteOptions options) : options_(std::move(options)) {
  if (options_.path.empty()) throw InvalidArgument("no output; usage: write PATH [options]");
  format_ = options_.format.value_or(TextFormatFromPath(options_.path));
  compression_ = options_.compression.value_or(
      options_.path == "-" ? Compression::kNone : CompressionFromPath(options_.path));
  if (format_ == TextFormat::kLines && options_.fields.size() > 1) {
    throw InvalidArgument("lines hold one field, but " + std::to_string(options_.fields.size()) +
                          " are named (use --format jsonl?)");
  }
  for (const std::string& field : options_.fields) {
    if (field.empty()) throw InvalidArgument("--field needs a name");
  }
  if (options_.shards > 0 && options_.shard_bytes > 0) {
    throw InvalidArgument("--shards and --shard-size exclude each other");
  }
  if (options_.path == "-" && (options_.shards > 1 || options_.shard_bytes > 0)) {
    throw InvalidArgument("stdout ('-') cannot be sharded");
  }
  CheckCompressionLevel(compression_, options_.level, "--level", options_.path);
}

void WriteOperator::Validate(const PlanContext& ctx) const {
  CheckOutputWritable(options_.path);
  if (options_.shards > 1) {
    CheckShardsFitOpenFiles(options_.shards, 1, name(), " or --shard-size");
    if (options_.shards * kShardMemoryBytes > ctx.memory_bytes) {
      throw InvalidArgument("--shards " + std::to_string(options_.shards) + " needs about " +
                            FormatBytes(static_cast<double>(options_.shards * kShardMemoryBytes)) +
                            " of buffers, more than the memory budget (" +
                            FormatBytes(static_cast<double>(ctx.memory_bytes)) +
                            "); use --shard-size or a larger --memory");
    }
  }
}

std::vector<std::string> WriteOperator::OutputPaths(const Schema& /*input*/) const {
  if (options_.shards > 1) {
    std::vector<std::string> paths;
    for (uint64_t i = 0; i < options_.shards; ++i) {
      paths.push_back(ShardFilePath(options_.path, i, options_.shards));
    }
    return paths;
  }
  // By size: the later shards' names depend on the data; the run refuses to replace an input
  // with any of them when it creates them.
  if (options_.shard_bytes > 0) return {ShardFilePath(options_.path, 0, 0)};
  return {options_.path};
}

Schema WriteOperator::OutputSchema(const Schema& input) const {
  const std::string who = "write";
  if (format_ == TextFormat::kLines) {
    input.Require(options_.fields.empty() ? "text" : options_.fields[0], FieldType::kString, who);
  } else {
    for (const std::string& name : options_.fields) input.Require(name, who);
    if (input.empty()) throw InvalidArgument("write: upstream produces no field");
  }
  return input;
}

std::string WriteOperator::Describe() const {
  std::string text = "write " + (options_.path == "-" ? std::string("stdout") : options_.path) +
                     " as " + std::string(TextFormatName(format_));
  if (compression_ != Compression::kNone) text += ", " + std::string(CompressionName(compression_));
  if (options_.shards > 1) {
    text += ", " + std::to_string(options_.shards) + " " +
            std::string(ShardPolicyName(options_.shard_policy)) + " shards";
  }
  if (options_.shard_bytes > 0) {
    text += ", shards of " + FormatBytes(static_cast<double>(options_.shard_bytes));
  }
  return text;
}

std::unique_ptr<BatchWriter> WriteOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<WriteRun>(*this, ctx);
}

namespace {

template <typename Enum>
Enum ParseChoice(const std::string& option, const std::string& text,
                 std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) {
    if (text == name) return value;
    names += names.empty() ? name : std::string(", ") + name;
  }
  throw InvalidArgument("unknown " + option + " '" + text + "' (expected " + names + ")");
}

}  // namespace

static const OperatorRegistrar kRegisterWrite(OperatorDef{
    .name = "write",
    .role = OperatorRole::kSink,
    .synopsis = "write PATH [options]",
    .summary = "Write records as text lines or JSONL to a file or stdout (.gz/.bz2/.zst)",
    .details =
        "PATH is a file (compressed by its extension: .gz, .bz2, .zst) or - for stdout. Files "
        "are written to a hidden temp file beside them (.NAME.tmp-XXXXXX) and renamed when the "
        "whole run succeeds; a failed run leaves nothing. Devices, FIFOs and links to them "
        "(/dev/stdout) are written in place. PATH may not be an input of the run.\n"
        "lines: one string field per line (default text); a record holding a newline fails the "
        "run unless --newline space|drop. jsonl (.jsonl, .ndjson, .json): one object per record "
        "with the --field columns (default all; the column '*' of read --all-fields puts back "
        "the other members as they were read); invalid UTF-8 fails the run unless "
        "--invalid-utf8 replace|drop.\n"
        "--shards N writes N files NAME-0000k-of-0000N.EXT: --shard-policy round-robin (default) "
        "deals written records in turn, contiguous cuts the order in N pieces (needs a known "
        "record count: right after shuffle). --shard-size SIZE starts NAME-0000k.EXT after SIZE "
        "uncompressed bytes. docs/io.md, Shards.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("format", po::value<std::string>()->default_value("auto"),
                                "auto (by extension), lines or jsonl")(
              "field", po::value<std::vector<std::string>>()->composing(),
              "field(s) to write, repeatable or comma-separated (lines: one, default text; "
              "jsonl: default all)")("compression", po::value<std::string>()->default_value("auto"),
                                     "auto (by extension), none, gzip, bzip2 or zstd")(
              "level", IntegerValue(-131072, 22)->default_value(0),
              "compression level (0 = default: zstd 3, gzip 6, bzip2 9)")(
              "compression-threads", CountValue(0, 256),
              "zstd worker threads (default: the run's --threads; 0 = inline)")(
              "shards", CountValue(0, kMaxShards)->default_value(0),
              "write N files (see --shard-policy)")(
              "shard-policy", po::value<std::string>()->default_value("round-robin"),
              "round-robin (written records in turn) or contiguous (N pieces of the order)")(
              "shard-size", ByteSizeValue(1),
              "start a new file after SIZE uncompressed bytes (e.g. 1G)")(
              "newline", po::value<std::string>()->default_value("fail"),
              "lines: a record with a newline: fail, space (replace by ' ') or drop")(
              "invalid-utf8", po::value<std::string>()->default_value("fail"),
              "jsonl: invalid UTF-8: fail, replace (U+FFFD) or drop")(
              "fsync", po::bool_switch(), "sync each file to disk before renaming it");
          o.hidden.add_options()("output", po::value<std::string>(), "output file");
          o.positional.add("output", 1);
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      WriteOptions options;
      if (v.count("output")) options.path = v["output"].as<std::string>();
      const std::string format = v["format"].as<std::string>();
      if (format != "auto") {
        options.format = ParseChoice<TextFormat>(
            "--format", format, {{"lines", TextFormat::kLines}, {"jsonl", TextFormat::kJsonl}});
      }
      if (v.count("field")) {
        for (const std::string& value : v["field"].as<std::vector<std::string>>()) {
          size_t start = 0;
          for (;;) {
            const size_t comma = value.find(',', start);
            options.fields.push_back(value.substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
        }
      }
      const std::string compression = v["compression"].as<std::string>();
      if (compression != "auto") options.compression = ParseCompression(compression);
      options.level = static_cast<int>(v["level"].as<int64_t>());
      if (v.count("compression-threads")) {
        options.compression_threads = static_cast<int>(v["compression-threads"].as<uint64_t>());
      }
      options.shards = v["shards"].as<uint64_t>();
      options.shard_policy = ParseShardPolicy(v["shard-policy"].as<std::string>());
      if (v.count("shard-size")) options.shard_bytes = v["shard-size"].as<uint64_t>();
      options.newline = ParseChoice<NewlinePolicy>("--newline", v["newline"].as<std::string>(),
                                                   {{"fail", NewlinePolicy::kFail},
                                                    {"space", NewlinePolicy::kSpace},
                                                    {"drop", NewlinePolicy::kDrop}});
      options.invalid_utf8 =
          ParseChoice<BadUtf8Policy>("--invalid-utf8", v["invalid-utf8"].as<std::string>(),
                                     {{"fail", BadUtf8Policy::kError},
                                      {"replace", BadUtf8Policy::kReplace},
                                      {"drop", BadUtf8Policy::kDrop}});
      options.fsync = v["fsync"].as<bool>();
      return std::make_unique<WriteOperator>(std::move(options));
    },
});

std::string WriteOperator::TaskLimit() const {
  if (options_.path == "-") return "stdout cannot be joined from the parts of several tasks";
  if (options_.shards > 1 || options_.shard_bytes > 0) {
    return "sharded output is not resumable yet (write one file)";
  }
  return "";
}

std::string WriteOperator::RankLimit() const {
  if (options_.path == "-") return "stdout cannot be joined from the parts of several MPI ranks";
  if (options_.shard_bytes > 0) {
    return "--shard-size across MPI ranks is not built yet (a shard's first record depends on "
           "the bytes every rank before wrote; use --shards N, or one file)";
  }
  if (options_.shards > 1 && options_.shard_policy == ShardPolicy::kContiguous) {
    return "contiguous shards across MPI ranks are not built yet (use round-robin, or one file)";
  }
  return "";
}

}  // namespace corpusflow
