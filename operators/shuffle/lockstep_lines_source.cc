#include "operators/shuffle/lockstep_lines_source.h"

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/input_stream.h"
#include "engine/io/line_reader.h"
#include "engine/io/paths.h"
#include "engine/progress.h"

namespace corpusflow {

namespace {

class LockstepReader : public BatchReader {
 public:
  LockstepReader(const std::vector<std::string>& paths, char delimiter, ExecContext& ctx)
      : paths_(paths), ctx_(ctx) {
    for (const std::string& path : paths) {
      // A line longer than the run's --max-record-bytes is an error naming its file and line.
      readers_.push_back(std::make_unique<LineReader>(OpenInput(path), size_t{1} << 20,
                                                      ctx.max_record_bytes(), delimiter));
      raw_seen_.push_back(0);
    }
  }

  bool Next(Batch* out) override {
    if (done_) return false;
    out->Reset();
    std::vector<StringColumn*> columns;
    for (size_t i = 0; i < readers_.size(); ++i) {
      out->AddString(LockstepLinesSource::ColumnName(i));
    }
    for (size_t i = 0; i < readers_.size(); ++i) {
      columns.push_back(&out->GetString(LockstepLinesSource::ColumnName(i)));
    }
    uint64_t bytes = 0;
    uint64_t records = 0;
    while (bytes < ctx_.batch_bytes()) {
      std::string_view line;
      const bool first = readers_[0]->Next(&line);
      if (first) {
        columns[0]->Append(line);
        bytes += line.size();
      }
      for (size_t i = 1; i < readers_.size(); ++i) {
        const bool more = readers_[i]->Next(&line);
        if (more != first) {
          const size_t longer = more ? i : 0, shorter = more ? 0 : i;
          throw DataError("paired inputs are not line-aligned: " + paths_[shorter] +
                          " ends after " + std::to_string(lines_) + " lines but " + paths_[longer] +
                          " has more (line " + std::to_string(lines_ + 1) + ")");
        }
        if (more) {
          columns[i]->Append(line);
          bytes += line.size();
        }
      }
      if (!first) {
        done_ = true;
        break;
      }
      ++lines_;
      ++records;
    }
    ReportProgress();
    return records > 0;
  }

 private:
  void ReportProgress() {
    for (size_t i = 0; i < readers_.size(); ++i) {
      const uint64_t raw = readers_[i]->input().raw_bytes_read();
      ctx_.progress().AddBytes(raw - raw_seen_[i]);
      raw_seen_[i] = raw;
    }
  }

  const std::vector<std::string>& paths_;
  ExecContext& ctx_;
  std::vector<std::unique_ptr<LineReader>> readers_;
  std::vector<uint64_t> raw_seen_;
  uint64_t lines_ = 0;
  bool done_ = false;
};

}  // namespace

LockstepLinesSource::LockstepLinesSource(std::vector<std::string> paths, char delimiter)
    : paths_(std::move(paths)), delimiter_(delimiter) {
  if (paths_.size() < 2) throw InvalidArgument("paired shuffling needs at least two inputs");
}

std::string LockstepLinesSource::ColumnName(size_t i) { return "text" + std::to_string(i); }

void LockstepLinesSource::Validate(const PlanContext& /*ctx*/) const {
  size_t stdin_count = 0;
  for (const std::string& path : paths_) {
    if (path == "-") {
      ++stdin_count;
    } else {
      CheckInputReadable(path);
    }
  }
  if (stdin_count > 1) throw InvalidArgument("stdin ('-') can be only one of the paired inputs");
}

Schema LockstepLinesSource::OutputSchema(const Schema& /*input*/) const {
  Schema schema;
  for (size_t i = 0; i < paths_.size(); ++i) schema.Set(Field{ColumnName(i), FieldType::kString});
  return schema;
}

std::string LockstepLinesSource::Describe() const {
  std::string text = "read " + std::to_string(paths_.size()) + " line-aligned files in lockstep (";
  for (size_t i = 0; i < paths_.size(); ++i) {
    text += (i > 0 ? ", " : "") + paths_[i] + " -> " + ColumnName(i);
  }
  return text + ")";
}

std::optional<uint64_t> LockstepLinesSource::TotalBytes() const { return TotalFileBytes(paths_); }

std::unique_ptr<BatchReader> LockstepLinesSource::Open(const OpenContext& ctx) const {
  return std::make_unique<LockstepReader>(paths_, delimiter_, ctx.exec);
}

}  // namespace corpusflow
