// The per-thread cache of freed large blocks: a freed block stays with its thread for the next
// allocation of the same page count, within a budget, and goes back to the page heap at thread
// exit and malloc_trim. "active" (bytes of blocks the page heap has handed out) shows where a
// block is: it drops when the page heap gets a block back, not when the cache keeps one.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "slab/large_cache.h"

namespace {

constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

// The thread's heap exists (its metadata counts as active) and nothing is kept. The default
// mode's mmap threshold (api/secure.h) is at its cap, so the blocks below are freed into the
// cache, not quarantined as blocks allocated above it would be.
void settle() {
  hm_free(hm_malloc(16));
  hm_free(hm_malloc(4 * MiB));
  hm_trim(0);
}

hm_stats stats() {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

TEST(LargeCache, AFreedBlockIsKeptAndServesTheNextAllocationOfItsSize) {
  settle();
  void* p = hm_malloc(64 * KiB);
  ASSERT_NE(p, nullptr);
  hm_stats live = stats();
  hm_free(p);
  hm_stats freed = stats();
  EXPECT_EQ(live.allocated - freed.allocated, 64 * KiB) << "a kept block is not allocated";
  EXPECT_EQ(freed.active, live.active) << "the page heap did not get it back: the thread keeps it";
  EXPECT_EQ(hm_owns(p), 0) << "a kept block is not a live block";
  EXPECT_EQ(hm_malloc(64 * KiB), p);
  hm_free(p);
  hm_trim(0);
  EXPECT_EQ(stats().active, live.active - 64 * KiB) << "malloc_trim gives the kept block back";
}

TEST(LargeCache, KeepsAtMostItsBudget) {
  settle();
  std::size_t base = stats().active;
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(hm_malloc(MiB));
  for (void* p : blocks) hm_free(p);
  std::size_t kept = stats().active - base;
  EXPECT_LE(kept, std::size_t{hm::slab::LargeCache::kBudgetPages} * 4096);
  EXPECT_GE(kept, MiB) << "the last ones freed are kept";
  hm_trim(0);
  EXPECT_EQ(stats().active, base);
}

TEST(LargeCache, BlocksAboveTheLimitGoStraightBack) {
  settle();
  std::size_t base = stats().active;
  void* p = hm_malloc(std::size_t{hm::slab::LargeCache::kMaxPages} * 4096 + 1);
  hm_free(p);
  EXPECT_EQ(stats().active, base);
}

TEST(LargeCache, AnExitingThreadGivesItsKeptBlocksBack) {
  settle();
  std::thread([] { hm_free(hm_malloc(16)); }).join();  // a heap for the next thread to reuse
  std::size_t base = stats().active;
  std::thread([] {
    void* a = hm_malloc(128 * KiB);
    void* b = hm_malloc(256 * KiB);
    hm_free(a);
    hm_free(b);
  }).join();
  EXPECT_EQ(stats().active, base);
}

TEST(LargeCache, SizesMustMatchExactly) {
  settle();
  void* p = hm_malloc(64 * KiB);
  hm_free(p);
  void* q = hm_malloc(68 * KiB);  // 17 pages: not the kept 16
  EXPECT_NE(q, p);
  void* r = hm_malloc(64 * KiB);
  EXPECT_EQ(r, p);
  hm_free(q);
  hm_free(r);
  hm_trim(0);
}

}  // namespace
