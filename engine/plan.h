// The planner. A pipeline spec is a chain of operators `source | ... | sink`; the planner checks
// roles (a source first, a sink last, breakers in between), runs every operator's Validate (files,
// directories, option combinations), threads the schema through OutputSchema (a missing field
// gets the nearest known names and the operators that add it: "(did you mean 'text'?)", "'src'
// comes from gsg or pseudo-summary", from the registry's declared outputs), refuses a stage that
// would replace a field its input has unless it was given --overwrite, and checks the
// run's files: no output (the `--stats-json` document included) is an input of the run or
// written twice, and the stats document's folder exists; all before any I/O. It then cuts the chain
// at pipeline breakers: `read | a | shuffle | b | write` becomes two pipelines, [read -> a ->
// shuffle(sink)] and [shuffle(source) -> b -> write]. A Plan owns its operators and is immutable
// once built.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/exec_context.h"
#include "engine/operator.h"
#include "engine/schema.h"

namespace corpusflow {

/// One pipeline of a plan: indexes into Plan::operators().
struct PipelinePlan {
  size_t source = 0;               // a Source, or the Breaker that ends the previous pipeline
  std::vector<size_t> transforms;  // Transforms, in order
  size_t sink = 0;                 // a Sink, or a Breaker
};

class Plan {
 public:
  /// Validate the chain and cut it into pipelines. Throws InvalidArgument (usage) or IoError.
  static Plan Build(std::vector<std::unique_ptr<Operator>> chain, const PlanContext& ctx);

  const std::vector<std::unique_ptr<Operator>>& operators() const { return operators_; }
  /// Unique labels for stats: the operator name, "#k" appended when a name repeats.
  const std::vector<std::string>& labels() const { return labels_; }
  /// The schema each operator emits.
  const std::vector<Schema>& schemas() const { return schemas_; }
  /// The schema operator `i` receives: what the operator before it emits; empty for the source.
  const Schema& input_schema(size_t i) const { return i == 0 ? no_input_ : schemas_[i - 1]; }
  const std::vector<PipelinePlan>& pipelines() const { return pipelines_; }
  /// The fields that the operators after operator `i` add (their AddedFields, in order), for
  /// OpenContext::later_fields.
  const std::vector<FieldClaim>& later_fields(size_t i) const { return later_fields_[i]; }
  /// The files the run reads (every operator's InputPaths), for ExecContext::SetInputFiles.
  const std::vector<std::string>& input_paths() const { return input_paths_; }
  /// The files the run writes as planned (every operator's OutputPaths, without the
  /// `--stats-json` document), for ExecContext::SetOutputPaths.
  const std::vector<std::string>& output_paths() const { return output_paths_; }

  /// The `--dry-run` printout: pipelines, breakers, and the schema after every stage.
  std::string ToString() const;

 private:
  std::vector<std::unique_ptr<Operator>> operators_;
  std::vector<std::string> labels_;
  std::vector<Schema> schemas_;
  Schema no_input_;
  std::vector<PipelinePlan> pipelines_;
  std::vector<std::vector<FieldClaim>> later_fields_;
  std::vector<std::string> input_paths_;
  std::vector<std::string> output_paths_;
};

}  // namespace corpusflow
