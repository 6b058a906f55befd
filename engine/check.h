// Invariant checks. CF_CHECK(condition) verifies, in every build, a fact that only a bug in
// corpusflow can make false (a run object used after Finish, a column the planner promised);
// CF_DCHECK(condition) does the same in debug builds (NDEBUG not defined) and in release builds
// compiles the condition without evaluating it, for checks on hot paths. Both take an optional
// message (anything std::string_view accepts), evaluated only when the check fails.
//
// A failed check prints "corpusflow: check failed at FILE:LINE: CONDITION: MESSAGE" on stderr and
// aborts. A broken invariant is nothing a user can act on and no state after it can be trusted,
// so it never takes the corpusflow::Error path (engine/error.h), which is for bad input, options
// and I/O and ends a run with a clean exit status.
// Thread safety: a check may fail on any thread; the message is written with a single write(2).
#pragma once

#include <string_view>

namespace corpusflow::check_internal {

/// Print the failed check and abort.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message = {}) noexcept;

}  // namespace corpusflow::check_internal

/// Abort with file, line and `condition` unless it holds; in every build.
#define CF_CHECK(condition, ...)                                                        \
  do {                                                                                  \
    if (!(condition)) [[unlikely]] {                                                    \
      ::corpusflow::check_internal::CheckFailed(__FILE__, __LINE__,                     \
                                                #condition __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                                   \
  } while (false)

#ifdef NDEBUG
/// Debug builds: CF_CHECK. Release builds: the condition is compiled, never evaluated.
#define CF_DCHECK(condition, ...) \
  do {                            \
    if (false && (condition)) {   \
    }                             \
  } while (false)
#else
#define CF_DCHECK(condition, ...) CF_CHECK(condition __VA_OPT__(, ) __VA_ARGS__)
#endif
