#include "operators/shuffle/shuffle_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <utility>

namespace corpusflow {
namespace {

constexpr size_t kPage = 4096;

}  // namespace

LargeBuffer::LargeBuffer(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
  if (size_ < (size_t{1} << 20)) {
    // Small: the heap is cheaper than a mapping.
    data_ = new char[size_];
    return;
  }
  mapped_ = (size_ + kPage - 1) / kPage * kPage;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
}

LargeBuffer::~LargeBuffer() { reset(); }

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void LargeBuffer::reset() {
  if (data_ == nullptr) return;
  if (mapped_ > 0) {
    ::munmap(data_, mapped_);
  } else {
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
}

LargeBuffer SlabPool::Take() {
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      LargeBuffer slab = std::move(free_.back());
      free_.pop_back();
      return slab;
    }
    ++mapped_;
  }
  // Uninitialised on purpose: every byte handed out is written before it is read.
  return LargeBuffer(slab_bytes_);
}

void SlabPool::Give(LargeBuffer slab) {
  if (slab.get() == nullptr || slab.size() != slab_bytes_) return;
  std::lock_guard lock(mu_);
  free_.push_back(std::move(slab));
}

uint64_t SlabPool::slabs_mapped() const {
  std::lock_guard lock(mu_);
  return mapped_;
}

ScatterArena::ScatterArena(size_t buckets, size_t chunk_bytes, SlabPool& pool)
    : pool_(pool),
      buckets_(buckets),
      chunk_bytes_(std::min((chunk_bytes + kPage - 1) / kPage * kPage, pool.slab_bytes())) {}

ScatterArena::~ScatterArena() {
  for (LargeBuffer& slab : slabs_) pool_.Give(std::move(slab));
}

void ScatterArena::Clear() {
  for (std::vector<Chunk>& chunks : buckets_) {
    for (Chunk& c : chunks) {
      if (c.own.get() != nullptr) continue;
      c.size = 0;
      c.records = 0;
      spare_.push_back(std::move(c));
    }
    chunks.clear();
  }
  bytes_ = 0;
  records_ = 0;
}

void ScatterArena::Free(size_t bucket) {
  for (Chunk& c : buckets_[bucket]) {
    if (c.own.get() == nullptr) ::madvise(c.data, c.capacity, MADV_DONTNEED);
  }
  std::vector<Chunk>().swap(buckets_[bucket]);
}

ScatterArena::Chunk ScatterArena::NewChunk(size_t n) {
  Chunk c;
  if (n > chunk_bytes_) {
    c.own = LargeBuffer(n);
    c.data = c.own.get();
    c.capacity = n;
    return c;
  }
  std::lock_guard lock(chunk_mu_);
  if (!spare_.empty()) {
    c = std::move(spare_.back());
    spare_.pop_back();
    return c;
  }
  if (slab_left_ < chunk_bytes_) {
    slabs_.push_back(pool_.Take());
    slab_next_ = slabs_.back().get();
    slab_left_ = slabs_.back().size();
  }
  c.data = slab_next_;
  c.capacity = chunk_bytes_;
  slab_next_ += chunk_bytes_;
  slab_left_ -= chunk_bytes_;
  return c;
}

}  // namespace corpusflow
