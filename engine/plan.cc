#include "engine/plan.h"

#include <map>
#include <sstream>

#include "engine/error.h"
#include "engine/registry.h"

namespace corpusflow {

Plan Plan::Build(std::vector<std::unique_ptr<Operator>> chain, const PlanContext& ctx) {
  if (chain.empty()) throw InvalidArgument("empty pipeline");
  const size_t n = chain.size();
  for (size_t i = 0; i < n; ++i) {
    const Operator& op = *chain[i];
    const OperatorRole role = op.role();
    const std::string who = "'" + op.name() + "' (a " + std::string(RoleName(role)) + ")";
    if (i == 0 && role != OperatorRole::kSource) {
      throw InvalidArgument("a pipeline starts with a source such as 'read' or 'gen', not " + who);
    }
    if (i > 0 && role == OperatorRole::kSource) {
      throw InvalidArgument(who + " can only start a pipeline");
    }
    if (i + 1 < n && role == OperatorRole::kSink) {
      throw InvalidArgument(who + " must be the last stage");
    }
    if (i + 1 == n && role != OperatorRole::kSink) {
      throw InvalidArgument(
          "a pipeline ends with a sink such as 'write PATH' (or 'write -' for "
          "stdout), not " +
          who);
    }
  }

  Plan plan;
  std::map<std::string, int> seen;
  for (const auto& op : chain) ++seen[op->name()];
  std::map<std::string, int> counter;
  Schema schema;
  for (size_t i = 0; i < n; ++i) {
    const Operator& op = *chain[i];
    std::string label = op.name();
    if (seen[label] > 1) label += "#" + std::to_string(++counter[label]);
    plan.labels_.push_back(label);
    op.Validate(ctx);
    schema = op.OutputSchema(schema);
    plan.schemas_.push_back(schema);
  }

  PipelinePlan current;
  current.source = 0;
  for (size_t i = 1; i < n; ++i) {
    const OperatorRole role = chain[i]->role();
    if (role == OperatorRole::kTransform) {
      current.transforms.push_back(i);
    } else {
      current.sink = i;
      plan.pipelines_.push_back(current);
      current = PipelinePlan{};
      current.source = i;
    }
  }
  plan.operators_ = std::move(chain);
  return plan;
}

std::string Plan::ToString() const {
  std::ostringstream out;
  for (size_t p = 0; p < pipelines_.size(); ++p) {
    const PipelinePlan& pipe = pipelines_[p];
    out << "pipeline " << p + 1 << " of " << pipelines_.size() << ":\n";
    auto line = [&](size_t i, const char* role) {
      out << "  " << role << " " << labels_[i] << ": "
          << operators_[i]->DescribePlanned(input_schema(i)) << "\n"
          << "      -> " << schemas_[i].ToString() << "\n";
    };
    line(pipe.source, p == 0 ? "source   " : "breaker  ");
    for (size_t t : pipe.transforms) line(t, "transform");
    line(pipe.sink,
         operators_[pipe.sink]->role() == OperatorRole::kBreaker ? "breaker  " : "sink     ");
  }
  return out.str();
}

}  // namespace corpusflow
