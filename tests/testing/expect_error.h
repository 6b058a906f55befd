// ErrorMessage(): the message of the exception a piece of test code throws, for tests that check
// more of an error than its type. Header-only; thread-safe as far as `f` is.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace corpusflow::testing {

/// The message of the exception `f` throws as E; fails the test (and returns "") when it throws
/// nothing. An exception of another type propagates.
template <typename E, typename F>
std::string ErrorMessage(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace corpusflow::testing
