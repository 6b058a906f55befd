// `head N`: keep the first N records of the stream and stop the source early. A serial transform
// (it sees batches in order), so the kept records are the same for any thread count.
#pragma once

#include <cstdint>

#include "engine/operator.h"

namespace corpusflow {

class HeadOperator : public Transform {
 public:
  explicit HeadOperator(uint64_t limit) : limit_(limit) {}
  std::unique_ptr<TransformRun> Open(const OpenContext& ctx) const override;
  std::string RankLimit() const override {
    return "the first records of the whole input are not known to each MPI rank";
  }
  std::string TaskLimit() const override {
    return "the first records of the whole input are not known to each task";
  }
  std::string Describe() const override;

 private:
  uint64_t limit_;
};

}  // namespace corpusflow
