#include "engine/operator.h"

namespace corpusflow {

/// The run of a MapTransform: forwards to the operator's const hooks.
class MapTransformRun : public TransformRun {
 public:
  MapTransformRun(const MapTransform& op, OperatorStats& stats) : op_(op), stats_(stats) {}
  std::unique_ptr<OpState> MakeLocalState() override { return op_.MakeLocalState(); }
  void Apply(Batch& batch, OpState* local) override { op_.Map(batch, local, stats_); }

 private:
  const MapTransform& op_;
  OperatorStats& stats_;
};

std::unique_ptr<TransformRun> MapTransform::Open(const OpenContext& ctx) const {
  return std::make_unique<MapTransformRun>(*this, ctx.stats);
}

}  // namespace corpusflow
