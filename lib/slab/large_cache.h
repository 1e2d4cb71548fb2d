// A thread's cache of large blocks it freed, for its next allocation of the same page count.
// Without it every malloc/free pair above the largest size class takes the node's page-heap
// lock and splits and coalesces buddies (~700 instructions for 64 KiB).
//
// A kept block stays a Large block to the page layer, with its head descriptor's tag set to
// kCachedTag: resolve() reports any use of it (free, realloc, usable_size) as a double free,
// so the cache never hands out one block twice.
//
// Protocol: each slot is one atomic word (block | pages). Only the owning thread fills a slot
// (tag first, then a release store); any thread may empty one with an exchange (the owner taking
// a block, or malloc_trim flushing every thread's cache), and whoever's exchange returns the
// block has it. The bytes kept by all caches together are counted (kept_bytes()) and bounded by
// the page layer's high watermark, so idle caches never hold more than the release policy
// allows to stay resident.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hm::slab {

inline constexpr std::uint8_t kCachedTag = 1;

class LargeCache {
 public:
  static constexpr int kSlots = 8;
  static constexpr std::uint32_t kMaxPages = 256;     // blocks of up to 1 MiB
  static constexpr std::uint32_t kBudgetPages = 512;  // 2 MiB kept per thread at most
  static_assert(kMaxPages < 4096, "the page count fits below a block's page-aligned address");

  // Owner: a kept block of exactly `pages` pages, live again; nullptr if there is none.
  void* take(std::uint32_t pages);
  // Owner: keeps the live large block p of `pages` pages (evicting to make room); false when it
  // cannot be kept (too large, or every cache together is at its budget): the caller frees it.
  bool keep(void* p, std::uint32_t pages);
  // Any thread: every kept block back to its page heap (thread exit, malloc_trim).
  void flush();

 private:
  std::atomic<std::uintptr_t> slot_[kSlots] = {};
  int victim_ = 0;          // owner: the slot evicted next when all are full
};

// Bytes kept by every thread's cache.
std::size_t kept_bytes();

}  // namespace hm::slab
