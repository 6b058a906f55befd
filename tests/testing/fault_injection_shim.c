/* A fault-injecting file layer for tests of the real binary, loaded with LD_PRELOAD: writes to
 * files under one directory fail with ENOSPC ("No space left on device") once a byte budget is
 * spent, as on a full disk. Writes elsewhere (stdout, outputs in other folders) are untouched.
 *   CORPUSFLOW_FAULT_DIR=/path            the directory whose files fill up
 *   CORPUSFLOW_FAULT_ENOSPC_AFTER=BYTES   bytes that may still be written there
 * It wraps write, writev, pwrite, pwritev (and their 64-bit names). Thread-safe: the budget is
 * an atomic counter. A C file on purpose: tests/testing/ globs *.cc into the helper library,
 * and this must never be linked into a test executable. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char fault_dir[PATH_MAX];
static size_t fault_dir_len;
static long long fault_budget = -1; /* bytes left; -1 = no fault configured */
static int initialised;

static void Init(void) {
  if (__atomic_load_n(&initialised, __ATOMIC_ACQUIRE)) return;
  const char* dir = getenv("CORPUSFLOW_FAULT_DIR");
  const char* after = getenv("CORPUSFLOW_FAULT_ENOSPC_AFTER");
  if (dir != NULL && after != NULL && realpath(dir, fault_dir) != NULL) {
    fault_dir_len = strlen(fault_dir);
    __atomic_store_n(&fault_budget, atoll(after), __ATOMIC_RELEASE);
  }
  __atomic_store_n(&initialised, 1, __ATOMIC_RELEASE);
}

/* Whether `fd` is a file under the fault directory. */
static int Watched(int fd) {
  Init();
  if (__atomic_load_n(&fault_budget, __ATOMIC_ACQUIRE) < 0) return 0;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return strncmp(target, fault_dir, fault_dir_len) == 0 && target[fault_dir_len] == '/';
}

/* How many of `want` bytes may be written: all, some, or none (then errno = ENOSPC). */
static ssize_t Allow(size_t want) {
  long long left = __atomic_load_n(&fault_budget, __ATOMIC_ACQUIRE);
  for (;;) {
    if (left <= 0) {
      errno = ENOSPC;
      return -1;
    }
    const long long take = (long long)want < left ? (long long)want : left;
    if (__atomic_compare_exchange_n(&fault_budget, &left, left - take, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      return (ssize_t)take;
    }
  }
}

static size_t IovBytes(const struct iovec* iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void* buf, size_t n) {
  if (Watched(fd)) {
    const ssize_t ok = Allow(n);
    if (ok < 0) return -1;
    n = (size_t)ok;
  }
  return NEXT(write)(fd, buf, n);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  if (Watched(fd)) {
    const ssize_t ok = Allow(n);
    if (ok < 0) return -1;
    n = (size_t)ok;
  }
  return NEXT(pwrite)(fd, buf, n, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  return pwrite(fd, buf, n, offset);
}

/* Vectored writes fail whole when the budget cannot cover them. */
ssize_t writev(int fd, const struct iovec* iov, int count) {
  if (Watched(fd) && Allow(IovBytes(iov, count)) != (ssize_t)IovBytes(iov, count)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(writev)(fd, iov, count);
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  if (Watched(fd) && Allow(IovBytes(iov, count)) != (ssize_t)IovBytes(iov, count)) {
    errno = ENOSPC;
    return -1;
  }
  return NEXT(pwritev)(fd, iov, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec* iov, int count, off_t offset) {
  return pwritev(fd, iov, count, offset);
}
