#include "engine/plan.h"

#include <map>
#include <optional>
#include <sstream>

#include "engine/error.h"
#include "engine/io/paths.h"
#include "engine/name_registry.h"
#include "engine/registry.h"

namespace corpusflow {
namespace {

/// A file of the run and the stage that names it.
struct RunFile {
  std::string path;
  std::string stage;
};

/// Throw InvalidArgument when an output is an input of the run or two outputs are one file.
/// One Stat per file and a map, so that a run of many shards plans in O(n log n).
void CheckRunFiles(FileSystem& fs, const std::vector<RunFile>& inputs,
                   const std::vector<RunFile>& outputs) {
  std::map<PathIdentity, const RunFile*> input_files;
  for (const RunFile& in : inputs) {
    if (const auto key = IdentifyPath(in.path, fs.Stat(in.path))) input_files.emplace(*key, &in);
  }
  std::map<PathIdentity, const RunFile*> output_files;
  for (const RunFile& out : outputs) {
    if (out.path == "-") continue;
    const std::optional<FileStatus> status = fs.Stat(out.path);
    // An existing device, FIFO or socket is written in place, never replaced: two writers, or
    // a reader and a writer, may share one.
    if (status && status->type == FileType::kOther) continue;
    const std::optional<PathIdentity> key = IdentifyPath(out.path, status);
    if (!key) continue;
    if (const auto in = input_files.find(*key); in != input_files.end()) {
      const RunFile& input = *in->second;
      throw InvalidArgument(out.stage + " would replace " + out.path + ", an input of " +
                            input.stage + (input.path == out.path ? "" : " (" + input.path + ")") +
                            "; write the output to another file");
    }
    if (const auto [earlier, fresh] = output_files.emplace(*key, &out); !fresh) {
      throw InvalidArgument(out.path + " is written twice, by " + earlier->second->stage +
                            " and by " + out.stage + "; give each output its own file");
    }
  }
}

/// The least edit distance a field-name suggestion may have (NearestName).
constexpr size_t kFieldNameEdits = 1;

/// What the planner adds to the message of a missing field: the operators that add it
/// ("; 'src' comes from gsg or pseudo-summary"), or else the nearest known field name (upstream's
/// or one an operator declares) and where that one comes from.
std::string MissingFieldHint(const std::string& field, const Schema& input) {
  const OperatorRegistry& registry = OperatorRegistry::Global();
  if (std::string origin = registry.FieldOrigin(field); !origin.empty()) return "; " + origin;
  std::vector<std::string> known = input.Names();
  for (std::string& name : registry.DeclaredFieldNames()) {
    if (input.Find(name) == nullptr) known.push_back(std::move(name));
  }
  const std::string nearest = NearestName(field, known, kFieldNameEdits);
  if (nearest.empty()) return "";
  std::string hint = DidYouMean(field, known, kFieldNameEdits);
  if (input.Find(nearest) == nullptr) hint += "; " + registry.FieldOrigin(nearest);
  return hint;
}

}  // namespace

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
  // The stage that last produced each field, for overwrite messages.
  std::map<std::string, std::string> origin;
  std::vector<FieldClaim> claims;
  std::vector<size_t> claims_before(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Operator& op = *chain[i];
    std::string label = op.name();
    if (seen[label] > 1) label += "#" + std::to_string(++counter[label]);
    plan.labels_.push_back(label);
    op.Validate(ctx);
    const std::vector<AddedField> added = op.AddedFields();
    for (const AddedField& field : added) {
      if (schema.Find(field.name) == nullptr || op.overwrite()) continue;
      throw InvalidArgument(label + " would overwrite field '" + field.name + "', which " +
                            origin[field.name] + " produces (pass --overwrite to replace it, or " +
                            field.option + " NAME to keep both)");
    }
    try {
      schema = op.OutputSchema(schema);
    } catch (const MissingFieldError& e) {
      throw InvalidArgument(e.what() + MissingFieldHint(e.field(), schema));
    }
    plan.schemas_.push_back(schema);
    for (const AddedField& field : added) origin[field.name] = label;
    for (const Field& field : schema.fields()) origin.try_emplace(field.name, label);
    claims_before[i] = claims.size();
    for (const AddedField& field : added) {
      claims.push_back(FieldClaim{field, label, op.overwrite()});
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t after = i + 1 < n ? claims_before[i + 1] : claims.size();
    plan.later_fields_.emplace_back(claims.begin() + static_cast<std::ptrdiff_t>(after),
                                    claims.end());
  }

  std::vector<RunFile> inputs, outputs;
  for (size_t i = 0; i < n; ++i) {
    for (std::string& path : chain[i]->InputPaths()) {
      plan.input_paths_.push_back(path);
      inputs.push_back(RunFile{std::move(path), "'" + plan.labels_[i] + "'"});
    }
    for (std::string& path : chain[i]->OutputPaths(i == 0 ? Schema{} : plan.schemas_[i - 1])) {
      plan.output_paths_.push_back(path);
      outputs.push_back(RunFile{std::move(path), "'" + plan.labels_[i] + "'"});
    }
  }
  if (const std::string& stats = ctx.options.stats_json; !stats.empty()) {
    CheckOutputWritable(stats);
    outputs.push_back(RunFile{stats, "--stats-json"});
  }
  CheckRunFiles(ctx.file_system(), inputs, outputs);

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
