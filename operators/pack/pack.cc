#include "operators/pack/pack.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/record_codec.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/pack/packer.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The longest sample: cu_seqlens are int32 and a sample must stay far below a spool block.
constexpr uint64_t kMaxPackLength = uint64_t{1} << 24;

/// The drop reasons (docs/packing.md).
constexpr const char* kEmptyDocument = "empty document";
constexpr const char* kDroppedLastWindow = "only in the dropped last window";

/// The vocabulary size of the packed ids: the input's, widened to hold the padding id.
int64_t PackedVocabSize(const Field& field, int32_t pad) {
  if (field.vocab_size <= 0) return 0;
  return std::max<int64_t>(field.vocab_size, int64_t{pad} + 1);
}

/// Check an id an option gives against the field's vocabulary size, when it is known.
void CheckInVocabulary(int32_t id, const TokenRef& ref, const Field& field,
                       const std::string& option, const std::string& who) {
  if (field.vocab_size > 0 && id >= field.vocab_size) {
    throw InvalidArgument(who + ": " + option + " " + ref.text +
                          (ref.id ? "" : " (id " + std::to_string(id) + ")") +
                          " is not below the vocabulary size " + std::to_string(field.vocab_size) +
                          " of field '" + field.name + "'");
  }
}

/// concat's packer: windows of a sixty-fourth of the budget's bytes of ids, at most 16 MiB (at
/// least one sample: ConcatPacker rounds up), so that the window being gathered, its pieces
/// included, stays well inside the quarter of the budget that Validate allows.
ConcatOptions MakeConcatOptions(const PackSettings& settings, const PackIds& ids,
                                uint64_t memory_bytes) {
  return ConcatOptions{.length = settings.length,
                       .plus_one = settings.plus_one,
                       .eod = ids.eod,
                       .keep_last = settings.keep_last,
                       .pad_id = ids.pad,
                       .window_tokens = std::clamp<uint64_t>(memory_bytes / 64 / sizeof(int32_t), 1,
                                                             uint64_t{4} << 20)};
}

/// Append the samples of `from` (laid out for samples) to `to`.
void AppendSamples(const Batch& from, SampleColumns& to) {
  if (from.empty()) return;
  for (auto [name, column] :
       {std::pair<const char*, Int32ListColumn*>{kPackInputIds, &to.input_ids},
        {kPackLossMask, &to.loss_mask},
        {kPackCuSeqlens, &to.cu_seqlens}}) {
    const Int32ListColumn& samples = from.GetInt32List(name);
    const uint64_t base = column->values().size();
    column->values().insert(column->values().end(), samples.values().begin(),
                            samples.values().end());
    for (size_t i = 1; i < samples.offsets().size(); ++i) {
      column->offsets().push_back(base + samples.offsets()[i]);
    }
  }
}

/// concat, best-fit, first-fit: a serial transform that streams. Each batch's documents go to the
/// packer, which hands over every window it packs (OnWindow); the batch leaves with as many ids of
/// samples as it brought in, read from the oldest window packed (Apply), and the samples left at
/// the end of the input leave in batches of about the batch size (Drain). A window is read out by
/// the time the next one is packed (OnWindow reads what is left of it), and its buffers go back to
/// the packer for the window after: two windows' memory at most, reused for any input.
class PackRun : public TransformRun {
 public:
  PackRun(const PackOperator& op, const OpenContext& ctx)
      : settings_(op.settings()),
        stats_(ctx.stats),
        batch_bytes_(ctx.exec.batch_bytes()),
        length_(op.sample_length()) {
    // The packer's memory was checked against the budget when the run was planned (Validate).
    const Field& field = *ctx.input_schema.Find(settings_.field);
    const PackIds ids = op.ResolveIds(ctx.input_schema);
    pad_id_ = ids.pad;
    eod_ids_ = ids.eod ? 1 : 0;
    Batch layout;
    layout.AddInt32List(kPackInputIds, PackedVocabSize(field, ids.pad));
    layout.AddInt32List(kPackLossMask, 2);
    layout.AddInt32List(kPackCuSeqlens, int64_t{length_} + 1);
    codec_.emplace(RecordCodec::ForBatch(layout));
    auto sink = [this](PackedWindow&& window) { OnWindow(std::move(window)); };
    if (settings_.mode == PackMode::kConcat) {
      auto packer = std::make_unique<ConcatPacker>(
          MakeConcatOptions(settings_, ids, ctx.exec.memory_bytes()));
      packer->set_window_sink(sink);
      packer_ = std::move(packer);
    } else {
      auto packer = std::make_unique<BinPacker>(BinPackOptions{
          .length = settings_.length,
          .policy = settings_.mode == PackMode::kBestFit ? BinPolicy::kBestFitDecreasing
                                                         : BinPolicy::kFirstFit,
          .eod = ids.eod,
          .pad_id = ids.pad,
          .window_pieces = settings_.window_pieces,
          .window_tokens = std::max<uint64_t>(1, settings_.window_bytes / sizeof(int32_t))});
      packer->set_window_sink(sink);
      packer_ = std::move(packer);
    }
  }

  /// Packing follows the stream order: one batch at a time, in sequence order.
  bool serial() const override { return true; }

  void Apply(Batch& batch, OpState* /*local*/) override {
    const uint64_t sequence = batch.sequence();
    Target(out_);
    // The documents go to the packer; a window it packs meanwhile reads the rest of the window
    // before it into out_ (OnWindow): a few samples, as the window was being read all along.
    read_out_ = true;
    const uint64_t start = ThreadCpuNanos();
    const uint64_t emitted_before = emit_ns_;
    const Int32ListColumn& documents = batch.GetInt32List(settings_.field);
    const size_t n = documents.size();
    uint64_t empty = 0;
    uint64_t ids = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::span<const int32_t> document = documents[i];
      if (document.empty()) {
        ++empty;
        continue;
      }
      ids += document.size() + eod_ids_;
      since_packed_ += document.size() + eod_ids_;
      packer_->Add(document, *target_);
    }
    if (empty > 0) stats_.Drop(kEmptyDocument, empty);
    packing_ns_ += ThreadCpuNanos() - start - (emit_ns_ - emitted_before);
    read_out_ = false;
    // The documents' column becomes input_ids: its buffer, whose pages the stage before touched,
    // holds the samples' ids, and goes back to that stage on the batch's next trip (fresh memory
    // costs far more than the copy into it).
    batch.Find(settings_.field)->field.name = kPackInputIds;
    // The batch, its documents consumed, takes the samples: those read out meanwhile first, then
    // the window being read as far as the window being filled will be after one more batch like
    // this one (ids counted without padding), so that it is read out before the next window is
    // packed (windows are alike); at most a quarter more ids than came in, so that a batch leaves
    // with about as many ids as it brought (and its columns keep their size).
    Target(batch);
    const uint64_t most = ids + ids / 4 + length_;
    // Room for the samples at once (padding and a sample's overshoot included): no column grows
    // by copying.
    Reserve(most + most / 8 + 2 * uint64_t{length_} +
            out_.GetInt32List(kPackInputIds).values().size());
    AppendSamples(out_, *target_);
    const uint64_t goal = since_packed_ + ids;
    for (uint64_t emitted = 0; !ready_.empty() && read_ids_ < goal && emitted < most;) {
      const uint32_t n = EmitNext();
      read_ids_ += n;
      emitted += n;
    }
    batch.set_sequence(sequence);
    batch.set_origin(0);
  }

  /// The samples left after the last batch: those of the window being read and of the last one.
  bool Drain(Batch* out) override {
    Target(*out);
    if (!finished_) {
      finished_ = true;
      const uint64_t start = ThreadCpuNanos();
      packer_->Finish(*target_);
      packing_ns_ += ThreadCpuNanos() - start;
    }
    // About a batch of samples, its ids and loss mask taking most of it.
    Reserve(batch_bytes_ / (2 * sizeof(int32_t)) + uint64_t{length_});
    while (out->DataBytes() < batch_bytes_ && EmitNext() > 0) {
    }
    return !out->empty();
  }

  void Finish() override {
    CF_CHECK(finished_ && ready_.empty(), "pack: windows left after the last batch");
    const PackCounts& c = packer_->counts();
    stats_.Add("documents", c.documents);
    stats_.Add("samples", c.samples);
    stats_.Add("tokens", c.tokens);
    stats_.Add("padding_tokens", c.padding);
    const uint64_t slots = c.samples * uint64_t{length_};
    stats_.Set(
        "padding_percent",
        slots == 0 ? 0.0 : 100.0 * static_cast<double>(c.padding) / static_cast<double>(slots));
    if (settings_.mode == PackMode::kConcat) {
      stats_.Add("dropped_tokens", c.dropped_tokens);
      if (c.dropped_documents > 0) stats_.Drop(kDroppedLastWindow, c.dropped_documents);
    } else {
      stats_.Add("pieces", c.pieces);
      stats_.Add("split_documents", c.split_documents);
      stats_.Add("windows", c.windows);
    }
    stats_.Add("window_buffers", c.window_buffers);
    // The packer's own CPU time (windows filled and packed), without building the samples out
    // of them, which the operator's cpu_seconds include.
    stats_.Set("packing_cpu_seconds", static_cast<double>(packing_ns_) / 1e9);
  }

 private:
  /// Lay `out` out for samples, and make its columns the ones samples go to.
  void Target(Batch& out) {
    codec_->PrepareBatch(&out);
    target_.emplace(SampleColumns{out.GetInt32List(kPackInputIds), out.GetInt32List(kPackLossMask),
                                  out.GetInt32List(kPackCuSeqlens)});
  }

  /// Make room in the target's columns for `ids` sample ids (padding included).
  void Reserve(uint64_t ids) {
    const uint64_t samples = ids / length_ + 1;
    for (Int32ListColumn* column : {&target_->input_ids, &target_->loss_mask}) {
      std::vector<int32_t>& values = column->values();
      if (values.capacity() >= ids) {
        column->offsets().reserve(samples + 1);
        continue;
      }
      // A quarter more than asked: a batch a little larger than the largest so far must not
      // cost a fresh buffer each time (fresh pages are dear: docs/packing.md).
      column->Reserve(samples + samples / 4, ids + ids / 4);
      AdviseHugePages(values.data(), values.capacity() * sizeof(int32_t));
    }
  }

  /// A window packed: it is read after the one before it, which is read out now while Apply
  /// feeds the packer, so that its buffers go back to the packer for the next window.
  void OnWindow(PackedWindow&& window) {
    ready_.push_back(std::move(window));
    if (!read_out_) return;
    const uint64_t start = ThreadCpuNanos();
    while (ready_.size() > 1) EmitNext();
    since_packed_ = 0;
    emit_ns_ += ThreadCpuNanos() - start;
  }

  /// Emit the next sample of the oldest window into the target; returns its document ids, or 0
  /// when no window is ready. A window read out goes back to the packer.
  uint32_t EmitNext() {
    if (ready_.empty()) return 0;
    PackedWindow& window = ready_.front();
    const uint32_t ids = window.EmitBin(next_bin_++, length_, pad_id_, *target_);
    if (next_bin_ == window.bins()) {
      packer_->Recycle(std::move(window));
      ready_.pop_front();
      next_bin_ = 0;
      read_ids_ = 0;
    }
    return ids;
  }

  const PackSettings& settings_;
  OperatorStats& stats_;
  const uint64_t batch_bytes_;
  /// Ids per sample.
  const uint32_t length_;
  int32_t pad_id_ = 0;
  /// Ids added to each document: 1 with --eod.
  uint64_t eod_ids_ = 0;
  /// The layout of the samples.
  std::optional<RecordCodec> codec_;
  std::unique_ptr<DocumentPacker> packer_;
  /// The windows packed whose samples have not all left, oldest first: one, and two for a moment
  /// (OnWindow); the next sample is bin next_bin_ of the first.
  std::deque<PackedWindow> ready_;
  size_t next_bin_ = 0;
  /// The samples read out while Apply packs a batch's documents (OnWindow), which the batch
  /// takes once they are consumed. Laid out for samples once, its buffers reused.
  Batch out_;
  /// The columns samples go to (out_'s, or Drain's batch's).
  std::optional<SampleColumns> target_;
  /// Inside Apply's packing: a window packed reads out the one before it.
  bool read_out_ = false;
  /// Ids given to the packer since the last window was packed, and the document ids emitted of
  /// the window being read.
  uint64_t since_packed_ = 0;
  uint64_t read_ids_ = 0;
  /// Drain ended the packer.
  bool finished_ = false;
  /// Thread CPU time inside the packer, without the samples OnWindow emits meanwhile (emit_ns_).
  uint64_t packing_ns_ = 0;
  uint64_t emit_ns_ = 0;
};

class PadRun : public TransformRun {
  /// A worker's copy of the input ids, reused from batch to batch.
  struct Local : OpState {
    Int32ListColumn input;
  };

 public:
  PadRun(const PackSettings& settings, int32_t pad, OperatorStats& stats)
      : settings_(settings), pad_(pad), stats_(stats) {}

  std::unique_ptr<OpState> MakeLocalState() override { return std::make_unique<Local>(); }

  void Apply(Batch& batch, OpState* local) override {
    Int32ListColumn& scratch = static_cast<Local*>(local)->input;
    PadField(batch, settings_.src, settings_.src_length, settings_.src_mask, scratch, "src");
    PadField(batch, settings_.tgt, settings_.tgt_length, settings_.tgt_mask, scratch, "tgt");
  }

 private:
  /// Replace `field` by its ids truncated or padded to `length`, add its mask, and count the
  /// records and ids cut (`truncated_WHICH`, `truncated_WHICH_tokens`).
  void PadField(Batch& batch, const std::string& field, uint32_t length,
                const std::string& mask_field, Int32ListColumn& input, const std::string& which) {
    input.Clear();
    std::swap(input, std::get<Int32ListColumn>(batch.Find(field)->data));
    const size_t n = input.size();
    Int32ListColumn& mask = batch.AddInt32List(mask_field, 2);
    mask.Reserve(n, n * length);
    Int32ListColumn& ids = std::get<Int32ListColumn>(batch.Find(field)->data);
    ids.Clear();
    ids.Reserve(n, n * length);
    uint64_t cut = 0;
    uint64_t records_cut = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t c = PadSample(input[i], length, pad_, ids, mask);
      cut += c;
      records_cut += c > 0 ? 1 : 0;
    }
    if (records_cut > 0) {
      stats_.Add("truncated_" + which, records_cut);
      stats_.Add("truncated_" + which + "_tokens", cut);
    }
  }

  const PackSettings& settings_;
  const int32_t pad_;
  OperatorStats& stats_;
};

/// The modes' names, for the option and messages.
PackMode ParsePackMode(const std::string& text) {
  if (text == "concat") return PackMode::kConcat;
  if (text == "best-fit") return PackMode::kBestFit;
  if (text == "first-fit") return PackMode::kFirstFit;
  if (text == "pad") return PackMode::kPad;
  throw InvalidArgument("pack: --mode must be concat, best-fit, first-fit or pad, not '" + text +
                        "'");
}

/// Throw when `given` (an option's name) is set for a mode it does not apply to.
void RefuseOption(bool given, const std::string& option, PackMode mode, const char* applies_to) {
  if (given) {
    throw InvalidArgument("pack: " + option + " applies to " + applies_to + ", not to --mode " +
                          std::string(PackModeName(mode)));
  }
}

}  // namespace

std::string_view PackModeName(PackMode mode) {
  switch (mode) {
    case PackMode::kConcat:
      return "concat";
    case PackMode::kBestFit:
      return "best-fit";
    case PackMode::kFirstFit:
      return "first-fit";
    case PackMode::kPad:
      return "pad";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// PackOperator

PackOperator::PackOperator(PackSettings settings) : settings_(std::move(settings)) {
  CF_CHECK(settings_.mode != PackMode::kPad, "PackOperator for --mode pad");
  if (settings_.length == 0) {
    throw InvalidArgument("pack: --mode " + std::string(PackModeName(settings_.mode)) +
                          " needs --length");
  }
}

uint32_t PackOperator::sample_length() const {
  return settings_.length + (settings_.plus_one ? 1 : 0);
}

uint64_t PackOperator::PackerMemoryBytes(uint64_t memory_bytes) const {
  if (settings_.mode == PackMode::kConcat) {
    return ConcatPacker::WindowMemoryBytes(MakeConcatOptions(settings_, PackIds{}, memory_bytes));
  }
  BinPackOptions window;
  window.length = settings_.length;
  window.window_pieces = settings_.window_pieces;
  window.window_tokens = std::max<uint64_t>(1, settings_.window_bytes / sizeof(int32_t));
  return BinPacker::WindowMemoryBytes(window);
}

void PackOperator::Validate(const PlanContext& ctx) const {
  const uint64_t needed = PackerMemoryBytes(ctx.memory_bytes);
  if (needed > ctx.memory_bytes / 4) {
    throw InvalidArgument(name() + ": the window needs " +
                          FormatBytes(static_cast<double>(needed)) +
                          ", more than a quarter of the run's --memory (" +
                          FormatBytes(static_cast<double>(ctx.memory_bytes)) + "): " +
                          (settings_.mode == PackMode::kConcat
                               ? "lower --length or raise --memory"
                               : "lower --window-bytes or --window, or raise --memory"));
  }
}

PackIds PackOperator::ResolveIds(const Schema& input) const {
  const Field& field = input.Require(settings_.field, FieldType::kInt32List, name());
  PackIds ids;
  if (settings_.eod) {
    ids.eod = ResolveToken(*settings_.eod, field, "--eod", name());
    CheckInVocabulary(*ids.eod, *settings_.eod, field, "--eod", name());
  }
  ids.pad = ResolveToken(settings_.pad, field, "--pad-id", name());
  return ids;
}

Schema PackOperator::OutputSchema(const Schema& input) const {
  const PackIds ids = ResolveIds(input);
  const Field& field = *input.Find(settings_.field);
  Field input_ids{kPackInputIds, FieldType::kInt32List, PackedVocabSize(field, ids.pad),
                  field.token_names};
  return Schema({std::move(input_ids), Field{kPackLossMask, FieldType::kInt32List, 2},
                 Field{kPackCuSeqlens, FieldType::kInt32List, int64_t{sample_length()} + 1}});
}

std::string PackOperator::Describe() const {
  std::string d = "pack '" + settings_.field + "' into samples of " +
                  std::to_string(sample_length()) + " ids (" +
                  std::string(PackModeName(settings_.mode));
  if (settings_.mode == PackMode::kConcat) {
    if (settings_.plus_one) d += ", windows of L+1 overlapping by one";
    d += settings_.keep_last ? ", last window padded" : ", last partial window dropped";
  } else {
    d += ", windows of " + std::to_string(settings_.window_pieces) + " pieces or " +
         FormatBytes(static_cast<double>(settings_.window_bytes)) + " of ids";
  }
  if (settings_.eod) d += ", EOD " + settings_.eod->text;
  d += ", padding " + settings_.pad.text + ") -> input_ids, loss_mask, cu_seqlens";
  return d;
}

std::string PackOperator::RankLimit() const {
  return "it packs the whole stream of documents, in order, in one process";
}

std::unique_ptr<TransformRun> PackOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<PackRun>(*this, ctx);
}

// ---------------------------------------------------------------------------------------------
// PadOperator

PadOperator::PadOperator(PackSettings settings) : settings_(std::move(settings)) {
  CF_CHECK(settings_.mode == PackMode::kPad, "PadOperator for another mode");
  if (settings_.src_length == 0 || settings_.tgt_length == 0) {
    throw InvalidArgument("pack: --mode pad needs --src-length and --tgt-length");
  }
  if (settings_.src == settings_.tgt) {
    throw InvalidArgument("pack: --src and --tgt are the same field '" + settings_.src + "'");
  }
  const std::vector<std::string> names = {settings_.src, settings_.tgt, settings_.src_mask,
                                          settings_.tgt_mask};
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) {
      if (names[i] == names[j]) {
        throw InvalidArgument("pack: the field name '" + names[i] + "' is given twice");
      }
    }
  }
}

Schema PadOperator::OutputSchema(const Schema& input) const {
  Schema out = input;
  const Field& src = input.Require(settings_.src, FieldType::kInt32List, name());
  const Field& tgt = input.Require(settings_.tgt, FieldType::kInt32List, name());
  const int32_t pad = ResolveToken(settings_.pad, src, "--pad-id", name());
  // The same id must name the padding of both fields.
  if (!settings_.pad.id) {
    const int32_t tgt_pad = ResolveToken(settings_.pad, tgt, "--pad-id", name());
    if (tgt_pad != pad) {
      throw InvalidArgument(name() + ": --pad-id " + settings_.pad.text + " is id " +
                            std::to_string(pad) + " in '" + src.name + "' but " +
                            std::to_string(tgt_pad) + " in '" + tgt.name + "'");
    }
  }
  Field src_out = src;
  src_out.vocab_size = PackedVocabSize(src, pad);
  Field tgt_out = tgt;
  tgt_out.vocab_size = PackedVocabSize(tgt, pad);
  out.Set(std::move(src_out));
  out.Set(std::move(tgt_out));
  out.Set(Field{settings_.src_mask, FieldType::kInt32List, 2});
  out.Set(Field{settings_.tgt_mask, FieldType::kInt32List, 2});
  return out;
}

std::vector<AddedField> PadOperator::AddedFields() const {
  return {{settings_.src_mask, "--src-mask"}, {settings_.tgt_mask, "--tgt-mask"}};
}

std::string PadOperator::Describe() const {
  return "pad '" + settings_.src + "' to " + std::to_string(settings_.src_length) + " and '" +
         settings_.tgt + "' to " + std::to_string(settings_.tgt_length) + " ids (truncate or pad " +
         settings_.pad.text + ") -> " + settings_.src_mask + ", " + settings_.tgt_mask;
}

std::unique_ptr<TransformRun> PadOperator::Open(const OpenContext& ctx) const {
  const Field& src = *ctx.input_schema.Find(settings_.src);
  const int32_t pad = ResolveToken(settings_.pad, src, "--pad-id", name());
  return std::make_unique<PadRun>(settings_, pad, ctx.stats);
}

std::unique_ptr<Operator> MakePackOperator(PackSettings settings) {
  if (settings.mode == PackMode::kPad) return std::make_unique<PadOperator>(std::move(settings));
  return std::make_unique<PackOperator>(std::move(settings));
}

static const OperatorRegistrar kRegisterPack(OperatorDef{
    .name = "pack",
    .role = OperatorRole::kTransform,
    .synopsis = "pack --mode concat|best-fit|first-fit --length L [--field text_ids] "
                "[--eod ID|TOKEN] [--plus-one] [--keep-last] [--window N] [--window-bytes SIZE] "
                "[--pad-id ID|TOKEN]  |  pack --mode pad --src-length N --tgt-length N "
                "[--src src_ids] [--tgt tgt_ids]",
    .summary = "Pack documents of token ids into fixed-length training samples",
    .details =
        "--mode concat (GPT, Megatron's samples): documents, each followed by --eod, are joined "
        "and cut into windows of L ids, or L+1 with --plus-one (consecutive windows overlap by "
        "one id, so inputs and shifted labels come from one window), crossing documents; the "
        "last partial window is dropped and counted, or padded with --keep-last. --mode "
        "best-fit: documents (with --eod) longer than L are cut into pieces of L ids, and the "
        "pieces of each window (--window pieces or --window-bytes of ids, whichever fills "
        "first) are packed by best-fit decreasing into samples of L ids padded with --pad-id. "
        "--mode first-fit is the baseline: arrival order, first bin with room. Every sample is "
        "a record of input_ids, loss_mask (1 on document ids, 0 on padding) and cu_seqlens (0, "
        "then the end of each document piece inside the sample); other fields are not kept. "
        "These modes stream: each window's samples leave, in the order they were made, once it "
        "is packed (two windows in memory at most, nothing spilled). --mode pad (seq2seq) is a "
        "parallel "
        "transform: --src and --tgt are truncated or padded in place to --src-length and "
        "--tgt-length, and --src-mask and --tgt-mask are added. Samples depend only on the "
        "input order and the options, never on --threads or --memory. Empty documents are "
        "dropped (empty_document). docs/packing.md has the details.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("mode", po::value<std::string>()->default_value("concat"),
                                "concat, best-fit, first-fit or pad")(
              "field", po::value<std::string>()->default_value("text_ids"),
              "the int32-list field of the documents (concat, best-fit, first-fit)")(
              "length", CountValue(1, kMaxPackLength), "L: ids per sample (the window stride)")(
              "eod", po::value<std::string>(),
              "append this id or token ('<|endoftext|>') to every document")(
              "plus-one", po::bool_switch(), "concat: windows of L+1 ids overlapping by one")(
              "keep-last", po::bool_switch(),
              "concat: pad the last partial window instead of dropping it")(
              "window", CountValue(1, (uint64_t{1} << 31) - 1),
              "best-fit, first-fit: pieces per window (default 100000)")(
              "window-bytes", ByteSizeValue(4, uint64_t{1} << 40),
              "best-fit, first-fit: bytes of ids per window, 4 per id (default 16M)")(
              "pad-id", po::value<std::string>()->default_value("0"), "the padding id or token")(
              "src", po::value<std::string>()->default_value("src_ids"),
              "pad: the source ids field")("tgt",
                                           po::value<std::string>()->default_value("tgt_ids"),
                                           "pad: the target ids field")(
              "src-length", CountValue(1, kMaxPackLength), "pad: ids per source")(
              "tgt-length", CountValue(1, kMaxPackLength), "pad: ids per target")(
              "src-mask", po::value<std::string>()->default_value("src_mask"),
              "pad: the source mask field added")(
              "tgt-mask", po::value<std::string>()->default_value("tgt_mask"),
              "pad: the target mask field added");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      PackSettings s;
      s.mode = ParsePackMode(v["mode"].as<std::string>());
      const bool pad = s.mode == PackMode::kPad;
      const bool concat = s.mode == PackMode::kConcat;
      const bool bins = !pad && !concat;
      auto given = [&](const char* option) {
        return v.count(option) > 0 && !v[option].defaulted();
      };
      RefuseOption(pad && given("field"), "--field", s.mode, "concat, best-fit and first-fit");
      RefuseOption(pad && given("length"), "--length", s.mode, "concat, best-fit and first-fit");
      RefuseOption(pad && given("eod"), "--eod", s.mode, "concat, best-fit and first-fit");
      RefuseOption(!concat && v["plus-one"].as<bool>(), "--plus-one", s.mode, "--mode concat");
      RefuseOption(!concat && v["keep-last"].as<bool>(), "--keep-last", s.mode, "--mode concat");
      RefuseOption(!bins && given("window"), "--window", s.mode, "best-fit and first-fit");
      RefuseOption(!bins && given("window-bytes"), "--window-bytes", s.mode,
                   "best-fit and first-fit");
      for (const char* option :
           {"src", "tgt", "src-length", "tgt-length", "src-mask", "tgt-mask"}) {
        RefuseOption(!pad && given(option), std::string("--") + option, s.mode, "--mode pad");
      }
      s.field = v["field"].as<std::string>();
      if (v.count("length") > 0) s.length = static_cast<uint32_t>(v["length"].as<uint64_t>());
      if (v.count("eod") > 0) s.eod = TokenRef::Parse(v["eod"].as<std::string>(), "--eod");
      s.plus_one = v["plus-one"].as<bool>();
      s.keep_last = v["keep-last"].as<bool>();
      if (v.count("window") > 0) s.window_pieces = v["window"].as<uint64_t>();
      if (v.count("window-bytes") > 0) s.window_bytes = v["window-bytes"].as<uint64_t>();
      s.pad = TokenRef::Parse(v["pad-id"].as<std::string>(), "--pad-id");
      s.src = v["src"].as<std::string>();
      s.tgt = v["tgt"].as<std::string>();
      if (v.count("src-length") > 0) {
        s.src_length = static_cast<uint32_t>(v["src-length"].as<uint64_t>());
      }
      if (v.count("tgt-length") > 0) {
        s.tgt_length = static_cast<uint32_t>(v["tgt-length"].as<uint64_t>());
      }
      s.src_mask = v["src-mask"].as<std::string>();
      s.tgt_mask = v["tgt-mask"].as<std::string>();
      return MakePackOperator(std::move(s));
    },
    .outputs = {{kPackInputIds, "--mode"},
                {kPackLossMask, "--mode"},
                {kPackCuSeqlens, "--mode"},
                {"src_mask", "--src-mask"},
                {"tgt_mask", "--tgt-mask"}},
});

}  // namespace corpusflow
