#include "operators/megatron/commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "engine/error.h"
#include "operators/megatron/format.h"

namespace corpusflow {
namespace {

/// The step before which CORPUSFLOW_TEST_PAUSE_MEGATRON_COMMIT asks to pause (0 = none).
uint64_t PauseStep() {
  static const uint64_t step = [] {
    const char* value = std::getenv("CORPUSFLOW_TEST_PAUSE_MEGATRON_COMMIT");
    return value != nullptr ? std::strtoull(value, nullptr, 10) : 0;
  }();
  return step;
}

/// Count one step of a commit; pause forever before the step the test asked for.
void Step(const std::string& what) {
  static std::atomic<uint64_t> steps{0};
  const uint64_t step = ++steps;
  if (PauseStep() == 0 || step != PauseStep()) return;
  std::fprintf(stderr, "corpusflow: test pause before step %llu: %s\n",
               static_cast<unsigned long long>(step), what.c_str());
  std::fflush(stderr);
  for (;;) ::pause();
}

AtomicOutput CreateDatasetFile(const std::string& path, const RunFiles& run) {
  // Checked before AtomicOutput would open a FIFO in place, which blocks until it has a reader.
  const std::optional<FileStatus> status = run.fs().Stat(path);
  if (status && status->type == FileType::kOther) {
    throw IoError("cannot write dataset file " + path + ": it is not a regular file");
  }
  AtomicOutput out = AtomicOutput::Create(path, run);
  if (out.in_place()) {
    throw IoError("cannot write dataset file " + path + ": it is not a regular file");
  }
  return out;
}

}  // namespace

std::string MegatronBackupPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t name = slash == std::string::npos ? 0 : slash + 1;
  return path.substr(0, name) + "." + path.substr(name) + ".prev";
}

/// The data-rank member: step 1.
namespace {

/// A `.idx` part of a multi-rank run, read in chunks.
struct IndexPart {
  File file;
  MegatronIndexHeader header;
};

}  // namespace

void JoinMegatronIndexParts(const std::vector<std::string>& parts, const std::string& out_path,
                            const std::string& name) {
  std::vector<IndexPart> in;
  MegatronIndexHeader joined;
  for (const std::string& path : parts) {
    IndexPart part{File::Open(path, O_RDONLY), {}};
    char head[kMegatronHeaderBytes];
    if (part.file.PRead(0, head, sizeof head) != sizeof head) {
      throw CorruptionError(name + ": a rank's part of the index is shorter than its header");
    }
    part.header = DecodeMegatronIndexHeader(head, name);
    if (part.file.Size() != part.header.IndexFileBytes()) {
      throw CorruptionError(name + ": a rank's part of the index has " +
                            std::to_string(part.file.Size()) + " bytes where its header says " +
                            std::to_string(part.header.IndexFileBytes()));
    }
    if (!in.empty() && part.header.dtype != in[0].header.dtype) {
      throw DataError(name + ": the ranks wrote different dtypes");
    }
    joined.dtype = part.header.dtype;
    joined.sequence_count += part.header.sequence_count;
    joined.document_index_count += part.header.documents();
    in.push_back(std::move(part));
  }
  File out = File::Open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char head[kMegatronHeaderBytes];
  EncodeMegatronIndexHeader(joined, head);
  out.Write(std::string_view(head, sizeof head));
  constexpr size_t kChunk = size_t{1} << 16;  // entries
  // Lengths as they are; pointers shifted by the bytes of the parts before; document indices
  // (after the one leading 0) shifted by the sequences of the parts before.
  const size_t id_bytes = MegatronDTypeSize(joined.dtype);
  std::vector<char> buffer(kChunk * sizeof(int64_t));
  for (const IndexPart& part : in) {
    const uint64_t bytes = part.header.sequence_count * sizeof(int32_t);
    for (uint64_t done = 0; done < bytes; done += buffer.size()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), bytes - done));
      part.file.PRead(kMegatronHeaderBytes + done, buffer.data(), n);
      out.Write(std::string_view(buffer.data(), n));
    }
  }
  std::vector<int64_t> entries(kChunk);
  const auto shifted_copy = [&](const IndexPart& part, uint64_t offset, uint64_t count,
                                int64_t shift) {
    for (uint64_t done = 0; done < count; done += kChunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, count - done));
      part.file.PRead(offset + done * sizeof(int64_t), reinterpret_cast<char*>(entries.data()),
                      n * sizeof(int64_t));
      for (size_t j = 0; j < n; ++j) entries[j] += shift;
      out.Write(
          std::string_view(reinterpret_cast<const char*>(entries.data()), n * sizeof(int64_t)));
    }
  };
  int64_t bin_offset = 0;
  for (const IndexPart& part : in) {
    const uint64_t s = part.header.sequence_count;
    shifted_copy(part, kMegatronHeaderBytes + 4 * s, s, bin_offset);
    // The part's .bin bytes: its last pointer plus its last length, in ids.
    if (s > 0) {
      int64_t last_pointer = 0;
      int32_t last_length = 0;
      part.file.PRead(kMegatronHeaderBytes + 4 * s + 8 * (s - 1),
                      reinterpret_cast<char*>(&last_pointer), sizeof last_pointer);
      part.file.PRead(kMegatronHeaderBytes + 4 * (s - 1), reinterpret_cast<char*>(&last_length),
                      sizeof last_length);
      bin_offset +=
          last_pointer + static_cast<int64_t>(last_length) * static_cast<int64_t>(id_bytes);
    }
  }
  const int64_t zero = 0;
  out.Write(std::string_view(reinterpret_cast<const char*>(&zero), sizeof zero));
  int64_t sequence_offset = 0;
  for (const IndexPart& part : in) {
    const uint64_t s = part.header.sequence_count;
    shifted_copy(part, kMegatronHeaderBytes + 12 * s + sizeof(int64_t), part.header.documents(),
                 sequence_offset);
    sequence_offset += static_cast<int64_t>(s);
  }
  out.Sync();
  out.Close();
}

class MegatronDatasetFiles::DataCommit : public DeferredCommit {
 public:
  explicit DataCommit(std::shared_ptr<MegatronDatasetFiles> files) : files_(std::move(files)) {}
  void Prepare() override { files_->Close(); }
  void Commit() override { files_->CommitData(); }
  /// The ranks' `.bin` parts, one after the other, are the `.bin` of the whole.
  Join JoinKind() const override { return Join::kConcatenate; }
  std::vector<PendingRename> Files() const override {
    return {PendingRename{files_->bin_.temp_path(), files_->bin_.target()}};
  }

 private:
  std::shared_ptr<MegatronDatasetFiles> files_;
};

/// The index-rank member: step 2.
class MegatronDatasetFiles::IndexCommit : public DeferredCommit {
 public:
  explicit IndexCommit(std::shared_ptr<MegatronDatasetFiles> files) : files_(std::move(files)) {}
  void Prepare() override { files_->Close(); }
  void Commit() override { files_->CommitIndex(); }
  /// The ranks' `.idx` parts describe `.bin` parts that were concatenated: their entries are
  /// joined with the pointers and document indices shifted (JoinMegatronIndexParts).
  Join JoinKind() const override { return Join::kCustom; }
  void JoinParts(const std::vector<std::string>& parts) override {
    const std::string joined = files_->idx_.temp_path() + ".join";
    try {
      JoinMegatronIndexParts(parts, joined, MegatronIdxPath(files_->prefix_));
      if (::rename(joined.c_str(), files_->idx_.temp_path().c_str()) != 0) {
        ThrowIoError("cannot rename the joined index onto", files_->idx_.temp_path(), errno);
      }
    } catch (...) {
      ::unlink(joined.c_str());
      throw;
    }
  }
  std::vector<PendingRename> Files() const override {
    return {PendingRename{files_->idx_.temp_path(), files_->idx_.target()}};
  }

 private:
  std::shared_ptr<MegatronDatasetFiles> files_;
};

MegatronDatasetFiles::MegatronDatasetFiles(std::string prefix, const RunFiles& run)
    : prefix_(std::move(prefix)),
      fs_(&run.fs()),
      bin_(CreateDatasetFile(MegatronBinPath(prefix_), run)),
      idx_(CreateDatasetFile(MegatronIdxPath(prefix_), run)) {}

MegatronDatasetFiles::~MegatronDatasetFiles() {
  if ((moved_index_ || data_committed_) && !index_committed_) Undo();
}

void MegatronDatasetFiles::Close() {
  bin_.Close();
  idx_.Close();
}

void MegatronDatasetFiles::Defer(std::unique_ptr<MegatronDatasetFiles> files,
                                 const DeferCommitFn& defer) {
  std::shared_ptr<MegatronDatasetFiles> shared = std::move(files);
  defer(std::make_unique<DataCommit>(shared), CommitRank::kData);
  defer(std::make_unique<IndexCommit>(std::move(shared)), CommitRank::kIndex);
}

void MegatronDatasetFiles::Commit(std::unique_ptr<MegatronDatasetFiles> files) {
  CommitGroup group;
  Defer(std::move(files), [&group](std::unique_ptr<DeferredCommit> member, CommitRank rank) {
    group.Add(std::move(member), rank);
  });
  group.Commit();
}

void MegatronDatasetFiles::CommitData() {
  const std::string& bin = bin_.target();
  const std::string& idx = idx_.target();
  const std::string bin_backup = MegatronBackupPath(bin);
  const std::string idx_backup = MegatronBackupPath(idx);
  const bool has_bin = fs_->LinkStat(bin).has_value();
  if (fs_->LinkStat(idx).has_value()) {
    // A dataset is replaced. Backups left by an interrupted commit are older than it.
    fs_->Unlink(idx_backup);
    fs_->Unlink(bin_backup);
    if (has_bin) {
      Step("move " + idx + " to " + idx_backup);
      fs_->Rename(idx, idx_backup);
      moved_index_ = true;
      Step("move " + bin + " to " + bin_backup);
      fs_->Rename(bin, bin_backup);
      moved_bin_ = true;
    } else {
      // An index without its data is no dataset to keep.
      Step("remove " + idx);
      if (!fs_->Unlink(idx) && fs_->LinkStat(idx).has_value()) {
        ThrowIoError("cannot remove", idx, errno);
      }
    }
  } else if (has_bin && fs_->LinkStat(idx_backup) && !fs_->LinkStat(bin_backup)) {
    // An earlier commit was killed after moving the index away: the .bin in place is the one
    // the backup index describes. Complete the backup pair before replacing it.
    Step("move " + bin + " to " + bin_backup);
    fs_->Rename(bin, bin_backup);
  }
  Step("rename the new " + bin);
  bin_.Commit();
  data_committed_ = true;
}

void MegatronDatasetFiles::CommitIndex() {
  const std::string& idx = idx_.target();
  Step("rename the new " + idx);
  idx_.Commit();
  index_committed_ = true;
  fs_->Unlink(MegatronBackupPath(idx));
  fs_->Unlink(MegatronBackupPath(bin_.target()));
}

void MegatronDatasetFiles::Undo() noexcept {
  const std::string& bin = bin_.target();
  const std::string& idx = idx_.target();
  try {
    if (moved_bin_) {
      fs_->Rename(MegatronBackupPath(bin), bin);
    } else if (data_committed_) {
      fs_->Unlink(bin);
    }
    if (moved_index_) fs_->Rename(MegatronBackupPath(idx), idx);
  } catch (...) {
    // Best effort: what could not be put back stays in the backups, which inspect names.
  }
}

}  // namespace corpusflow
