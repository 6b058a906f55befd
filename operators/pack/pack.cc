#include "operators/pack/pack.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "engine/check.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/record_codec.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/pack/packer.h"
#include "operators/pack/window_spool.h"

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

/// The free bytes of the filesystem of the temp folder's parent (0 when it cannot be read).
uint64_t TempFreeBytes(const OpenContext& ctx) {
  std::error_code error;
  const std::filesystem::space_info space =
      std::filesystem::space(ctx.exec.temp_dir().parent(), error);
  return error ? 0 : space.available;
}

/// The samples of packed windows, built from the windows as they are read.
class WindowReader : public BatchReader {
 public:
  WindowReader(WindowSpool& spool, RecordCodec codec, uint32_t length, int32_t pad_id,
               uint64_t batch_bytes)
      : spool_(spool),
        codec_(std::move(codec)),
        length_(length),
        pad_id_(pad_id),
        batch_bytes_(batch_bytes) {}

  /// Samples until their data bytes reach the batch size.
  bool Next(Batch* out) override {
    codec_.PrepareBatch(out);
    SampleColumns columns{out->GetInt32List(kPackInputIds), out->GetInt32List(kPackLossMask),
                          out->GetInt32List(kPackCuSeqlens)};
    // A batch's samples at once: no column grows by copying (a pooled batch keeps its buffers).
    const uint64_t samples = batch_bytes_ / ((uint64_t{length_} * 2 + 2) * sizeof(int32_t)) + 1;
    columns.input_ids.Reserve(samples, samples * length_);
    columns.loss_mask.Reserve(samples, samples * length_);
    for (;;) {
      if (next_bin_ == window_.bins()) {
        if (!spool_.Next(&window_)) return !out->empty();
        next_bin_ = 0;
      }
      window_.EmitBin(next_bin_++, length_, pad_id_, columns);
      if (next_bin_ == window_.bins()) {
        window_ = PackedWindow();  // its memory goes back now
        next_bin_ = 0;
      }
      if (out->DataBytes() >= batch_bytes_) return true;
    }
  }

 private:
  WindowSpool& spool_;
  const RecordCodec codec_;
  const uint32_t length_;
  const int32_t pad_id_;
  const uint64_t batch_bytes_;
  PackedWindow window_;
  size_t next_bin_ = 0;
};

class PackRun : public BreakerRun {
 public:
  PackRun(const PackOperator& op, const OpenContext& ctx)
      : op_(op),
        settings_(op.settings()),
        stats_(ctx.stats),
        batch_bytes_(ctx.exec.batch_bytes()),
        spill_(PackSpillOptions(ctx.input.bytes, TempFreeBytes(ctx))) {
    // The packer's memory was checked against the budget when the run was planned (Validate).
    const Field& field = *ctx.input_schema.Find(settings_.field);
    const PackIds ids = op.ResolveIds(ctx.input_schema);
    pad_id_ = ids.pad;
    out_.AddInt32List(kPackInputIds, PackedVocabSize(field, ids.pad));
    out_.AddInt32List(kPackLossMask, 2);
    out_.AddInt32List(kPackCuSeqlens, int64_t{op.sample_length()} + 1);
    // Packed windows are kept in memory up to a quarter of the budget, the rest in the temp
    // folder; the packer hands over whole windows, whose samples are built only as they are read.
    const uint64_t memory = ctx.exec.memory_bytes() / 4;
    windows_.emplace(ctx.exec.temp_dir(), "pack",
                     WindowSpoolOptions{.memory_bytes = memory,
                                        .block_bytes = size_t{1} << 20,
                                        .spill = spill_,
                                        .file_system = &ctx.exec.file_system()});
    columns_.emplace(SampleColumns{out_.GetInt32List(kPackInputIds),
                                   out_.GetInt32List(kPackLossMask),
                                   out_.GetInt32List(kPackCuSeqlens)});
    auto sink = [this](PackedWindow&& window) {
      const uint64_t start = ThreadCpuNanos();
      windows_->Append(std::move(window));
      spool_ns_ += ThreadCpuNanos() - start;
    };
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
  bool ordered() const override { return true; }

  void Write(Batch& batch, OpState* /*local*/) override {
    const uint64_t start = ThreadCpuNanos();
    const uint64_t spooled_before = spool_ns_;
    const Int32ListColumn& documents = batch.GetInt32List(settings_.field);
    const size_t n = documents.size();
    uint64_t empty = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::span<const int32_t> document = documents[i];
      if (document.empty()) {
        ++empty;
        continue;
      }
      packer_->Add(document, *columns_);
    }
    if (empty > 0) stats_.Drop(kEmptyDocument, empty);
    packing_ns_ += ThreadCpuNanos() - start - (spool_ns_ - spooled_before);
  }

  void Finish() override {
    const uint64_t start = ThreadCpuNanos();
    const uint64_t spooled_before = spool_ns_;
    packer_->Finish(*columns_);
    packing_ns_ += ThreadCpuNanos() - start - (spool_ns_ - spooled_before);
    windows_->Finish();
    // The executor's cpu_seconds time Write and the reading back, not this last window.
    stats_.Set("finish_cpu_seconds", static_cast<double>(ThreadCpuNanos() - start) / 1e9);
    const PackCounts& c = packer_->counts();
    stats_.Add("documents", c.documents);
    stats_.Add("samples", c.samples);
    stats_.Add("tokens", c.tokens);
    stats_.Add("padding_tokens", c.padding);
    const uint64_t slots = c.samples * uint64_t{op_.sample_length()};
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
    stats_.Add("spilled_blocks", windows_->spilled_blocks());
    stats_.SetText("spill_compression", windows_->spilled_blocks() == 0 ? "nothing spilled"
                                        : spill_.compression == SpillCompression::kNone ? "none"
                                                                                        : "zstd");
    // The packer's own CPU time (concat: samples built into the output columns; best-fit,
    // first-fit: windows packed), without keeping them and building or reading the samples back,
    // which the operator's cpu_seconds include.
    stats_.Set("packing_cpu_seconds", static_cast<double>(packing_ns_) / 1e9);
  }

  /// Exactly the samples packed.
  InputEstimate OutputEstimate(const InputEstimate& /*consumed*/) const override {
    // A sample holds its ids, as many mask values and its cu_seqlens: 0 and one end per piece.
    const uint64_t values =
        windows_->bins() * (uint64_t{op_.sample_length()} * 2 + 1) + windows_->pieces();
    return InputEstimate{values * sizeof(int32_t), windows_->bins()};
  }

  std::unique_ptr<BatchReader> OpenOutput() override {
    return std::make_unique<WindowReader>(*windows_, RecordCodec::ForBatch(out_),
                                          op_.sample_length(), pad_id_, batch_bytes_);
  }

 private:
  const PackOperator& op_;
  const PackSettings& settings_;
  OperatorStats& stats_;
  const uint64_t batch_bytes_;
  /// How the windows are spilled (PackSpillOptions).
  const SpillOptions spill_;
  int32_t pad_id_ = 0;
  /// The packed windows.
  std::optional<WindowSpool> windows_;
  /// The layout of the samples.
  Batch out_;
  std::optional<SampleColumns> columns_;
  std::unique_ptr<DocumentPacker> packer_;
  /// Thread CPU time inside the packer (Write's loop and Finish), without the spool's.
  uint64_t packing_ns_ = 0;
  uint64_t spool_ns_ = 0;
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

SpillOptions PackSpillOptions(std::optional<uint64_t> input_bytes, uint64_t free_bytes) {
  SpillOptions spill;
  spill.compression = input_bytes && 2 * *input_bytes > free_bytes / 10 * 9
                          ? SpillCompression::kZstd
                          : SpillCompression::kNone;
  return spill;
}

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

std::unique_ptr<BreakerRun> PackOperator::Open(const OpenContext& ctx) const {
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
    .role = OperatorRole::kBreaker,
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
        "These modes are a pipeline breaker: samples are kept in memory, then in the temp "
        "folder, and emitted in the order they were made. --mode pad (seq2seq) is a parallel "
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
