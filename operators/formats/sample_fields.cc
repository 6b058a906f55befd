#include "operators/formats/sample_fields.h"

#include <cstring>
#include <limits>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/token_names.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The field named by an optional role: the given name, or `fallback` when the input has it.
std::string ResolveRole(const Schema& input, const std::optional<std::string>& given,
                        const char* fallback) {
  if (given) return *given;
  return input.Find(fallback) != nullptr ? fallback : "";
}

}  // namespace

SampleFields PlanSampleFields(const Schema& input, const SampleFieldOptions& options,
                              const std::string& who) {
  SampleFields fields;
  const Field& ids = input.Require(options.ids, FieldType::kInt32List, who);
  fields.ids = ids.name;
  fields.loss_mask = ResolveRole(input, options.loss_mask, kDefaultLossMaskField);
  fields.boundaries = ResolveRole(input, options.boundaries, kDefaultBoundariesField);
  if (!fields.loss_mask.empty()) input.Require(fields.loss_mask, FieldType::kInt32List, who);
  if (!fields.boundaries.empty()) input.Require(fields.boundaries, FieldType::kInt32List, who);
  if (fields.loss_mask == fields.ids || fields.boundaries == fields.ids ||
      (!fields.loss_mask.empty() && fields.loss_mask == fields.boundaries)) {
    throw InvalidArgument(who +
                          ": --field, --loss-mask and --boundaries must name different "
                          "fields (ids '" +
                          fields.ids + "', loss mask '" + fields.loss_mask + "', boundaries '" +
                          fields.boundaries + "')");
  }
  fields.vocab_size = options.vocab_size > 0 ? options.vocab_size : ids.vocab_size;
  if (ids.token_names != nullptr) fields.vocabulary_source = ids.token_names->source();
  return fields;
}

SampleColumns::SampleColumns(const Batch& batch, const SampleFields& fields)
    : ids_(&batch.GetInt32List(fields.ids)) {
  if (!fields.loss_mask.empty()) loss_mask_ = &batch.GetInt32List(fields.loss_mask);
  if (!fields.boundaries.empty()) boundaries_ = &batch.GetInt32List(fields.boundaries);
}

SampleView SampleColumns::operator[](size_t i) const {
  SampleView view;
  view.ids = (*ids_)[i];
  if (loss_mask_ != nullptr) {
    view.loss_mask = (*loss_mask_)[i];
    view.has_loss_mask = true;
  }
  if (boundaries_ != nullptr) {
    view.boundaries = (*boundaries_)[i];
    view.has_boundaries = true;
  }
  return view;
}

void CheckSample(const SampleView& sample, const SampleFields& fields, int64_t max_id,
                 uint64_t record, const std::string& who) {
  const auto fail = [&](const std::string& field, const std::string& what) {
    throw DataError(who + ": record " + std::to_string(record + 1) + ", field '" + field +
                    "': " + what);
  };
  // As unsigned values negative ids are huge: one vectorisable maximum checks both bounds.
  uint32_t hi = 0;
  for (const int32_t v : sample.ids) hi = std::max(hi, static_cast<uint32_t>(v));
  if (hi > static_cast<uint64_t>(max_id)) {
    for (const int32_t v : sample.ids) {
      if (v < 0) fail(fields.ids, "id " + std::to_string(v) + " is negative");
      if (v > max_id) {
        fail(fields.ids,
             "id " + std::to_string(v) + " is out of range (ids 0.." + std::to_string(max_id) +
                 (fields.vocab_size > 0 ? ", vocabulary size " + std::to_string(fields.vocab_size)
                                        : std::string()) +
                 ")");
      }
    }
  }
  if (sample.has_loss_mask) {
    if (sample.loss_mask.size() != sample.ids.size()) {
      fail(fields.loss_mask, std::to_string(sample.loss_mask.size()) + " values for " +
                                 std::to_string(sample.ids.size()) + " ids in '" + fields.ids +
                                 "' (a loss mask has one 0 or 1 per id)");
    }
    for (size_t j = 0; j < sample.loss_mask.size(); ++j) {
      const int32_t v = sample.loss_mask[j];
      if (v != 0 && v != 1) {
        fail(fields.loss_mask, "value " + std::to_string(v) + " at position " + std::to_string(j) +
                                   " (a loss mask holds 0 and 1)");
      }
    }
  }
  if (sample.has_boundaries) {
    const auto& b = sample.boundaries;
    if (b.empty() || b.front() != 0) {
      fail(fields.boundaries,
           "document boundaries start with 0 (cu_seqlens: 0, then the end of "
           "each document)");
    }
    for (size_t j = 1; j < b.size(); ++j) {
      if (b[j] <= b[j - 1]) {
        fail(fields.boundaries, "boundary " + std::to_string(b[j]) + " at position " +
                                    std::to_string(j) + " does not follow " +
                                    std::to_string(b[j - 1]) + " (ends must increase)");
      }
    }
    if (static_cast<uint64_t>(b.back()) > sample.ids.size()) {
      fail(fields.boundaries, "last document ends at " + std::to_string(b.back()) + ", past the " +
                                  std::to_string(sample.ids.size()) + " ids of '" + fields.ids +
                                  "'");
    }
  }
}

void DocumentEnds(const SampleView& sample, std::vector<uint64_t>* ends) {
  ends->clear();
  const uint64_t n = sample.ids.size();
  if (sample.has_boundaries) {
    for (size_t j = 1; j < sample.boundaries.size(); ++j) {
      ends->push_back(static_cast<uint64_t>(sample.boundaries[j]));
    }
  }
  if (n > 0 && (ends->empty() || ends->back() < n)) ends->push_back(n);
}

uint64_t PaddingTokens(const SampleView& sample) {
  if (!sample.has_boundaries || sample.boundaries.empty()) return 0;
  return sample.ids.size() - static_cast<uint64_t>(sample.boundaries.back());
}

void AppendTokens(std::span<const int32_t> ids, int width, std::string* out) {
  const size_t start = out->size();
  out->resize(start + ids.size() * static_cast<size_t>(width));
  char* __restrict to = out->data() + start;
  const int32_t* __restrict from = ids.data();
  switch (width) {
    case 1:
      for (size_t j = 0; j < ids.size(); ++j) to[j] = static_cast<char>(from[j]);
      break;
    case 2:
      for (size_t j = 0; j < ids.size(); ++j) {
        const auto v = static_cast<uint16_t>(from[j]);
        to[2 * j] = static_cast<char>(v & 0xff);
        to[2 * j + 1] = static_cast<char>(v >> 8);
      }
      break;
    case 4:
      EncodeFixed32Array(to, from, ids.size());
      break;
    case 8:
      for (size_t j = 0; j < ids.size(); ++j) {
        EncodeFixed64(to + 8 * j, static_cast<uint64_t>(static_cast<uint32_t>(from[j])));
      }
      break;
    default:
      throw InvalidArgument("token width " + std::to_string(width) + " is not 1, 2, 4 or 8 bytes");
  }
}

void AppendMaskBytes(std::span<const int32_t> mask, std::string* out) {
  const size_t start = out->size();
  out->resize(start + mask.size());
  for (size_t j = 0; j < mask.size(); ++j) (*out)[start + j] = static_cast<char>(mask[j]);
}

void DescribeSampleSinkOptions(OptionSet& o, const std::string& prefix_help) {
  o.named.add_options()("field", po::value<std::string>()->default_value(kDefaultIdsField),
                        "int32-list field of token ids: one sample (or one document) per record")(
      "loss-mask", po::value<std::string>(),
      "int32-list field of 0/1 per id (default: loss_mask when the input has it; '' for none)")(
      "boundaries", po::value<std::string>(),
      "int32-list field of document boundaries, cu_seqlens: 0, then each document's end "
      "(default: cu_seqlens when the input has it; '' for none)")(
      "vocab-size",
      IntegerValue(0, int64_t{std::numeric_limits<int32_t>::max()} + 1)->default_value(0),
      "vocabulary size, overriding the one recorded on the field (decides the token width)")(
      "shards", CountValue(1, kMaxShards)->default_value(1),
      "number of outputs (PREFIX-0000k-of-0000N)")(
      "shard-policy", po::value<std::string>()->default_value("round-robin"),
      "round-robin (written records in turn) or contiguous (N pieces of the order)");
  o.hidden.add_options()("prefix", po::value<std::string>()->required(), prefix_help.c_str());
  o.positional.add("prefix", 1);
}

SampleSinkOptions ParseSampleSinkOptions(const OptionValues& v) {
  SampleSinkOptions options;
  options.prefix = v["prefix"].as<std::string>();
  options.fields.ids = v["field"].as<std::string>();
  if (v.count("loss-mask") > 0) options.fields.loss_mask = v["loss-mask"].as<std::string>();
  if (v.count("boundaries") > 0) options.fields.boundaries = v["boundaries"].as<std::string>();
  options.fields.vocab_size = v["vocab-size"].as<int64_t>();
  options.shards = static_cast<uint32_t>(v["shards"].as<uint64_t>());
  options.shard_policy = ParseShardPolicy(v["shard-policy"].as<std::string>());
  return options;
}

void CheckSampleSinkOptions(const SampleSinkOptions& options) {
  const std::string& prefix = options.prefix;
  if (prefix.empty() || prefix.back() == '/' || prefix == "." || prefix.ends_with("/.")) {
    throw InvalidArgument("PREFIX must name the output files, e.g. out/train (got '" + prefix +
                          "')");
  }
  if (prefix.find("{shard}") != std::string::npos) {
    throw InvalidArgument("PREFIX '" + prefix +
                          "': {shard} is not replaced; --shards N names the outputs "
                          "PREFIX-0000k-of-0000N (docs/io.md, Shards)");
  }
  if (options.shards == 0) throw InvalidArgument("--shards must be at least 1");
  if (options.fields.ids.empty()) throw InvalidArgument("--field must name a field");
  if (options.fields.vocab_size < 0) throw InvalidArgument("--vocab-size must be positive");
}

}  // namespace corpusflow
