// A thread's cache of large blocks it freed, for its next allocation of the same page count.
// Without it every malloc/free pair above the largest size class takes the node's page-heap
// lock and splits and coalesces buddies (~700 instructions for 64 KiB).
//
// A kept block stays a Large block to the page layer, with its head descriptor's tag set to
// kCachedTag: resolve() reports any use of it (free, realloc, usable_size) as a double free,
// so the cache never hands out one block twice. The tag byte is written by the owning thread
// alone; the page layer reads only kind/order/count, so no lock is needed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hm::slab {

inline constexpr std::uint8_t kCachedTag = 1;

class LargeCache {
 public:
  static constexpr int kSlots = 8;
  static constexpr std::uint32_t kMaxPages = 256;     // blocks of up to 1 MiB
  static constexpr std::uint32_t kBudgetPages = 512;  // 2 MiB kept per thread at most

  // A kept block of exactly `pages` pages, live again; nullptr if there is none.
  void* take(std::uint32_t pages);
  // Keeps the live large block p of `pages` pages (evicting the oldest to make room);
  // false when it is too large to keep, and then the caller frees it.
  bool keep(void* p, std::uint32_t pages);
  // Every kept block back to its page heap (thread exit, malloc_trim).
  void flush();
  std::size_t bytes() const;

 private:
  void evict_oldest();
  void* block_[kSlots] = {};
  std::uint32_t pages_[kSlots] = {};
  int count_ = 0;           // slots in use, oldest first
  std::uint32_t held_ = 0;  // pages in all slots
};

}  // namespace hm::slab
