// `write-megatron PREFIX`: the sink that writes token-id fields as Megatron indexed datasets,
// one dataset per field: `{PREFIX}_{field}_{document|sentence}.bin/.idx` (operators/megatron/
// format.h, docs/megatron.md). The dtype of each dataset is uint16 when the field's
// vocabulary size (Field::vocab_size, recorded by `tokenize` and `parse-ids`, or
// `--vocab-size`) is below 65500, else int32; when no vocabulary size is known it is int32,
// which holds every id. Every id is checked against the dtype and the vocabulary: an id out of
// range is a DataError naming the record. Document level writes one sequence per record (an
// empty record gives an empty sequence, so the datasets of paired fields stay aligned);
// sentence level writes each sentence of an int32-list-list field (tokenize of `sentences`) as
// a sequence, skipping empty ones, as preprocess_data.py --split-sentences does, or splits an
// int32-list record after every `--sentence-end` id. `--append-eod` and `--sentence-end` take ids
// or token names ('[SEP]', '</s>'), resolved per field at plan time through the names its
// tokenizer recorded (engine/token_names.h). `--shards N` writes N
// datasets per field, `PREFIX-0000k-of-0000N_{field}_...`, dealt by `--shard-policy`
// (engine/sharding.h: round-robin over written records, or contiguous pieces). Memory is bounded
// (operators/megatron/writer.h); outputs are written as temp files and committed with the run's
// other outputs only when the run succeeds, every `.bin` before every `.idx`
// (operators/megatron/commit.h). Packed samples (the `pack` stage's input_ids, loss_mask and
// cu_seqlens) are written as one sequence per sample, their loss mask and boundaries as side
// datasets checked against the ids (operators/formats/sample_fields.h). Thread safety: the operator
// is immutable; the fields and dtypes follow from the input schema (PlanFields: checked by
// OutputSchema at plan time, applied to the planned input schema at Open); its writer is ordered,
// one batch at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "engine/sharding.h"
#include "operators/megatron/format.h"
#include "operators/megatron/writer.h"

namespace corpusflow {

struct WriteMegatronOptions {
  /// Output prefix (shard k of N: PREFIX-0000k-of-0000N).
  std::string prefix;
  /// Fields to write; empty = every int32-list field of the input.
  std::vector<std::string> fields;
  /// Vocabulary size for every field, overriding the schema's; 0 = from the schema.
  int64_t vocab_size = 0;
  /// Id (or token) appended to the last sequence of every non-empty document.
  std::optional<TokenRef> append_eod;
  /// nullopt: sentence when a written field holds sentences (int32-list-list) or --sentence-end
  /// is given, else document.
  std::optional<MegatronLevel> level;
  /// Sentence level of int32-list fields: ids (or tokens) that end a sentence (kept at its end).
  std::vector<TokenRef> sentence_end;
  uint32_t shards = 1;
  ShardPolicy shard_policy = ShardPolicy::kRoundRobin;
  /// Drop records whose ids are empty in any written field (counted as "empty ids").
  bool drop_empty = false;
  /// Document level: an empty record is a document without sequences, as preprocess_data.py
  /// writes it, instead of an empty sequence (which keeps paired fields aligned).
  bool empty_without_sequence = false;
  /// Packed samples (operators/formats/sample_fields.h): the loss mask and the document
  /// boundaries (cu_seqlens) of the one ids field, each written as a side dataset beside it,
  /// `PREFIX_{field}_document` (the mask as uint8, the boundaries as int32). nullopt: the fields
  /// `loss_mask` / `cu_seqlens` when the input has them; "": none.
  std::optional<std::string> loss_mask;
  std::optional<std::string> boundaries;
};

class WriteMegatronOperator : public Sink {
 public:
  /// Throws InvalidArgument on inconsistent options.
  explicit WriteMegatronOperator(WriteMegatronOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::string DescribePlanned(const Schema& input) const override;
  /// The `.bin` and `.idx` of every (shard, field) dataset for the planned input.
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<BatchWriter> Open(const OpenContext& ctx) const override;
  /// Ranks write parts of each dataset (of each round-robin shard's too), which rank 0 joins;
  /// contiguous shards do not join.
  std::string RankLimit() const override;
  /// One file (or one dataset per field), not stdout: the tasks' parts are joined.
  std::string TaskLimit() const override;

  /// The output prefix of shard `shard` (engine/sharding.h, ShardPrefix).
  std::string ShardPrefix(uint32_t shard) const;

  /// A field as planned: its dtype, why, the largest id it accepts, and the ids of the options
  /// that name tokens, resolved through its vocabulary.
  struct FieldPlan {
    /// What a dataset holds: token ids, or a side dataset of packed samples.
    enum class Role { kIds, kLossMask, kBoundaries };
    std::string name;
    Role role = Role::kIds;
    /// Whether the field holds sentences (int32-list-list).
    bool sentences = false;
    MegatronDType dtype = MegatronDType::kInt32;
    /// The vocabulary size in force (0 = unknown).
    int64_t vocab_size = 0;
    int64_t max_id = 0;
    /// The --append-eod id, or empty.
    std::vector<int32_t> eod_ids;
    /// The --sentence-end ids (int32-list fields at sentence level).
    std::vector<int32_t> sentence_end;
  };
  /// The level the datasets of `input` are written at.
  MegatronLevel PlanLevel(const Schema& input) const;
  /// The fields written for `input` with their dtypes and ids; throws InvalidArgument when a
  /// field is missing or of a type the level cannot write, when a token name is not in a field's
  /// vocabulary (with a suggestion) or a field has none, or when an id does not fit. Side
  /// datasets of packed samples come after the ids field, and need it to be the only one, at
  /// document level, without --append-eod, --sentence-end or --empty-no-sequence.
  std::vector<FieldPlan> PlanFields(const Schema& input) const;

 private:
  WriteMegatronOptions options_;
};

}  // namespace corpusflow
