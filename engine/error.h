// The error hierarchy of corpusflow. An exception ends a run: TBB cancels the pipeline and
// rethrows on the calling thread, RAII removes temp files and partial outputs, and only
// cli/main.cc maps the error to an exit code (InvalidArgument: 2, Interrupted: 130, BrokenPipe:
// 141 without a message, others: 1).
// Expected outcomes are return values, never exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace corpusflow {

/// Base of every error that ends a run.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A usage error: unknown operator or option, bad value, schema mismatch found at plan time.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A failed system call on a file (open, read, write, rename, ...), with errno text.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Stored data that fails verification: a bad checksum, a truncated or corrupt compressed stream.
class CorruptionError : public Error {
 public:
  using Error::Error;
};

/// A bad input record (malformed JSON, missing field, id out of range); names file and line or
/// the record number.
class DataError : public Error {
 public:
  using Error::Error;
};

/// The run was stopped by SIGINT, SIGTERM or SIGHUP.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted") {}

 protected:
  explicit Interrupted(const std::string& what) : Error(what) {}
};

/// The reader of a pipe the run writes (stdout, a FIFO) went away: a write failed with EPIPE, or
/// SIGPIPE arrived. Not a failure of the run: it ends quietly with exit status 141 (128+SIGPIPE),
/// like a tool killed by SIGPIPE, after the usual cleanup.
class BrokenPipe : public Interrupted {
 public:
  /// `name` is the output whose reader went away ("<stdout>"), or empty when only the signal is
  /// known.
  explicit BrokenPipe(const std::string& name)
      : Interrupted(name.empty() ? "broken pipe" : "broken pipe: " + name) {}
};

/// Throw IoError "`what` `path`: strerror(err)".
[[noreturn]] void ThrowIoError(const std::string& what, const std::string& path, int err);

}  // namespace corpusflow
