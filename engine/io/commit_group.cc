#include "engine/io/commit_group.h"

#include <algorithm>
#include <optional>

namespace corpusflow {

void CommitGroup::Add(std::unique_ptr<DeferredCommit> member, CommitRank rank) {
  std::lock_guard lock(mu_);
  members_.push_back(Member{rank, std::move(member)});
}

std::optional<CommitGroup::Member> CommitGroup::TakeFirst() {
  std::lock_guard lock(mu_);
  if (members_.empty()) return std::nullopt;
  auto first = std::min_element(members_.begin(), members_.end(),
                                [](const Member& a, const Member& b) { return a.rank < b.rank; });
  Member member = std::move(*first);
  members_.erase(first);
  return member;
}

void CommitGroup::Commit() {
  try {
    // On an exception whatever `prepared` holds is destroyed uncommitted, and so is (by
    // Discard) whatever the group still holds.
    std::vector<Member> prepared;
    while (std::optional<Member> member = TakeFirst()) {
      member->output->Prepare();
      prepared.push_back(std::move(*member));
    }
    std::stable_sort(prepared.begin(), prepared.end(),
                     [](const Member& a, const Member& b) { return a.rank < b.rank; });
    for (Member& m : prepared) {
      m.output->Commit();
      m.output.reset();
    }
  } catch (...) {
    Discard();
    throw;
  }
}

void CommitGroup::Discard() noexcept {
  std::vector<Member> members;
  {
    std::lock_guard lock(mu_);
    members.swap(members_);
  }
}

size_t CommitGroup::size() const {
  std::lock_guard lock(mu_);
  return members_.size();
}

}  // namespace corpusflow
