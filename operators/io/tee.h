// `tee`: copy the stream to a second sink and pass it on unchanged. `tee PATH [write options]` is
// shorthand for `tee write PATH [options]`; in general `tee SINK ARGS...` wraps any registered
// sink, created through the operator registry. Planning delegates to the inner sink (Validate,
// the schema check, Describe, the run's files). A serial transform: the inner writer sees the
// batches one at a time in sequence order and is finished only when the whole run has succeeded,
// as the run's CommitGroup prepares (ExecContext::DeferCommit), so its files are renamed with the
// run's other outputs. When any pipeline of the run fails,
// the inner writer is destroyed without Finish() and removes its partial output. Immutable after
// planning.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

class TeeOperator : public Transform {
 public:
  /// REQUIRES: `inner` is a Sink that does not modify the batches it writes.
  explicit TeeOperator(std::unique_ptr<Sink> inner);

  /// Build from `tee` arguments: a registered sink name and its arguments, or the arguments of
  /// `write`. Throws InvalidArgument (no arguments, a non-sink operator, bad sink options).
  static std::unique_ptr<TeeOperator> FromArgs(const std::vector<std::string>& args);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::string Describe() const override;
  std::string DescribePlanned(const Schema& input) const override;
  bool NeedsRecordIndex() const override;
  std::vector<std::string> InputPaths() const override;
  std::vector<std::string> OutputPaths(const Schema& input) const override;
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const Sink& inner() const { return *inner_; }

 private:
  std::unique_ptr<Sink> inner_;
};

}  // namespace corpusflow
