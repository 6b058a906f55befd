#include "operators/megatron/write_megatron.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/paths.h"
#include "engine/progress.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/formats/sample_fields.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (;;) {
    const size_t comma = text.find(',', begin);
    std::string part = text.substr(begin, comma == std::string::npos ? comma : comma - begin);
    if (!part.empty()) parts.push_back(std::move(part));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return parts;
}

/// One execution: a dataset writer per (shard, field), fed in record order.
class WriteMegatronRun : public BatchWriter {
 public:
  WriteMegatronRun(const WriteMegatronOperator& op, const WriteMegatronOptions& options,
                   std::vector<WriteMegatronOperator::FieldPlan> fields, const OpenContext& open)
      : op_(op),
        options_(options),
        fields_(std::move(fields)),
        level_(op.PlanLevel(open.input_schema)),
        ctx_(open.exec),
        stats_(open.stats),
        dealer_(options.shard_policy, options.shards, open.input.records, op.name()) {
    for (const auto& field : fields_) {
      using Role = WriteMegatronOperator::FieldPlan::Role;
      if (field.role == Role::kIds) {
        sample_fields_.ids = field.name;
        sample_fields_.vocab_size = field.vocab_size;
      } else {
        packed_ = true;
        (field.role == Role::kLossMask ? sample_fields_.loss_mask : sample_fields_.boundaries) =
            field.name;
      }
    }
    ExecContext& ctx = open.exec;
    const std::filesystem::path scratch = ctx.temp_dir().Path();
    // Write buffers share at most an eighth of the budget (and 64 MiB), so that many shards
    // and fields stay within memory; each .bin buffer is between 64 KiB and 4 MiB.
    const size_t writer_count = size_t{options_.shards} * fields_.size();
    const uint64_t share =
        std::min<uint64_t>(ctx.memory_bytes() / 8, uint64_t{64} << 20) / writer_count;
    const size_t buffer_bytes = static_cast<size_t>(std::clamp<uint64_t>(
        share, uint64_t{64} << 10, MegatronDatasetWriter::kDefaultBufferBytes));
    for (uint32_t shard = 0; shard < options_.shards; ++shard) {
      const std::string prefix = op_.ShardPrefix(shard);
      for (const auto& field : fields_) {
        writers_.push_back(std::make_unique<MegatronDatasetWriter>(
            MegatronDatasetPrefix(prefix, field.name, level_), field.dtype, scratch, buffer_bytes,
            ctx.run_files()));
      }
    }
  }

  void Write(Batch& batch, OpState* /*local*/) override {
    const size_t n = batch.num_records();
    // Per field: its ids (int32-list) or its sentences (int32-list-list).
    std::vector<const Int32ListColumn*> columns;
    std::vector<const Int32ListListColumn*> sentences;
    for (const auto& field : fields_) {
      columns.push_back(field.sentences ? nullptr : &batch.GetInt32List(field.name));
      sentences.push_back(field.sentences ? &batch.GetInt32ListList(field.name) : nullptr);
    }
    uint64_t dropped = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t record = next_record_ + i;
      if (options_.drop_empty && AnyEmpty(columns, sentences, i)) {
        ++dropped;
        dealer_.Advance(false);
        continue;
      }
      const size_t shard = static_cast<size_t>(dealer_.shard());
      dealer_.Advance(true);
      ++written_;
      if (packed_) CheckPackedSample(columns, i, record);
      for (size_t f = 0; f < fields_.size(); ++f) {
        MegatronDatasetWriter& writer = *writers_[shard * fields_.size() + f];
        if (sentences[f] != nullptr) {
          WriteSentences(writer, *sentences[f], i, fields_[f], record);
          continue;
        }
        const std::span<const int32_t> ids = (*columns[f])[i];
        // Checked record by record, so the ids are still in cache when they are written.
        if (!packed_) CheckIds(ids, fields_[f], record);
        WriteDocument(writer, ids, fields_[f]);
      }
    }
    if (dropped > 0) stats_.Drop("empty ids", dropped);
    next_record_ += n;
  }

  void Finish() override {
    // Finish runs outside the executor's timing of Write(): its time is reported apart.
    const double start = MonotonicSeconds();
    for (auto& w : writers_) w->Finalize();
    // The datasets are committed with the run's other outputs, once the whole run succeeded:
    // every .bin, then every .idx (commit.h). Across MPI ranks this rank's shard m is its part
    // of round-robin shard (turn + m) mod N, which the commit joins after the parts of the
    // ranks before (RoundRobinTurn); shard k's datasets are deferred k-th on every rank.
    const uint32_t shards = options_.shards;
    const auto turn = static_cast<uint32_t>(RoundRobinTurn(ctx_.cluster(), written_, shards));
    for (uint32_t k = 0; k < shards; ++k) {
      const uint32_t m = (k + shards - turn) % shards;
      const std::string from = op_.ShardPrefix(m);
      const std::string to = op_.ShardPrefix(k);
      for (size_t f = 0; f < fields_.size(); ++f) {
        writers_[m * fields_.size() + f]->Defer(
            [&](std::unique_ptr<DeferredCommit> member, CommitRank rank) {
              if (turn != 0) {
                member = RetargetFiles(std::move(member), [from, to](const std::string& target) {
                  CF_CHECK(target.compare(0, from.size(), from) == 0,
                           "a dataset file " + target + " outside its shard " + from);
                  return to + target.substr(from.size());
                });
              }
              ctx_.DeferCommit(std::move(member), rank);
            });
      }
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      uint64_t sequences = 0, documents = 0, tokens = 0, bytes = 0;
      for (uint32_t shard = 0; shard < options_.shards; ++shard) {
        const MegatronDatasetWriter& w = *writers_[shard * fields_.size() + f];
        sequences += w.sequences();
        documents += w.documents();
        tokens += w.tokens();
        bytes += w.bin_bytes();
      }
      const std::string& name = fields_[f].name;
      stats_.Add(name + ".sequences", sequences);
      stats_.Add(name + ".documents", documents);
      stats_.Add(name + ".tokens", tokens);
      stats_.Add(name + ".bin_bytes", bytes);
      stats_.SetText(name + ".dtype", std::string(MegatronDTypeName(fields_[f].dtype)));
    }
    stats_.Set("finish_seconds", MonotonicSeconds() - start);
  }

 private:
  /// A packed sample: its ids, loss mask and boundaries checked together (CheckSample).
  void CheckPackedSample(const std::vector<const Int32ListColumn*>& columns, size_t i,
                         uint64_t record) const {
    SampleView sample;
    for (size_t f = 0; f < fields_.size(); ++f) {
      const std::span<const int32_t> values = (*columns[f])[i];
      switch (fields_[f].role) {
        case WriteMegatronOperator::FieldPlan::Role::kIds:
          sample.ids = values;
          break;
        case WriteMegatronOperator::FieldPlan::Role::kLossMask:
          sample.loss_mask = values;
          sample.has_loss_mask = true;
          break;
        case WriteMegatronOperator::FieldPlan::Role::kBoundaries:
          sample.boundaries = values;
          sample.has_boundaries = true;
          break;
      }
    }
    CheckSample(sample, sample_fields_, fields_.front().max_id, record, op_.name());
  }

  /// Throw DataError naming the record unless every id is in [0, max_id].
  void CheckIds(std::span<const int32_t> ids, const WriteMegatronOperator::FieldPlan& field,
                uint64_t record) const {
    // As unsigned values negative ids are huge: one vectorisable maximum checks both bounds.
    uint32_t hi = 0;
    for (const int32_t v : ids) hi = std::max(hi, static_cast<uint32_t>(v));
    if (hi <= static_cast<uint32_t>(field.max_id)) return;
    for (const int32_t v : ids) {
      if (v >= 0 && v <= field.max_id) continue;
      std::string why;
      if (v < 0) {
        why = "is negative";
      } else if (field.vocab_size > 0) {
        why = "is out of range for the vocabulary size " + std::to_string(field.vocab_size) +
              " (dataset dtype " + std::string(MegatronDTypeName(field.dtype)) + ")";
      } else {
        why = "does not fit " + std::string(MegatronDTypeName(field.dtype));
      }
      throw DataError(op_.name() + ": record " + std::to_string(record + 1) + ", field '" +
                      field.name + "': id " + std::to_string(v) + " " + why);
    }
  }

  /// Whether record `i` has no id in some written field.
  static bool AnyEmpty(const std::vector<const Int32ListColumn*>& columns,
                       const std::vector<const Int32ListListColumn*>& sentences, size_t i) {
    for (size_t f = 0; f < columns.size(); ++f) {
      if (columns[f] != nullptr && (*columns[f])[i].empty()) return true;
      if (sentences[f] != nullptr) {
        const auto& lists = *sentences[f];
        const auto& offsets = lists.item_offsets();
        const auto& records = lists.record_offsets();
        if (offsets[records[i + 1]] == offsets[records[i]]) return true;
      }
    }
    return false;
  }

  /// The sentences of record `i` as the sequences of one document, as preprocess_data.py
  /// --split-sentences writes them: empty sentences are skipped, the EOD joins the last one, a
  /// record without ids is a document without sequences.
  void WriteSentences(MegatronDatasetWriter& writer, const Int32ListListColumn& lists, size_t i,
                      const WriteMegatronOperator::FieldPlan& field, uint64_t record) {
    const size_t items = lists.ItemCount(i);
    size_t last = items;  // the last non-empty sentence
    for (size_t j = 0; j < items; ++j) {
      const std::span<const int32_t> ids = lists.Item(i, j);
      CheckIds(ids, field, record);
      if (!ids.empty()) last = j;
    }
    for (size_t j = 0; j < items; ++j) {
      const std::span<const int32_t> ids = lists.Item(i, j);
      if (ids.empty()) continue;
      writer.AddSequence(
          ids, j == last ? std::span<const int32_t>(field.eod_ids) : std::span<const int32_t>());
    }
    writer.EndDocument();
  }

  void WriteDocument(MegatronDatasetWriter& writer, std::span<const int32_t> ids,
                     const WriteMegatronOperator::FieldPlan& field) {
    const std::span<const int32_t> eod(field.eod_ids);
    if (level_ == MegatronLevel::kDocument) {
      if (ids.empty() && options_.empty_without_sequence) {
        writer.EndDocument();
        return;
      }
      writer.AddSequence(ids, ids.empty() ? std::span<const int32_t>() : eod);
      writer.EndDocument();
      return;
    }
    // Sentence level: a sentence ends after each sentence-end id; a remainder is a sentence too.
    const std::vector<int32_t>& sentence_end = field.sentence_end;
    ends_.clear();
    for (size_t j = 0; j < ids.size(); ++j) {
      if (std::find(sentence_end.begin(), sentence_end.end(), ids[j]) != sentence_end.end()) {
        ends_.push_back(j + 1);
      }
    }
    if (ends_.empty() || ends_.back() != ids.size()) {
      if (!ids.empty()) ends_.push_back(ids.size());
    }
    size_t begin = 0;
    for (size_t s = 0; s < ends_.size(); ++s) {
      const bool last = s + 1 == ends_.size();
      writer.AddSequence(ids.subspan(begin, ends_[s] - begin),
                         last ? eod : std::span<const int32_t>());
      begin = ends_[s];
    }
    writer.EndDocument();
  }

  const WriteMegatronOperator& op_;
  const WriteMegatronOptions& options_;
  const std::vector<WriteMegatronOperator::FieldPlan> fields_;
  const MegatronLevel level_;
  ExecContext& ctx_;
  OperatorStats& stats_;
  /// Which shard the next record goes to.
  ShardDealer dealer_;
  std::vector<std::unique_ptr<MegatronDatasetWriter>> writers_;
  std::vector<size_t> ends_;
  uint64_t next_record_ = 0;
  /// Records written (a record dropped by --drop-empty is not).
  uint64_t written_ = 0;
  /// Packed samples: side datasets are written, and checked with the ids (fields_.front()).
  bool packed_ = false;
  SampleFields sample_fields_;
};

}  // namespace

WriteMegatronOperator::WriteMegatronOperator(WriteMegatronOptions options)
    : options_(std::move(options)) {
  const std::string& prefix = options_.prefix;
  if (prefix.empty() || prefix.back() == '/' || prefix == "." || prefix.ends_with("/.")) {
    throw InvalidArgument("PREFIX must name the output files, e.g. out/train (got '" + prefix +
                          "')");
  }
  if (options_.shards == 0) throw InvalidArgument("--shards must be at least 1");
  if (prefix.find("{shard}") != std::string::npos) {
    throw InvalidArgument("PREFIX '" + prefix +
                          "': {shard} is no longer replaced; --shards N names the datasets "
                          "PREFIX-0000k-of-0000N_FIELD_LEVEL (docs/io.md, Shards)");
  }
  if (options_.drop_empty && options_.empty_without_sequence) {
    throw InvalidArgument(
        "--drop-empty drops an empty record; --empty-no-sequence keeps it as a document without "
        "sequences: give one of them");
  }
  if (options_.level == MegatronLevel::kDocument && !options_.sentence_end.empty()) {
    throw InvalidArgument("--sentence-end is only meaningful with --level sentence");
  }
  if (options_.vocab_size < 0 || options_.vocab_size > kInt32Max + 1) {
    throw InvalidArgument("--vocab-size must be between 1 and 2^31");
  }
  std::set<std::string> seen;
  for (const std::string& f : options_.fields) {
    if (!seen.insert(f).second) throw InvalidArgument("--fields names '" + f + "' twice");
  }
}

std::string WriteMegatronOperator::ShardPrefix(uint32_t shard) const {
  return corpusflow::ShardPrefix(options_.prefix, shard, options_.shards);
}

void WriteMegatronOperator::Validate(const PlanContext& /*ctx*/) const {
  // Every shard's prefix only adds to the name's end: one folder holds them all.
  const std::string prefix = ShardPrefix(0);
  // A missing folder is created by the run (AtomicOutput): its nearest existing ancestor must be
  // a writable folder.
  CheckOutputFolder(std::filesystem::path(prefix).parent_path(),
                    "cannot write datasets " + prefix + "_*");
}

MegatronLevel WriteMegatronOperator::PlanLevel(const Schema& input) const {
  if (options_.level) return *options_.level;
  if (!options_.sentence_end.empty()) return MegatronLevel::kSentence;
  for (const Field& f : input.fields()) {
    const bool written =
        options_.fields.empty() ||
        std::find(options_.fields.begin(), options_.fields.end(), f.name) != options_.fields.end();
    if (written && f.type == FieldType::kInt32ListList) return MegatronLevel::kSentence;
  }
  return MegatronLevel::kDocument;
}

std::vector<WriteMegatronOperator::FieldPlan> WriteMegatronOperator::PlanFields(
    const Schema& input) const {
  // Side fields of packed samples: given, or the pack stage's names when the input has them.
  const auto side = [&](const std::optional<std::string>& given, const char* fallback) {
    if (given) return *given;
    const Field* f = input.Find(fallback);
    return f != nullptr && f->type == FieldType::kInt32List ? std::string(fallback) : std::string();
  };
  const std::string loss_mask = side(options_.loss_mask, kDefaultLossMaskField);
  const std::string boundaries = side(options_.boundaries, kDefaultBoundariesField);
  const bool packed = !loss_mask.empty() || !boundaries.empty();
  if (!loss_mask.empty() && loss_mask == boundaries) {
    throw InvalidArgument(name() + ": --loss-mask and --boundaries both name '" + loss_mask + "'");
  }
  std::vector<std::string> names = options_.fields;
  for (const std::string& f : names) {
    if (!f.empty() && (f == loss_mask || f == boundaries)) {
      throw InvalidArgument(name() + ": --fields names '" + f +
                            "', which is written as a side dataset of packed samples (--loss-mask, "
                            "--boundaries); list the ids field only");
    }
  }
  if (names.empty()) {
    for (const Field& f : input.fields()) {
      if ((f.type == FieldType::kInt32List || f.type == FieldType::kInt32ListList) &&
          f.name != loss_mask && f.name != boundaries) {
        names.push_back(f.name);
      }
    }
    if (names.empty()) {
      throw InvalidArgument(name() +
                            " needs a token-id (int32-list) field, e.g. from tokenize "
                            "or parse-ids, but upstream only produces " +
                            input.ToString());
    }
  }
  const MegatronLevel level = PlanLevel(input);
  std::vector<FieldPlan> planned;
  bool any_split = false;
  for (const std::string& field_name : names) {
    const Field* found = input.Find(field_name);
    const Field& field = found != nullptr && found->type == FieldType::kInt32ListList
                             ? *found
                             : input.Require(field_name, FieldType::kInt32List, name());
    FieldPlan plan;
    plan.name = field_name;
    plan.sentences = field.type == FieldType::kInt32ListList;
    if (plan.sentences && level == MegatronLevel::kDocument) {
      throw InvalidArgument(name() + ": field '" + field_name +
                            "' holds sentences (int32-list-list, from tokenize of a string-list): "
                            "it is written at --level sentence, not document");
    }
    if (!plan.sentences && level == MegatronLevel::kSentence) {
      if (options_.sentence_end.empty()) {
        throw InvalidArgument(name() + ": --level sentence needs --sentence-end IDS for field '" +
                              field_name +
                              "' (int32-list: the ids or tokens that end a sentence, e.g. those "
                              "of '.' and '。'), or tokenize its sentences (sentences | tokenize "
                              "--field sentences)");
      }
      any_split = true;
    }
    plan.vocab_size = options_.vocab_size > 0 ? options_.vocab_size : field.vocab_size;
    plan.dtype = MegatronDTypeForVocabSize(plan.vocab_size);
    const int64_t dtype_max = plan.dtype == MegatronDType::kUInt16 ? 65535 : kInt32Max;
    plan.max_id = plan.vocab_size > 0 ? std::min(plan.vocab_size - 1, dtype_max) : dtype_max;
    if (options_.append_eod) {
      const int32_t eod = ResolveToken(*options_.append_eod, field, "--append-eod", name());
      if (eod > plan.max_id) {
        throw InvalidArgument(name() + ": --append-eod " + options_.append_eod->text +
                              (options_.append_eod->id ? "" : " (id " + std::to_string(eod) + ")") +
                              " is out of range for field '" + field_name + "' (ids 0.." +
                              std::to_string(plan.max_id) + ")");
      }
      plan.eod_ids = {eod};
    }
    if (!plan.sentences) {
      for (const TokenRef& end : options_.sentence_end) {
        plan.sentence_end.push_back(ResolveToken(end, field, "--sentence-end", name()));
      }
    }
    planned.push_back(std::move(plan));
  }
  if (packed) {
    const std::string what = name() + ": packed samples (" +
                             (loss_mask.empty() ? "" : "loss mask '" + loss_mask + "'") +
                             (!loss_mask.empty() && !boundaries.empty() ? ", " : "") +
                             (boundaries.empty() ? "" : "boundaries '" + boundaries + "'") + ")";
    if (planned.size() != 1 || planned.front().sentences) {
      throw InvalidArgument(what + " describe one int32-list field of ids, but " +
                            std::to_string(planned.size()) +
                            " fields are written: name it with --fields (or --loss-mask '' "
                            "--boundaries '' to write the fields as plain datasets)");
    }
    if (level != MegatronLevel::kDocument || options_.append_eod ||
        options_.empty_without_sequence) {
      throw InvalidArgument(what +
                            " are written one sequence per sample, as they are: not with "
                            "--level sentence, --append-eod (pack puts the EOD in) or "
                            "--empty-no-sequence");
    }
    // The boundaries and the mask are checked against the ids (CheckSample), not as ids.
    for (const auto& [field_name, role] : {std::pair{loss_mask, FieldPlan::Role::kLossMask},
                                           std::pair{boundaries, FieldPlan::Role::kBoundaries}}) {
      if (field_name.empty()) continue;
      input.Require(field_name, FieldType::kInt32List, name());
      FieldPlan plan;
      plan.name = field_name;
      plan.role = role;
      plan.dtype =
          role == FieldPlan::Role::kLossMask ? MegatronDType::kUInt8 : MegatronDType::kInt32;
      plan.max_id = role == FieldPlan::Role::kLossMask ? 1 : kInt32Max;
      planned.push_back(std::move(plan));
    }
  }
  if (!options_.sentence_end.empty() && !any_split) {
    throw InvalidArgument(name() +
                          ": --sentence-end splits int32-list fields, but every field written "
                          "already holds sentences (int32-list-list)");
  }
  return planned;
}

Schema WriteMegatronOperator::OutputSchema(const Schema& input) const {
  // Each (shard, field) writer holds its .bin, its .idx and a scratch file open.
  CheckShardsFitOpenFiles(options_.shards, 3 * PlanFields(input).size(), name());
  return input;
}

std::vector<std::string> WriteMegatronOperator::OutputPaths(const Schema& input) const {
  std::vector<std::string> paths;
  const std::vector<FieldPlan> fields = PlanFields(input);
  for (uint32_t shard = 0; shard < options_.shards; ++shard) {
    const std::string prefix = ShardPrefix(shard);
    for (const FieldPlan& field : fields) {
      const std::string dataset = MegatronDatasetPrefix(prefix, field.name, PlanLevel(input));
      paths.push_back(MegatronBinPath(dataset));
      paths.push_back(MegatronIdxPath(dataset));
    }
  }
  return paths;
}

std::string WriteMegatronOperator::Describe() const {
  const std::string level =
      options_.level ? std::string(MegatronLevelName(*options_.level)) : "{level}";
  std::string d = "write Megatron datasets " + options_.prefix + "_{field}_" + level + ".bin/.idx";
  if (options_.shards > 1) {
    d += " in " + std::to_string(options_.shards) + " " +
         std::string(ShardPolicyName(options_.shard_policy)) + " shards";
  }
  return d;
}

std::string WriteMegatronOperator::DescribePlanned(const Schema& input) const {
  std::string d = "write Megatron datasets " + options_.prefix + "_{field}_" +
                  std::string(MegatronLevelName(PlanLevel(input))) + ".bin/.idx";
  if (options_.shards > 1) {
    d += " in " + std::to_string(options_.shards) + " " +
         std::string(ShardPolicyName(options_.shard_policy)) + " shards";
  }
  d += ":";
  const std::vector<FieldPlan> planned = PlanFields(input);
  for (const FieldPlan& f : planned) {
    if (&f != &planned.front()) d += ",";
    d += " " + f.name + (f.sentences ? " (sentences)" : "") + " as " +
         std::string(MegatronDTypeName(f.dtype));
    if (f.role != FieldPlan::Role::kIds) {
      d += f.role == FieldPlan::Role::kLossMask ? " (loss mask of the packed samples)"
                                                : " (document boundaries of the packed samples)";
      continue;
    }
    if (f.vocab_size > 0) {
      d += " (vocabulary " + std::to_string(f.vocab_size) + ")";
    } else {
      d += " (vocabulary size unknown: int32 holds any id)";
    }
    if (!f.eod_ids.empty()) d += ", EOD " + std::to_string(f.eod_ids.front());
    if (!f.sentence_end.empty()) {
      d += ", sentences end after";
      for (const int32_t id : f.sentence_end) d += " " + std::to_string(id);
    }
  }
  return d;
}

std::unique_ptr<BatchWriter> WriteMegatronOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<WriteMegatronRun>(*this, options_, PlanFields(ctx.input_schema), ctx);
}

static const OperatorRegistrar kRegisterWriteMegatron(OperatorDef{
    .name = "write-megatron",
    .role = OperatorRole::kSink,
    .synopsis = "write-megatron PREFIX [--fields F1,F2] [--vocab-size N] [--append-eod ID|TOKEN] "
                "[--level document|sentence] [--sentence-end IDS|TOKENS] "
                "[--shards N [--shard-policy P]] [--drop-empty | --empty-no-sequence] "
                "[--loss-mask F] [--boundaries F]",
    .summary = "Write token-id fields as Megatron indexed datasets (.bin/.idx)",
    .details =
        "One dataset per field: PREFIX_FIELD_document.bin/.idx (or _sentence), byte-compatible "
        "with Megatron-LM's indexed dataset reader; tokenize --field text --output text gives "
        "preprocess_data.py's PREFIX_text_document. The dtype is uint16 when the field's "
        "vocabulary size (recorded by tokenize or parse-ids, or given by --vocab-size) is below "
        "65500, else int32; with no known vocabulary size it is int32, which holds any id. Ids "
        "out of range stop the run with the record number. Document level writes one sequence "
        "per record (an empty record gives an empty sequence, keeping paired datasets aligned). "
        "Sentence level (the default for a field of sentences, int32-list-list, which tokenize "
        "makes from the string-list of sentences) writes each non-empty sentence as a sequence "
        "and each record as a document, as preprocess_data.py --split-sentences does; an "
        "int32-list field is cut after each --sentence-end id instead. --append-eod adds an id "
        "to the end of every non-empty document. --empty-no-sequence writes an empty record at "
        "document level as a document without sequences, as preprocess_data.py does. "
        "Packed samples (pack's input_ids, loss_mask, cu_seqlens; --loss-mask, --boundaries): "
        "one sequence per sample, the loss mask (uint8) and the boundaries (int32) in side "
        "datasets PREFIX_loss_mask_document and PREFIX_cu_seqlens_document, checked against the "
        "ids. "
        "--append-eod and --sentence-end take ids or "
        "token names ('[SEP]', '</s>'), found at plan time in the vocabulary tokenize recorded on "
        "each field (its --special-tokens, then its vocab.txt or model pieces). --shards N writes "
        "N datasets per field, "
        "PREFIX-0000k-of-0000N_FIELD_LEVEL: --shard-policy round-robin (default) deals written "
        "records in turn, contiguous cuts the order in N pieces (right after shuffle). Files are "
        "written as "
        "temp files and renamed when the run succeeds, every .bin before every .idx; memory "
        "stays bounded at any size.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()(
              "fields", po::value<std::string>()->default_value(""),
              "comma-separated id fields, int32-list or int32-list-list (default: all of them)")(
              "vocab-size", IntegerValue(0, int64_t{kInt32Max} + 1)->default_value(0),
              "vocabulary size, overriding the one recorded on the fields")(
              "append-eod", po::value<std::string>(),
              "append this id or token ('[SEP]', '</s>') to every non-empty document")(
              "level", po::value<std::string>(),
              "document (one sequence per record) or sentence (default: sentence for fields of "
              "sentences, else document)")(
              "sentence-end", po::value<std::string>()->default_value(""),
              "comma-separated ids or tokens that end a sentence in an int32-list field")(
              "shards", CountValue(1, kMaxShards)->default_value(1),
              "number of datasets per field (PREFIX-0000k-of-0000N)")(
              "shard-policy", po::value<std::string>()->default_value("round-robin"),
              "round-robin (written records in turn) or contiguous (N pieces of the order)")(
              "drop-empty", po::bool_switch(),
              "drop records whose ids are empty in any written field (counted)")(
              "empty-no-sequence", po::bool_switch(),
              "document level: an empty record is a document without sequences, as "
              "preprocess_data.py writes it (default: an empty sequence)")(
              "loss-mask", po::value<std::string>(),
              "packed samples: field of the loss mask, written as a uint8 side dataset "
              "(default: loss_mask when the input has it; '' for none)")(
              "boundaries", po::value<std::string>(),
              "packed samples: field of the document boundaries (cu_seqlens), written as an "
              "int32 side dataset (default: cu_seqlens when the input has it; '' for none)");
          o.hidden.add_options()("prefix", po::value<std::string>()->required(), "output prefix");
          o.positional.add("prefix", 1);
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      WriteMegatronOptions options;
      options.prefix = v["prefix"].as<std::string>();
      options.fields = SplitCommas(v["fields"].as<std::string>());
      options.vocab_size = v["vocab-size"].as<int64_t>();
      if (v.count("append-eod") > 0) {
        options.append_eod = TokenRef::Parse(v["append-eod"].as<std::string>(), "--append-eod");
      }
      if (v.count("level") > 0) {
        const std::string level = v["level"].as<std::string>();
        if (level == "document") {
          options.level = MegatronLevel::kDocument;
        } else if (level == "sentence") {
          options.level = MegatronLevel::kSentence;
        } else {
          throw InvalidArgument("--level must be document or sentence, not '" + level + "'");
        }
      }
      for (const std::string& end : SplitCommas(v["sentence-end"].as<std::string>())) {
        options.sentence_end.push_back(TokenRef::Parse(end, "--sentence-end"));
      }
      options.shards = static_cast<uint32_t>(v["shards"].as<uint64_t>());
      options.shard_policy = ParseShardPolicy(v["shard-policy"].as<std::string>());
      options.drop_empty = v["drop-empty"].as<bool>();
      options.empty_without_sequence = v["empty-no-sequence"].as<bool>();
      if (v.count("loss-mask") > 0) options.loss_mask = v["loss-mask"].as<std::string>();
      if (v.count("boundaries") > 0) options.boundaries = v["boundaries"].as<std::string>();
      return std::make_unique<WriteMegatronOperator>(std::move(options));
    },
});

std::string WriteMegatronOperator::TaskLimit() const {
  if (options_.shards > 1) return "sharded datasets are not resumable yet (write one per field)";
  return "";
}

std::string WriteMegatronOperator::RankLimit() const {
  if (options_.shards > 1 && options_.shard_policy == ShardPolicy::kContiguous) {
    return "contiguous shards across MPI ranks are not built yet (use round-robin, or one "
           "dataset per field)";
  }
  return "";
}

}  // namespace corpusflow
