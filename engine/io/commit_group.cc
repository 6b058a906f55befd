#include "engine/io/commit_group.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace corpusflow {
namespace {

/// CORPUSFLOW_TEST_PAUSE_COMMIT=N (tests only): stop before the N-th member commit of the
/// process, saying so on stderr, until killed; the SIGKILL tests use it.
void PauseForTest() {
  static const uint64_t pause_at = [] {
    const char* value = std::getenv("CORPUSFLOW_TEST_PAUSE_COMMIT");
    return value != nullptr ? std::strtoull(value, nullptr, 10) : 0;
  }();
  static std::atomic<uint64_t> commits{0};
  if (pause_at == 0 || ++commits != pause_at) return;
  std::fprintf(stderr, "corpusflow: test pause before commit %llu\n",
               static_cast<unsigned long long>(pause_at));
  std::fflush(stderr);
  for (;;) ::pause();
}

/// The size of a regular file, none for anything else (a FIFO, a device, a missing file).
std::optional<uint64_t> RegularFileBytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

void CommitGroup::Add(std::unique_ptr<DeferredCommit> member, CommitRank rank, int owner) {
  std::lock_guard lock(mu_);
  members_.push_back(Member{rank, std::move(member), owner >= 0 ? owner : preparing_owner_});
}

std::vector<WrittenFile> CommitGroup::written() const {
  std::lock_guard lock(mu_);
  return written_;
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
    {
      std::lock_guard lock(mu_);
      written_.clear();
    }
    while (std::optional<Member> member = TakeFirst()) {
      {
        std::lock_guard lock(mu_);
        preparing_owner_ = member->owner;
      }
      member->output->Prepare();
      std::lock_guard lock(mu_);
      preparing_owner_ = -1;
      for (const PendingRename& f : member->output->Files()) {
        written_.push_back(WrittenFile{f.target, RegularFileBytes(f.temp), member->owner});
      }
      prepared.push_back(std::move(*member));
    }
    std::stable_sort(prepared.begin(), prepared.end(),
                     [](const Member& a, const Member& b) { return a.rank < b.rank; });
    std::vector<PendingRename> renames;
    for (const Member& m : prepared) {
      for (PendingRename& r : m.output->Renames()) renames.push_back(std::move(r));
    }
    std::optional<std::filesystem::path> journal;
    if (renames.size() >= 2 && journal_folder_) {
      journal = journal_folder_();
      WriteCommitJournal(*journal, renames);
    }
    for (Member& m : prepared) {
      PauseForTest();
      m.output->Commit();
      m.output.reset();
    }
    if (journal) RemoveCommitJournal(*journal);
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
