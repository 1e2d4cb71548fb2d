// The per-node page heap: kinds on descriptors, arena growth, watermarks, fault injection.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

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
  EXPECT_EQ(a->desc(a->index_of(large)).kind, PageKind::Large);
  EXPECT_EQ(a->desc(a->index_of(large)).count, 3u);
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
  EXPECT_EQ(page_stats().arenas, before.arenas + 1) << "trim unmaps the empty arena but the first";
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

TEST(PageHeap, FreeAboveTheHighWatermarkGivesMemoryBack) {
  PageHeap& h = fresh_heap(3);
  Config saved = config();
  config().high = 8 << 20;
  config().low = 4 << 20;
  std::size_t released = page_stats().released;
  constexpr std::size_t kPages = (64 << 20) >> kPageShift;
  auto* p = static_cast<char*>(h.alloc(kPages, 512, PageKind::Large, 0, nullptr));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kPages << kPageShift);
  long rss_full = resident_kib();
  h.free(p, 0);
  long rss_after = resident_kib();
  config() = saved;
  EXPECT_GE(page_stats().released - released, std::size_t{56} << 20);
  EXPECT_LT(rss_after, rss_full - 50 * 1024) << "RSS must drop by most of the 64 MiB";
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
