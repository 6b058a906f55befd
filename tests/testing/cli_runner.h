// Helpers for tests that run the real `corpusflow` binary and look at files: a scoped temp folder
// and a runner capturing exit code, stdout and stderr.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace corpusflow::testing {

/// A fresh folder under $TMPDIR, removed with its contents when destroyed.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  /// path() / name, as a string.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Run `corpusflow ARGS...` with `stdin_data` on standard input. Extra environment variables are
/// given as "NAME=value".
CommandResult RunCorpusflow(const std::vector<std::string>& args,
                            const std::string& stdin_data = "",
                            const std::vector<std::string>& env = {});

/// Run any program the same way (argv[0] is looked up in PATH).
CommandResult RunProgram(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         const std::vector<std::string>& env = {});

/// Run `corpusflow ARGS...` as `ranks` MPI ranks: `mpirun --oversubscribe --allow-run-as-root`
/// (as root in a container too, on a machine with fewer cores than ranks).
/// Extra environment variables ("NAME=value") reach every rank (mpirun -x NAME).
CommandResult RunCorpusflowRanks(int ranks, const std::vector<std::string>& args,
                                 const std::vector<std::string>& env = {});

/// Whole file contents (binary).
std::string ReadFile(const std::filesystem::path& path);
/// Write `data` to `path` (binary), replacing it.
void WriteFile(const std::filesystem::path& path, const std::string& data);
/// Split text into lines on '\n' (a final newline does not start an empty last line).
std::vector<std::string> SplitLines(const std::string& data);
/// Lines as text, each followed by '\n' (SplitLines undoes it when no line holds a '\n').
std::string JoinLines(const std::vector<std::string>& lines);
/// Token ids joined by single spaces, as spm_encode and the oracles print them.
std::string JoinIds(const std::vector<int32_t>& ids);
/// Names of the entries of a folder, sorted.
std::vector<std::string> ListDir(const std::filesystem::path& dir);
/// Overwrite the byte at `offset` of the spill file (`*.spill`) found under `dir` (at any depth)
/// with 'X', in place; fails the test when there is none.
void CorruptSpillFile(const std::filesystem::path& dir, uint64_t offset);

/// Path of the built `corpusflow` binary, or $CORPUSFLOW_TEST_BINARY when set (to run a test
/// against another build, e.g. the code before a fix).
std::string CorpusflowBinary();

/// Start the corpusflow binary with `args` in the background, stdin from `in_fd` and stdout to
/// `out_fd` (-1: /dev/null), stderr into the file `err_path`. Returns its pid, -1 on failure;
/// the caller reaps it.
pid_t StartCorpusflow(const std::vector<std::string>& args, int in_fd, int out_fd,
                      const std::string& err_path);
/// The repository root (for test data shipped with the project).
std::string SourceDir();

}  // namespace corpusflow::testing
