#include "tests/testing/resume_testing.h"

#include <gtest/gtest.h>

namespace corpusflow::testing {

void WritePegasusInputs(const ScopedTempDir& dir) {
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += "{\"text\":\"第" + std::to_string(i) + "篇。今天天气很好，我们去公园散步" +
            std::string(i % 50 == 0 ? 2000 : i % 13, 'x') + "。大家都很开心。晚上回家。\"}\n";
  }
  WriteFile(dir.File("in.jsonl"), text);
  const CommandResult vocab =
      RunCorpusflow({"run",
                     "read " + dir.File("in.jsonl") + " --field text | vocab -o " +
                         dir.File("v.txt") + " --size 2000",
                     "--progress", "never"});
  ASSERT_EQ(vocab.exit_code, 0) << vocab.err;
}

std::string PegasusPipeline(const ScopedTempDir& dir, const std::string& prefix, bool shuffle) {
  const std::string v = dir.File("v.txt");
  return "read " + dir.File("in.jsonl") +
         " --field text | pseudo-summary | tokenize --kind t5pegasus --vocab " + v +
         " --field src --output src_ids | tokenize --kind t5pegasus --vocab " + v +
         " --field tgt --output tgt_ids | " + (shuffle ? "shuffle --seed 5 --memory 1M | " : "") +
         "mlm --mask-id 103 --vocab " + v + " --seed 7 | write-megatron " + dir.File(prefix);
}

std::vector<std::string> PegasusOutputSuffixes() {
  std::vector<std::string> suffixes;
  for (const char* field : {"src_ids", "tgt_ids", "mlm_ids"}) {
    for (const char* ext : {".bin", ".idx"}) {
      suffixes.push_back(std::string("_") + field + "_document" + ext);
    }
  }
  return suffixes;
}

}  // namespace corpusflow::testing
