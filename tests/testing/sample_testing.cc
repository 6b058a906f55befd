#include "tests/testing/sample_testing.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <stdexcept>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

std::string Join(const std::vector<int32_t>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ' ';
    out += std::to_string(values[i]);
  }
  return out;
}

}  // namespace

std::vector<TestSample> PackedTestSamples(uint64_t seed, size_t count, size_t length,
                                          int32_t max_id, int32_t eos, int32_t pad) {
  std::mt19937_64 rng(seed);
  std::vector<TestSample> samples;
  for (size_t s = 0; s < count; ++s) {
    TestSample sample;
    sample.cu_seqlens.push_back(0);
    const bool padded = rng() % 2 == 0;
    while (sample.ids.size() < length) {
      const size_t left = length - sample.ids.size();
      size_t doc = 1 + rng() % std::max<size_t>(1, length / 2);
      if (doc > left) {
        if (padded) break;
        doc = left;
      }
      for (size_t j = 0; j + 1 < doc; ++j) {
        int32_t id;
        do {
          id = static_cast<int32_t>(rng() % (static_cast<uint64_t>(max_id) + 1));
        } while (id == eos || id == pad);
        sample.ids.push_back(id);
        sample.loss_mask.push_back(j == 0 ? 0 : 1);
      }
      sample.ids.push_back(eos);
      sample.loss_mask.push_back(doc == 1 ? 0 : 1);
      sample.cu_seqlens.push_back(static_cast<int32_t>(sample.ids.size()));
    }
    while (sample.ids.size() < length) {
      sample.ids.push_back(pad);
      sample.loss_mask.push_back(0);
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::string TestSamplesJsonl(const std::vector<TestSample>& samples) {
  std::string out;
  for (const TestSample& s : samples) {
    out += "{\"ids\": \"" + Join(s.ids) + "\", \"mask\": \"" + Join(s.loss_mask) +
           "\", \"bounds\": \"" + Join(s.cu_seqlens) + "\"}\n";
  }
  return out;
}

std::string TestSamplePipeline(const std::string& input, int64_t vocab_size, bool with_mask,
                               bool with_boundaries) {
  std::string p = "read " + input + " --field ids,mask,bounds | parse-ids --field ids --output " +
                  "input_ids" +
                  (vocab_size > 0 ? " --vocab-size " + std::to_string(vocab_size) : "");
  if (with_mask) p += " | parse-ids --field mask --output loss_mask";
  if (with_boundaries) p += " | parse-ids --field bounds --output cu_seqlens";
  return p;
}

std::vector<TestSample> ReadTestSamplesJsonl(const std::string& path) {
  std::vector<TestSample> samples;
  simdjson::dom::parser parser;
  for (const std::string& line : SplitLines(ReadFile(path))) {
    simdjson::dom::element record;
    if (parser.parse(line).get(record) != simdjson::SUCCESS) {
      throw std::runtime_error(path + ": not JSON: " + line);
    }
    TestSample sample;
    const auto member = [&](const char* name, std::vector<int32_t>* out) {
      simdjson::dom::array array;
      if (record[name].get_array().get(array) != simdjson::SUCCESS) return;
      for (simdjson::dom::element e : array) out->push_back(static_cast<int32_t>(int64_t(e)));
    };
    member("input_ids", &sample.ids);
    member("loss_mask", &sample.loss_mask);
    member("cu_seqlens", &sample.cu_seqlens);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<TestSample> RunSamplesThroughSink(const std::string& dir,
                                              const std::vector<TestSample>& samples,
                                              int64_t vocab_size, const std::string& sink) {
  const std::string input = dir + "/in.jsonl";
  WriteFile(input, TestSamplesJsonl(samples));
  const std::string pipeline = TestSamplePipeline(input, vocab_size, true, true);
  RunTestPipeline(pipeline + " | write " + dir + "/ref.jsonl");
  RunTestPipeline(pipeline + " | " + sink);
  std::vector<TestSample> reference = ReadTestSamplesJsonl(dir + "/ref.jsonl");
  EXPECT_EQ(reference, samples) << "the JSONL of the pipeline differs from its input";
  return reference;
}

void ExpectSinkFailsLeavingNothing(const std::string& dir, int64_t vocab_size,
                                   const std::string& sink, const std::string& message) {
  const CommandResult result = RunCorpusflow(
      {"run", TestSamplePipeline(dir + "/in.jsonl", vocab_size, true, true) + " | " + sink});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
  EXPECT_EQ(ListDir(dir), std::vector<std::string>{"in.jsonl"});
}

void RunTestPipeline(const std::string& pipeline) {
  const CommandResult result = RunCorpusflow({"run", "--threads", "2", pipeline});
  if (result.exit_code != 0) ADD_FAILURE() << pipeline << "\n" << result.err;
}

uint64_t LittleEndianAt(const std::string& bytes, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t b = 0; b < width; ++b) {
    v |= uint64_t{static_cast<uint8_t>(bytes.at(at + b))} << (8 * b);
  }
  return v;
}

std::vector<uint64_t> LittleEndianValues(const std::string& bytes, size_t width) {
  EXPECT_EQ(bytes.size() % width, 0u) << "not a whole number of " << width << "-byte integers";
  std::vector<uint64_t> values(bytes.size() / width);
  for (size_t i = 0; i < values.size(); ++i) values[i] = LittleEndianAt(bytes, i * width, width);
  return values;
}

}  // namespace corpusflow::testing
