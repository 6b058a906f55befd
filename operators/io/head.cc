#include "operators/io/head.h"

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/registry.h"
#include "engine/stats.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

class HeadRun : public TransformRun {
 public:
  HeadRun(uint64_t limit, ExecContext& ctx) : remaining_(limit), ctx_(ctx) {}
  bool serial() const override { return true; }

  void Apply(Batch& batch, OpState* /*local*/) override {
    const uint64_t n = batch.num_records();
    if (n <= remaining_) {
      remaining_ -= n;
    } else {
      std::vector<bool> keep(n, false);
      std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(remaining_), true);
      batch.KeepRecords(keep);
      remaining_ = 0;
    }
    if (remaining_ == 0) ctx_.RequestStop();
  }

 private:
  uint64_t remaining_;
  ExecContext& ctx_;
};

}  // namespace

std::unique_ptr<TransformRun> HeadOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<HeadRun>(limit_, ctx.exec);
}

std::string HeadOperator::Describe() const {
  return "keep the first " + std::to_string(limit_) + " records";
}

static const OperatorRegistrar kRegisterHead(OperatorDef{
    .name = "head",
    .role = OperatorRole::kTransform,
    .synopsis = "head N",
    .summary = "Keep the first N records and stop reading",
    .details = "N (or --count N) is the number of records to keep. Records after the first N are "
               "not read at all: the source stops early.",
    .describe =
        [](OptionSet& o) {
          o.hidden.add_options()("count", CountValue(), "records to keep");
          o.positional.add("count", 1);
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      // Checked here rather than by ->required(), whose message names only --count.
      if (v.count("count") == 0) {
        throw InvalidArgument("give the number of records, e.g. 'head 100' (or --count N)");
      }
      return std::make_unique<HeadOperator>(v["count"].as<uint64_t>());
    },
});

}  // namespace corpusflow
