// `segment`: Chinese word segmentation with exactly python3-jieba's cut(text, HMM=False) (see
// jieba_segmenter.h): reads a string field (`--field`, default text) and writes its words as a
// string-list field (`--output`, default tokens). The dictionary (Debian python3-jieba's dict.txt
// unless `--dict`, plus `--user-dict` files) is built once per run and shared read-only by all
// workers. Text that is not valid UTF-8 is repaired (U+FFFD), dropped or an error, and counted.
// Thread safety: the operator is immutable; its run shares one read-only segmenter.
#pragma once

#include <string>
#include <vector>

#include "engine/operator.h"
#include "operators/text/unicode_text.h"

namespace corpusflow {

struct SegmentOptions {
  std::string field = "text";
  std::string output = "tokens";
  /// Empty = the default dictionary (CORPUSFLOW_JIEBA_DICT).
  std::string dict_path;
  std::vector<std::string> user_dict_paths;
  BadUtf8Policy invalid_utf8 = BadUtf8Policy::kReplace;
};

class SegmentOperator : public Transform {
 public:
  explicit SegmentOperator(SegmentOptions options);

  void Validate(const PlanContext& ctx) const override;
  Schema OutputSchema(const Schema& input) const override;
  std::vector<AddedField> AddedFields() const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return options_.invalid_utf8 == BadUtf8Policy::kError; }
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;

  const SegmentOptions& options() const { return options_; }
  /// The dictionary actually used.
  const std::string& dict_path() const { return dict_path_; }

 private:
  SegmentOptions options_;
  std::string dict_path_;
};

}  // namespace corpusflow
