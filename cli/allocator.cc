// The corpusflow binary's operator new, which replaces the C++ library's in this executable
// (tests, benchmarks and the Python module keep the library's): a block of 2 MiB or more starts
// on a 2 MiB boundary and is advised for transparent huge pages (MADV_HUGEPAGE), so that the
// first touch of its memory costs one fault per 2 MiB instead of one per 4 KiB page; a smaller
// block is plain malloc. Every block is malloc's and goes back with free(), so memory allocated
// here and released by code compiled elsewhere (or the reverse) stays consistent.
//
// Why: the engine's large buffers (batch columns of a few MiB, spool and shuffle buffers, pack's
// windows) are touched soon after they are allocated, and fresh 4 KiB pages are dear: about
// 11 us each on the 2-core VM of docs/architecture.md (how memory is bounded), against 0.23 us
// per 4 KiB when the same memory comes as huge pages. glibc's heap and its adaptive mmap threshold
// stay as they are: a buffer freed and allocated again reuses pages the process holds already.
// Where the kernel gives no huge pages (THP disabled, or `never`), the advice is ignored.
#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace {

/// A transparent huge page on x86-64 and arm64 with 4 KiB base pages.
constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
constexpr std::size_t kPageBytes = 4096;

void* Allocate(std::size_t bytes) {
  if (bytes < kHugePageBytes) return std::malloc(bytes == 0 ? 1 : bytes);
  void* data = nullptr;
  if (posix_memalign(&data, kHugePageBytes, bytes) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  // Advice only: a kernel without transparent huge pages refuses it, and the block is as good.
  ::madvise(data, (bytes + kPageBytes - 1) & ~(kPageBytes - 1), MADV_HUGEPAGE);
#endif
  return data;
}

}  // namespace

// The library's array, nothrow and sized forms call these two; its aligned forms use
// aligned_alloc and free, which mix with them.
void* operator new(std::size_t bytes) {
  for (;;) {
    if (void* data = Allocate(bytes)) return data;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void operator delete(void* data) noexcept { std::free(data); }
void operator delete(void* data, std::size_t /*bytes*/) noexcept { std::free(data); }
