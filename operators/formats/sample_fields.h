// The fields a trainer-format sink writes (write-datatrove, write-mds, write-olmo) and their
// contract, shared by every such sink: one int32-list field of token ids per record (a packed
// sample, or one document), an optional loss mask (int32-list of 0/1, as long as the ids) and
// optional document boundaries (cu_seqlens: an int32-list starting with 0, then the end offset of
// each document inside the sample, strictly increasing, the last at most the sample's length;
// tokens after the last end are padding). The `pack` stage produces `input_ids`, `loss_mask` and
// `cu_seqlens`; the sinks' `--field`, `--loss-mask` and `--boundaries` name other fields, and by
// default take those three names when the input schema has them. Also the options every such
// sink shares (fields, vocabulary size, shards) and the little-endian encoding of ids in 1, 2, 4
// or 8 bytes. docs/formats.md describes the contract and each format.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/options.h"
#include "engine/schema.h"
#include "engine/sharding.h"

namespace corpusflow {

/// The default names of the pack stage's fields.
inline constexpr const char* kDefaultIdsField = "input_ids";
inline constexpr const char* kDefaultLossMaskField = "loss_mask";
inline constexpr const char* kDefaultBoundariesField = "cu_seqlens";

/// What the user asked for, before the input schema is known.
struct SampleFieldOptions {
  std::string ids = kDefaultIdsField;
  /// nullopt: `loss_mask` when the input has it; "" (`--loss-mask ''`): none.
  std::optional<std::string> loss_mask;
  /// nullopt: `cu_seqlens` when the input has it; "": none.
  std::optional<std::string> boundaries;
  /// Overrides the ids field's vocabulary size (0: the field's own).
  int64_t vocab_size = 0;
};

/// The fields as planned against an input schema.
struct SampleFields {
  std::string ids;
  /// Empty: none.
  std::string loss_mask;
  std::string boundaries;
  /// The vocabulary size in force (0 = unknown).
  int64_t vocab_size = 0;
  /// The vocabulary the field's ids come from (the tokenizer's file), or empty.
  std::string vocabulary_source;
};

/// Resolve `options` against `input`. Throws InvalidArgument (naming `who`) when a named field
/// is missing or not an int32-list, or two roles name one field.
SampleFields PlanSampleFields(const Schema& input, const SampleFieldOptions& options,
                              const std::string& who);

/// One record's fields.
struct SampleView {
  std::span<const int32_t> ids;
  /// Empty when there is no loss mask field.
  std::span<const int32_t> loss_mask;
  /// Empty when there is no boundaries field.
  std::span<const int32_t> boundaries;
  bool has_loss_mask = false;
  bool has_boundaries = false;
};

/// The columns of a batch for planned fields.
class SampleColumns {
 public:
  SampleColumns(const Batch& batch, const SampleFields& fields);
  SampleView operator[](size_t i) const;

 private:
  const Int32ListColumn* ids_;
  const Int32ListColumn* loss_mask_ = nullptr;
  const Int32ListColumn* boundaries_ = nullptr;
};

/// Throw DataError "WHO: record R, field 'F': ..." unless every id is in [0, max_id], the loss
/// mask (when present) is as long as the ids and holds only 0 and 1, and the boundaries (when
/// present) are 0, then strictly increasing ends, the last at most the number of ids. `record`
/// is 0-based (the message says record + 1).
void CheckSample(const SampleView& sample, const SampleFields& fields, int64_t max_id,
                 uint64_t record, const std::string& who);

/// The end offsets of the documents of a checked sample, in tokens from its start: the
/// boundaries after the leading 0, then the sample's length when tokens follow the last one (the
/// padding is one more segment); without boundaries, the whole sample. An empty sample has none.
void DocumentEnds(const SampleView& sample, std::vector<uint64_t>* ends);
/// Tokens after the last boundary (0 without boundaries).
uint64_t PaddingTokens(const SampleView& sample);

/// Append `ids` as little-endian unsigned integers of `width` bytes (1, 2, 4 or 8).
/// REQUIRES: every id fits (CheckSample).
void AppendTokens(std::span<const int32_t> ids, int width, std::string* out);
/// Append each value of a checked loss mask as one byte (0 or 1).
void AppendMaskBytes(std::span<const int32_t> mask, std::string* out);

/// The options every trainer-format sink shares, as parsed.
struct SampleSinkOptions {
  /// The output prefix (or folder); shard k of N: ShardPrefix(prefix, k, N).
  std::string prefix;
  SampleFieldOptions fields;
  uint32_t shards = 1;
  ShardPolicy shard_policy = ShardPolicy::kRoundRobin;
};

/// Declare `--field`, `--loss-mask`, `--boundaries`, `--vocab-size`, `--shards`,
/// `--shard-policy` and the positional `prefix` (described as `prefix_help`).
void DescribeSampleSinkOptions(OptionSet& o, const std::string& prefix_help);
/// Read what DescribeSampleSinkOptions declared; throws InvalidArgument.
SampleSinkOptions ParseSampleSinkOptions(const OptionValues& v);
/// Throw InvalidArgument unless `prefix` names files (not a folder, no `{shard}`) and the
/// options are consistent.
void CheckSampleSinkOptions(const SampleSinkOptions& options);

}  // namespace corpusflow
