// `pack`: documents of token ids to fixed-length training samples (operators/pack/packer.h has
// the algorithms, docs/packing.md the semantics and the output fields).
//   --mode concat | best-fit | first-fit  a serial transform that streams (PackOperator): it
//       consumes the documents of --field in stream order, one batch at a time, packs them into
//       windows and emits each window's samples once it is packed, as records of input_ids,
//       loss_mask and cu_seqlens (the documents' other fields do not survive: a sample mixes
//       documents), in the order they were made: each batch leaves with as many ids of samples
//       as it brought in, from the oldest window packed, and the samples left at the end of the
//       input leave after the last batch (TransformRun::Drain). It holds two windows at most
//       (the one being filled and the one being read), and reuses their memory from window to
//       window: nothing is spilled, whatever the input's size.
//   --mode pad  a parallel transform (PadOperator): --src and --tgt are truncated or padded in
//       place to --src-length and --tgt-length, and --src-mask / --tgt-mask are added; every
//       record stays a record, with its other fields.
// Samples depend only on the input order and the options, never on --threads or --memory.
// Thread safety: operators are immutable after planning. PackOperator's run is serial (one
// batch at a time, in sequence order); PadOperator's Apply runs on many batches at once and
// shares nothing but the operator's counters.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "engine/token_names.h"

namespace corpusflow {

enum class PackMode { kConcat, kBestFit, kFirstFit, kPad };

/// "concat", "best-fit", "first-fit" or "pad".
std::string_view PackModeName(PackMode mode);

/// The output fields of packed samples (docs/packing.md).
inline constexpr const char* kPackInputIds = "input_ids";
inline constexpr const char* kPackLossMask = "loss_mask";
inline constexpr const char* kPackCuSeqlens = "cu_seqlens";

struct PackSettings {
  PackMode mode = PackMode::kConcat;
  /// The int32-list field of the documents (concat, best-fit, first-fit).
  std::string field = "text_ids";
  /// L: ids per sample (the stride of concat windows).
  uint32_t length = 0;
  /// concat: windows of L + 1 ids overlapping by one.
  bool plus_one = false;
  /// concat: pad the last partial window instead of dropping it.
  bool keep_last = false;
  /// The id (or token) appended to every document.
  std::optional<TokenRef> eod;
  /// The padding id (or token).
  TokenRef pad{"0", 0};
  /// best-fit, first-fit: a window is packed once it holds this many pieces or this many bytes
  /// of ids (4 per id).
  uint64_t window_pieces = 100000;
  uint64_t window_bytes = uint64_t{16} << 20;
  /// pad: the id fields, their lengths and the mask fields added.
  std::string src = "src_ids";
  std::string tgt = "tgt_ids";
  uint32_t src_length = 0;
  uint32_t tgt_length = 0;
  std::string src_mask = "src_mask";
  std::string tgt_mask = "tgt_mask";
};

/// The ids the token options name, resolved through the planned input field.
struct PackIds {
  std::optional<int32_t> eod;
  int32_t pad = 0;
};

/// concat, best-fit and first-fit: the streaming serial transform.
class PackOperator : public Transform {
 public:
  /// Throws InvalidArgument on options that do not fit the mode.
  explicit PackOperator(PackSettings settings);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  /// The documents are packed in order by one process: not across MPI ranks, nor in the tasks
  /// of a checkpointed run (TaskLimit says the same).
  std::string RankLimit() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const PackSettings& settings() const { return settings_; }
  /// Ids per sample: L, or L + 1 with --plus-one.
  uint32_t sample_length() const;
  /// The --eod and --pad-id ids for the planned input; throws InvalidArgument (a token name
  /// the field does not know, an EOD beyond its vocabulary).
  PackIds ResolveIds(const Schema& input) const;
  /// Memory one window holds at most (the window being gathered) in a run of `memory_bytes`;
  /// Validate keeps it within a quarter of the budget, and the run holds two windows at most.
  uint64_t PackerMemoryBytes(uint64_t memory_bytes) const;

 private:
  PackSettings settings_;
};

/// pad: the per-record transform.
class PadOperator : public Transform {
 public:
  /// Throws InvalidArgument on options that do not fit the mode.
  explicit PadOperator(PackSettings settings);

  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

 private:
  PackSettings settings_;
};

/// The operator `settings` describe: a PackOperator or, for --mode pad, a PadOperator.
std::unique_ptr<Operator> MakePackOperator(PackSettings settings);

}  // namespace corpusflow
