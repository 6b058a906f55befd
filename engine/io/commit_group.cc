#include "engine/io/commit_group.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/checkpoint.h"
#include "engine/io/file.h"

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

namespace {

class RetargetedCommit : public DeferredCommit {
 public:
  RetargetedCommit(std::unique_ptr<DeferredCommit> member,
                   std::function<std::string(const std::string&)> retarget)
      : member_(std::move(member)), retarget_(std::move(retarget)) {}
  void Prepare() override { member_->Prepare(); }
  void Commit() override { member_->Commit(); }
  std::vector<PendingRename> Renames() const override { return Retarget(member_->Renames()); }
  std::vector<PendingRename> Files() const override { return Retarget(member_->Files()); }
  Join JoinKind() const override { return member_->JoinKind(); }
  void JoinParts(const std::vector<std::string>& parts) override { member_->JoinParts(parts); }

 private:
  std::vector<PendingRename> Retarget(std::vector<PendingRename> files) const {
    for (PendingRename& f : files) f.target = retarget_(f.target);
    return files;
  }
  std::unique_ptr<DeferredCommit> member_;
  std::function<std::string(const std::string&)> retarget_;
};

}  // namespace

std::unique_ptr<DeferredCommit> RetargetFiles(
    std::unique_ptr<DeferredCommit> member,
    std::function<std::string(const std::string&)> retarget) {
  return std::make_unique<RetargetedCommit>(std::move(member), std::move(retarget));
}

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
    const bool ranks = cluster_ != nullptr && !cluster_->single();
    bool joined = false;
    const auto join = [&] {
      if (ranks) JoinAcrossRanks(prepared);
      if (earlier_parts_) JoinEarlierParts(prepared);
      joined = true;
    };
    while (std::optional<Member> member = TakeFirst()) {
      if (!joined && member->rank == CommitRank::kReport) join();
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
    if (!joined) join();
    if (ranks && cluster_->rank() != 0) {
      // Rank 0 commits the joined files; this rank's parts are removed with their members.
      std::lock_guard lock(mu_);
      written_.clear();
      return;
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
      KillPointForTest("the commit of the outputs");
      m.output->Commit();
      m.output.reset();
    }
    if (journal) RemoveCommitJournal(*journal);
  } catch (...) {
    Discard();
    throw;
  }
}

namespace {

/// One file of one rank in the join: its member's join kind, final path, temp path and bytes.
struct JoinRow {
  int join = 0;
  std::string target;
  std::string temp;
  uint64_t bytes = 0;
};

std::string EncodeJoinRows(const std::vector<JoinRow>& rows) {
  std::string out;
  for (const JoinRow& row : rows) {
    out += std::to_string(row.join) + '\t' + row.target + '\t' + row.temp + '\t' +
           std::to_string(row.bytes) + '\n';
  }
  return out;
}

std::vector<JoinRow> DecodeJoinRows(const std::string& text) {
  std::vector<JoinRow> rows;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const size_t t1 = text.find('\t', start);
    const size_t t2 = text.find('\t', t1 + 1);
    const size_t t3 = text.find('\t', t2 + 1);
    rows.push_back(JoinRow{std::stoi(text.substr(start, t1 - start)),
                           text.substr(t1 + 1, t2 - t1 - 1), text.substr(t2 + 1, t3 - t2 - 1),
                           std::stoull(text.substr(t3 + 1, end - t3 - 1))});
  }
  return rows;
}

}  // namespace

void CommitGroup::JoinAcrossRanks(const std::vector<Member>& prepared) {
  Cluster& cluster = *cluster_;
  // Every rank prepared its parts (or one failed, and all stop here).
  cluster.Agree();
  // This rank's files, in order. Nothing here throws before the collective that follows, so
  // every rank reaches it.
  std::vector<DeferredCommit*> members;
  std::vector<JoinRow> mine;
  for (const Member& m : prepared) {
    for (const PendingRename& f : m.output->Files()) {
      members.push_back(m.output.get());
      mine.push_back(JoinRow{static_cast<int>(m.output->JoinKind()), f.target, f.temp,
                             RegularFileBytes(f.temp).value_or(0)});
    }
  }
  const std::vector<std::string> all = cluster.GatherAll(EncodeJoinRows(mine));
  const auto me = static_cast<size_t>(cluster.rank());
  const auto kind = [](const JoinRow& row) { return static_cast<DeferredCommit::Join>(row.join); };
  std::vector<std::vector<JoinRow>> rows;
  std::string error;
  try {
    for (const std::string& text : all) rows.push_back(DecodeJoinRows(text));
    // The same files on every rank, each of a member that can be joined.
    for (size_t r = 1; r < rows.size(); ++r) {
      if (rows[r].size() != rows[0].size()) {
        throw Error("rank " + std::to_string(r) + " wrote " + std::to_string(rows[r].size()) +
                    " files where rank 0 wrote " + std::to_string(rows[0].size()));
      }
      for (size_t i = 0; i < rows[r].size(); ++i) {
        if (rows[r][i].target != rows[0][i].target) {
          throw Error("rank " + std::to_string(r) + " wrote " + rows[r][i].target +
                      " where rank 0 wrote " + rows[0][i].target);
        }
      }
    }
    for (const JoinRow& row : rows[0]) {
      if (kind(row) == DeferredCommit::Join::kNone) {
        throw InvalidArgument("the output " + row.target +
                              " cannot be joined from the parts of several MPI ranks");
      }
    }
    // Each rank copies its parts of concatenated files into rank 0's temp files, after the
    // parts of the ranks before.
    for (size_t i = 0; me > 0 && i < mine.size(); ++i) {
      if (kind(rows[me][i]) != DeferredCommit::Join::kConcatenate || rows[me][i].bytes == 0) {
        continue;
      }
      uint64_t offset = 0;
      for (size_t r = 0; r < me; ++r) offset += rows[r][i].bytes;
      File from = File::Open(mine[i].temp, O_RDONLY);
      File to = File::Open(rows[0][i].temp, O_WRONLY);
      to.CopyFrom(from, 0, offset, rows[me][i].bytes);
      to.Sync();
      to.Close();
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  // Every concatenated part is in place (or a rank failed, and all stop here) before rank 0
  // joins what needs more (an index) from the others' temp files, which stay until the next
  // agreement.
  cluster.AgreeOnOutcome(error);
  try {
    for (size_t i = 0; me == 0 && i < mine.size(); ++i) {
      if (kind(rows[0][i]) != DeferredCommit::Join::kCustom) continue;
      std::vector<std::string> temps;
      for (const std::vector<JoinRow>& rank_rows : rows) temps.push_back(rank_rows[i].temp);
      members[i]->JoinParts(temps);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  cluster.AgreeOnOutcome(error);
  if (me == 0) {
    // The report lists the joined files with their sizes.
    std::lock_guard lock(mu_);
    for (WrittenFile& w : written_) {
      for (const JoinRow& row : mine) {
        if (row.target == w.path) w.bytes = RegularFileBytes(row.temp);
      }
    }
  }
}

std::vector<CommitGroup::TakenMember> CommitGroup::PrepareAndTakeOutputs() {
  std::vector<TakenMember> taken;
  for (;;) {
    std::optional<Member> member;
    {
      std::lock_guard lock(mu_);
      auto first =
          std::min_element(members_.begin(), members_.end(),
                           [](const Member& a, const Member& b) { return a.rank < b.rank; });
      if (first == members_.end() || first->rank == CommitRank::kReport) break;
      member = std::move(*first);
      members_.erase(first);
      preparing_owner_ = member->owner;
    }
    taken.push_back(TakenMember{member->rank, std::move(member->output)});
    taken.back().output->Prepare();
    std::lock_guard lock(mu_);
    preparing_owner_ = -1;
  }
  return taken;
}

namespace {

/// A part of an output a checkpointed run joins is the one its journal entry describes.
[[noreturn]] void ThrowDamagedPart(const CommitGroup::EarlierPart& part,
                                   const std::string& target) {
  throw CorruptionError(part.path + ", a part of " + target +
                        " in the checkpoint, is missing or damaged (its size or checksum "
                        "differs from its journal entry); give --restart");
}

/// Append `from` (all of it) to `to` at `offset`, through a buffer; returns the XXH3 of the
/// bytes and their count.
std::pair<uint64_t, uint64_t> CopyHashing(const File& from, File& to, uint64_t offset,
                                          std::vector<char>& buffer) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  uint64_t at = 0;
  try {
    for (size_t n; (n = from.PRead(at, buffer.data(), buffer.size())) > 0; at += n) {
      XXH3_64bits_update(state, buffer.data(), n);
      to.PWrite(offset + at, std::string_view(buffer.data(), n));
    }
  } catch (...) {
    XXH3_freeState(state);
    throw;
  }
  const uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return {sum, at};
}

}  // namespace

void CommitGroup::JoinEarlierParts(const std::vector<Member>& prepared) {
  KillPointForTest("the join of the outputs");
  size_t index = 0;
  std::vector<char> buffer(size_t{4} << 20);
  for (const Member& m : prepared) {
    for (const PendingRename& f : m.output->Files()) {
      const std::vector<EarlierPart> parts = earlier_parts_(index++, f.target);
      if (parts.empty()) continue;
      switch (m.output->JoinKind()) {
        case DeferredCommit::Join::kNone:
          throw InvalidArgument("the output " + f.target +
                                " cannot be joined from the parts of a checkpointed run's tasks");
        case DeferredCommit::Join::kConcatenate: {
          // The earlier parts (checked as they are copied), then this task's bytes, into a file
          // that replaces the temp.
          const std::string joined = f.temp + ".join";
          try {
            File to = File::Open(joined, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            uint64_t offset = 0;
            for (const EarlierPart& part : parts) {
              File from = File::Open(part.path, O_RDONLY);
              const auto [sum, bytes] = CopyHashing(from, to, offset, buffer);
              if (sum != part.checksum || bytes != part.bytes) ThrowDamagedPart(part, f.target);
              offset += bytes;
            }
            File own = File::Open(f.temp, O_RDONLY);
            to.CopyFrom(own, 0, offset, own.Size());
            to.Sync();
            to.Close();
            if (::rename(joined.c_str(), f.temp.c_str()) != 0) {
              ThrowIoError("cannot rename the joined output onto", f.temp, errno);
            }
          } catch (...) {
            ::unlink(joined.c_str());
            throw;
          }
          break;
        }
        case DeferredCommit::Join::kCustom: {
          std::vector<std::string> paths;
          for (const EarlierPart& part : parts) {
            std::error_code ec;
            if (std::filesystem::file_size(part.path, ec) != part.bytes || ec ||
                FileChecksum(part.path) != part.checksum) {
              ThrowDamagedPart(part, f.target);
            }
            paths.push_back(part.path);
          }
          paths.push_back(f.temp);
          m.output->JoinParts(paths);
          break;
        }
      }
    }
  }
  // The report lists the joined files with their sizes.
  std::lock_guard lock(mu_);
  for (WrittenFile& w : written_) {
    for (const Member& m : prepared) {
      for (const PendingRename& f : m.output->Files()) {
        if (f.target == w.path) w.bytes = RegularFileBytes(f.temp);
      }
    }
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
