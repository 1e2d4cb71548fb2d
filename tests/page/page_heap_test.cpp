// The per-node page heap: kinds on descriptors, arena growth, watermarks, fault injection.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "page/direct.h"
#include "page/heap.h"
#include "page/registry.h"

namespace {

using namespace hm::page;

// Each test uses a node index of its own so arenas left by one test do not serve another.
PageHeap& fresh_heap(int n) { return PageHeap::of_node(40 + n); }

TEST(PageHeap, BlocksAreMarkedAndFoundFromAnyInteriorPage) {
  PageHeap& h = fresh_heap(0);
  void* slab = h.alloc(4, 4, PageKind::Slab, 7, nullptr);
  void* large = h.alloc(3, 1, PageKind::Large, 0, nullptr);
  ASSERT_TRUE(slab && large);
  Arena* a = registry_arena(registry_entry(static_cast<char*>(slab) + 5000));
  ASSERT_EQ(a, Arena::of(slab));
  std::uint32_t head = a->index_of(slab);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(a->desc(head + i).kind, PageKind::Slab);
    EXPECT_EQ(a->desc(head + i).count, head);
    EXPECT_EQ(a->desc(head + i).tag, 7);
  }
  Arena* la = Arena::of(large);
  EXPECT_NE(la, a) << "large blocks live in arenas of their own (lifetime segregation)";
  EXPECT_EQ(la->desc(la->index_of(large)).kind, PageKind::Large);
  EXPECT_EQ(la->desc(la->index_of(large)).count, 3u);
  h.free(slab, 4);
  EXPECT_NE(a->desc(head + 1).kind, PageKind::Slab) << "freed slab pages lose their mark";
  h.free(large, 0);
}

TEST(PageHeap, MapsANewArenaWhenFullAndFailsCleanlyAtTheLimit) {
  PageHeap& h = fresh_heap(1);
  std::size_t limit = config().arena_limit;
  PageStats before = page_stats();
  void* a = h.alloc(kArenaPages / 2, 1, PageKind::Large, 0, nullptr);  // the arena's order-17 half
  void* b = h.alloc(kArenaPages / 2, 1, PageKind::Large, 0, nullptr);  // needs a second arena
  ASSERT_TRUE(a && b);
  EXPECT_NE(Arena::of(a), Arena::of(b));
  EXPECT_EQ(page_stats().arenas, before.arenas + 2);
  config().arena_limit = page_stats().arenas;  // no room for a third
  errno = 0;
  EXPECT_EQ(h.alloc(kArenaPages / 2, 1, PageKind::Large, 0, nullptr), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  config().arena_limit = limit;
  h.free(a, 0);
  h.free(b, 0);
  h.trim();
  EXPECT_EQ(page_stats().arenas, before.arenas) << "trim unmaps empty arenas of large blocks";
}

TEST(PageHeap, FailedMappingIsACleanFailureAndTheNextCallWorks) {
  PageHeap& h = fresh_heap(2);
  long live = hm::os::live_mappings();
  hm::os::fail_next_maps(hm::os::kBackingKinds);  // every backing map_best would try
  errno = 0;
  EXPECT_EQ(h.alloc(1, 1, PageKind::Large, 0, nullptr), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(hm::os::live_mappings(), live) << "nothing leaked";
  hm::os::fail_next_maps(0);
  void* p = h.alloc(1, 1, PageKind::Large, 0, nullptr);
  ASSERT_NE(p, nullptr);
  h.free(p, 0);
}

long resident_kib() {
  long pages = 0, rss = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * 4;
}

// A live set that swings: a big buffer freed and another allocated next. The freed memory lies
// in the dip below the heap's recent peak in use, so it waits (keeping it takes the process no
// higher than it just was) and the next buffer is served from it, resident, without a fault.
TEST(PageHeap, FreedMemoryInTheDipBelowTheRecentPeakIsKeptForReuse) {
  PageHeap& h = fresh_heap(3);
  Config saved = config();
  config().high = 8 << 20;
  config().low = 4 << 20;
  config().delay_ms = 60000;  // no epoch ends during the test
  constexpr std::size_t kPages = (64 << 20) >> kPageShift;  // 8 x high
  auto* p = static_cast<char*>(h.alloc(kPages, 1, PageKind::Large, 0, nullptr));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kPages << kPageShift);
  std::size_t released = page_stats().released;
  h.free(p, 0);
  EXPECT_EQ(page_stats().released, released) << "memory within the recent peak went back at once";
  long rss_kept = resident_kib();
  bool zeroed = true;
  auto* q = static_cast<char*>(h.alloc(kPages - 100, 1, PageKind::Large, 0, &zeroed));
  EXPECT_EQ(q, p) << "the next buffer is served from the freed one";
  EXPECT_FALSE(zeroed);
  std::memset(q, 2, (kPages - 100) << kPageShift);
  EXPECT_LT(resident_kib(), rss_kept + 4 * 1024) << "the reused buffer was resident already";
  h.free(q, 0);
  h.trim();
  config() = saved;
}

// Free memory that no allocation could reuse goes back at once: here the heap took 64 MiB of
// fresh pages (slabs, in arenas of their own) while 64 MiB of freed large blocks waited, so
// keeping them would take the process 64 MiB above its peak in use.
TEST(PageHeap, FreedMemoryBeyondTheRecentPeakGoesBackAtOnce) {
  PageHeap& h = fresh_heap(8);
  Config saved = config();
  config().high = 8 << 20;
  config().low = 4 << 20;
  config().delay_ms = 60000;
  constexpr std::size_t kPages = (64 << 20) >> kPageShift;
  auto* p = static_cast<char*>(h.alloc(kPages, 1, PageKind::Large, 0, nullptr));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kPages << kPageShift);
  long rss_full = resident_kib();
  std::size_t released = page_stats().released;
  h.free(p, 0);
  ASSERT_EQ(page_stats().released, released);
  void* slabs = h.alloc(kPages, 16, PageKind::Slab, 1, nullptr);
  ASSERT_NE(slabs, nullptr);
  ASSERT_NE(Arena::of(slabs), Arena::of(p)) << "slabs and large blocks have arenas of their own";
  EXPECT_GE(page_stats().released - released, std::size_t{56} << 20);
  EXPECT_LT(resident_kib(), rss_full - 50 * 1024) << "RSS must drop by most of the 64 MiB";
  h.free(slabs, kPages);
  h.trim();
  config() = saved;
}

// Freed memory waits: what the program reuses within an epoch of
// delay_ms stays resident, and what stayed free through a whole epoch goes back at its end, on
// the next call into the heap, an allocation as much as a free.
TEST(PageHeap, MemoryUnusedForAWholeEpochGoesBack) {
  PageHeap& h = fresh_heap(6);
  Config saved = config();
  config().high = 16 << 20;
  config().low = 4 << 20;
  config().delay_ms = 300;
  constexpr std::size_t kPages = (24 << 20) >> kPageShift;  // 1.5 x high: not a burst
  auto* p = static_cast<char*>(h.alloc(kPages, 512, PageKind::Large, 0, nullptr));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kPages << kPageShift);
  std::size_t released = page_stats().released;
  h.free(p, 0);
  EXPECT_EQ(page_stats().released, released) << "released before the delay";
  void* reuse = h.alloc(kPages, 512, PageKind::Large, 0, nullptr);
  EXPECT_EQ(reuse, p) << "the freed block is served again, still resident";
  h.free(reuse, 0);
  std::size_t got = 0;
  for (int epoch = 0; epoch < 3 && got < (std::size_t{16} << 20); ++epoch) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config().delay_ms + 50));
    void* one = h.alloc(1, 1, PageKind::Large, 0, nullptr);
    ASSERT_NE(one, nullptr);
    got = page_stats().released - released;
    h.free(one, 0);
  }
  h.trim();
  config() = saved;
  EXPECT_GE(got, std::size_t{16} << 20) << "released down to low (4 MiB) once an epoch passed without its use";
}

// A block regrown in place must not wander onto fresh pages while freed, resident memory of the
// heap waits elsewhere: then realloc moves it there instead (resize refuses).
TEST(PageHeap, GrowthInPlaceDoesNotTakeFreshPagesWhileFreedOnesWait) {
  PageHeap& h = fresh_heap(7);
  Config saved = config();
  config().high = std::size_t{1} << 40;  // keep everything dirty
  auto* spare = static_cast<char*>(h.alloc(256, 1, PageKind::Large, 0, nullptr));
  auto* grow = static_cast<char*>(h.alloc(16, 1, PageKind::Large, 0, nullptr));
  ASSERT_TRUE(spare && grow);
  std::memset(spare, 1, 256 << kPageShift);
  EXPECT_TRUE(h.resize(grow, 24)) << "no freed memory yet: growing over fresh pages is fine";
  h.free(spare, 0);
  EXPECT_FALSE(h.resize(grow, 64)) << "grew onto fresh pages while 1 MiB of freed memory waited";
  void* moved = h.alloc(64, 1, PageKind::Large, 0, nullptr);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(Arena::of(moved), Arena::of(spare));
  EXPECT_LT(static_cast<char*>(moved) - spare, 256 << kPageShift) << "the move lands in the freed memory";
  h.free(moved, 0);
  h.free(grow, 0);
  h.trim();
  config() = saved;
}

// Slabs and large blocks allocated interleaved, then every large block freed: the share of the
// free memory left in whole 2 MiB blocks, i.e. what can go back to the OS (or be handed out as
// a huge block) without splitting a huge page.
double whole_hugepage_share(bool segregate, int n) {
  Config saved = config();
  config().segregate = segregate;
  config().high = std::size_t{1} << 40;  // keep everything dirty: measure layout, not release
  PageHeap& h = fresh_heap(n);
  std::mt19937 rng(7);
  std::vector<void*> slabs, large;
  for (int i = 0; i < 4000; ++i) {
    large.push_back(h.alloc(1 + rng() % 64, 1, PageKind::Large, 0, nullptr));
    if (i % 4 == 0) slabs.push_back(h.alloc(4, 4, PageKind::Slab, 1, nullptr));
  }
  for (void* p : large) h.free(p, 0);
  PageStats s;
  h.add_stats(s);
  std::size_t whole = 0, all = 0;
  for (int o = 0; o <= kMaxOrder; ++o) {
    all += s.free_blocks[o] << o;
    if (o >= 9) whole += s.free_blocks[o] << o;
  }
  for (void* p : slabs) h.free(p, 4);
  h.trim();
  config() = saved;
  return static_cast<double>(whole) / static_cast<double>(all);
}

TEST(PageHeap, LifetimeSegregationKeepsFreedLargeBlocksWhole) {
  double segregated = whole_hugepage_share(true, 4);
  double mixed = whole_hugepage_share(false, 5);
  std::printf("free memory in whole 2 MiB blocks: %.1f%% segregated, %.1f%% mixed\n", segregated * 100, mixed * 100);
  RecordProperty("whole_2m_share_segregated", std::to_string(segregated));
  RecordProperty("whole_2m_share_mixed", std::to_string(mixed));
  EXPECT_GT(segregated, 0.95);
  EXPECT_GT(segregated, mixed + 0.2) << "segregation must measurably cut fragmentation";
}

TEST(PageHeap, DirectMappingsAreRegisteredAndAligned) {
  void* p = direct_alloc(std::size_t{600} << 20, 1 << 16);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (1 << 16), 0u);
  DirectHeader* h = registry_direct(registry_entry(static_cast<char*>(p) + (std::size_t{500} << 20)));
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->user, p);
  EXPECT_GE(h->usable, std::size_t{600} << 20);
  static_cast<char*>(p)[(std::size_t{600} << 20) - 1] = 1;
  direct_free(h);
  EXPECT_EQ(registry_entry(p), 0u);
}

}  // namespace
