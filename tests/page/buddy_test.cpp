// The buddy allocator on a real arena's descriptors: the seed's split/coalesce example and a
// randomized model test against a reference interval set.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "page/arena.h"

namespace {

using namespace hm::page;

class Buddy : public ::testing::Test {
 protected:
  void SetUp() override {
    arena_ = Arena::create(hm::os::Backing::Small, -1, nullptr);
    ASSERT_NE(arena_, nullptr) << std::strerror(errno);
    for (int o = 0; o <= kMaxOrder; ++o) initial_[o] = arena_->free_blocks(o);
  }
  void TearDown() override {
    if (arena_) arena_->destroy();
  }
  // Allocates every free page one by one, leaving all free lists empty.
  std::vector<std::uint32_t> drain() {
    std::vector<std::uint32_t> pages;
    for (std::uint32_t i; (i = arena_->alloc_block(0, nullptr)) != kNil;) pages.push_back(i);
    return pages;
  }
  Arena* arena_ = nullptr;
  std::size_t initial_[kMaxOrder + 1] = {};
};

TEST_F(Buddy, FreshArenaHoldsEveryUsablePageInAlignedBlocks) {
  EXPECT_TRUE(arena_->empty());
  std::size_t pages = 0;
  for (int o = 0; o <= kMaxOrder; ++o) pages += initial_[o] << o;
  EXPECT_EQ(pages, kArenaPages - kFirstUsablePage);
  EXPECT_EQ(initial_[17], 1u) << "the upper half of the arena is one order-17 block";
}

// The seed's example: an order-2 block at PFN 0x1000 serves an order-1 request. The request
// gets 0x1000; the upper half 0x1002 goes onto the order-1 list. Freeing 0x1000 then finds its
// buddy at 0x1000 ^ (1 << 1) = 0x1002 free and coalesces back to the order-2 block.
TEST_F(Buddy, SeedSplitAndCoalesceExample) {
  std::vector<std::uint32_t> all = drain();
  ASSERT_EQ(all.size(), kArenaPages - kFirstUsablePage);
  arena_->free_pages(0x1000, 4, false);
  ASSERT_EQ(arena_->free_blocks(2), 1u) << "4 freed pages at 0x1000 form one order-2 block";
  EXPECT_EQ(arena_->desc(0x1000).kind, PageKind::Free);
  EXPECT_EQ(arena_->desc(0x1000).order, 2);

  bool zeroed = false;
  EXPECT_EQ(arena_->alloc_block(1, &zeroed), 0x1000u);
  EXPECT_TRUE(zeroed) << "never-touched pages are known to be zero";
  EXPECT_EQ(arena_->free_blocks(2), 0u);
  ASSERT_EQ(arena_->free_blocks(1), 1u);
  EXPECT_EQ(arena_->desc(0x1002).kind, PageKind::Free);
  EXPECT_EQ(arena_->desc(0x1002).order, 1);
  EXPECT_NE(arena_->desc(0x1000).kind, PageKind::Free);

  arena_->free_pages(0x1000, 2, true);
  EXPECT_EQ(arena_->free_blocks(1), 0u) << "0x1000 and its buddy 0x1002 coalesced";
  ASSERT_EQ(arena_->free_blocks(2), 1u);
  EXPECT_EQ(arena_->desc(0x1000).kind, PageKind::Free);
  EXPECT_EQ(arena_->desc(0x1000).order, 2);
  EXPECT_NE(arena_->desc(0x1002).kind, PageKind::Free) << "the absorbed buddy is no longer a head";
  EXPECT_EQ(arena_->dirty_page_count(), 2u) << "the merged block counts only the freed half as dirty";

  // A buddy that is not free stops coalescing: 0x1004 (buddy at order 2) is still allocated.
  EXPECT_EQ(arena_->free_blocks(3), 0u);
  for (std::uint32_t i : all) {
    if (i < 0x1000 || i >= 0x1004) arena_->free_pages(i, 1, false);
  }
  for (int o = 0; o <= kMaxOrder; ++o) EXPECT_EQ(arena_->free_blocks(o), initial_[o]) << "order " << o;
}

// One touched page coalesced into a clean order-10 block: every piece split off it may hold
// that page (so none is called zeroed), but together they count it once. Counting it once per
// piece made the heap's dirty total grow with each split until the watermarks gave back memory
// the program was about to reuse.
TEST_F(Buddy, SplittingAPartlyTouchedBlockKeepsItsDirtyEstimate) {
  std::vector<std::uint32_t> all = drain();
  arena_->free_pages(0x1000, 1, true);
  arena_->free_pages(0x1001, 0x3ff, false);
  ASSERT_EQ(arena_->free_blocks(10), 1u);
  ASSERT_EQ(arena_->dirty_page_count(), 1u);
  for (int i = 0; i < 8; ++i) {
    bool zeroed = true;
    ASSERT_NE(arena_->alloc_block(0, &zeroed), kNil);
    EXPECT_FALSE(zeroed) << "a piece of a touched block may hold data";
    EXPECT_LE(arena_->dirty_page_count(), 1u) << "after " << i + 1 << " splits";
  }
}

// realloc's growth in place: over touched free blocks always, over clean ones only when asked.
TEST_F(Buddy, GrowsInPlaceOverCleanPagesOnlyWhenAllowed) {
  std::vector<std::uint32_t> all = drain();
  arena_->free_pages(0x1002, 2, false);
  EXPECT_FALSE(arena_->extend(0x1000, 2, 4, false)) << "the pages after the block were never touched";
  EXPECT_EQ(arena_->free_blocks(1), 1u) << "a refused growth changes nothing";
  EXPECT_TRUE(arena_->extend(0x1000, 2, 4, true));
  arena_->free_pages(0x1004, 4, true);
  EXPECT_TRUE(arena_->extend(0x1000, 4, 8, false)) << "touched free pages are grown over";
  EXPECT_EQ(arena_->dirty_page_count(), 0u) << "what the block took is no longer free";
}

// A large block needs no alignment: freed memory in pieces smaller than the request's order
// serves it when they lie side by side, instead of fresh pages; the best fitting run is taken,
// from its touched block on.
TEST_F(Buddy, UnalignedBlockIsPlacedOverTheBestFittingRunOfFreedBlocks) {
  std::vector<std::uint32_t> all = drain();
  // 0x1008 (order 3) and 0x1010 (order 3) are neighbours but not buddies: a run of 16 pages
  // that holds no order-4 block. 0x2000 (order 5) is a run of 32.
  arena_->free_pages(0x1008, 16, true);
  arena_->free_pages(0x2000, 32, true);
  ASSERT_EQ(arena_->free_blocks(3), 2u);
  ASSERT_EQ(arena_->free_blocks(4), 0u);
  EXPECT_EQ(arena_->alloc_pages(12, 0, nullptr), 0x2000u) << "aligned placement splits the order-5 block";
  arena_->free_pages(0x2000, 12, true);
  bool zeroed = true;
  EXPECT_EQ(arena_->alloc_pages(12, 0, &zeroed, true), 0x1008u) << "the 16-page run fits best";
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(arena_->free_page_count(), 4u + 32u) << "the run's last 4 pages went back";
  EXPECT_EQ(arena_->dirty_page_count(), 4u + 32u) << "with their share of the estimate";
  EXPECT_EQ(arena_->alloc_pages(24, 0, nullptr, true), 0x2000u);
  EXPECT_EQ(arena_->alloc_pages(12, 0, nullptr, true), kNil) << "no run of 12 free pages is left";
  arena_->free_pages(0x1008, 12, true);
  arena_->free_pages(0x2000, 24, true);
  for (std::uint32_t i : all) {
    if ((i < 0x1008 || i >= 0x1018) && (i < 0x2000 || i >= 0x2020)) arena_->free_pages(i, 1, false);
  }
  EXPECT_TRUE(arena_->empty());
  for (int o = 0; o <= kMaxOrder; ++o) EXPECT_EQ(arena_->free_blocks(o), initial_[o]) << "order " << o;
}

TEST_F(Buddy, ExactSizeAllocationGivesTheTailBack) {
  std::size_t free_before = arena_->free_page_count();
  std::uint32_t idx = arena_->alloc_pages(5, 0, nullptr);
  ASSERT_NE(idx, kNil);
  EXPECT_EQ(idx % 8, 0u) << "a 5-page block is carved from an order-3 block";
  EXPECT_EQ(arena_->free_page_count(), free_before - 5) << "pages 5..7 went back";
  std::uint32_t aligned = arena_->alloc_pages(3, 6, nullptr);
  ASSERT_NE(aligned, kNil);
  EXPECT_EQ(aligned % 64, 0u);
  arena_->free_pages(idx, 5, true);
  arena_->free_pages(aligned, 3, true);
  EXPECT_TRUE(arena_->empty());
  for (int o = 0; o <= kMaxOrder; ++o) EXPECT_EQ(arena_->free_blocks(o), initial_[o]) << "order " << o;
}

TEST_F(Buddy, RandomizedAgainstAReferenceModel) {
  std::mt19937_64 rng(12345);
  std::map<std::uint32_t, std::uint32_t> live;  // first page -> pages
  std::size_t live_pages = 0;
  auto check_no_overlap = [&](std::uint32_t idx, std::uint32_t n) {
    auto it = live.upper_bound(idx);
    if (it != live.end()) {
      ASSERT_LE(idx + n, it->first) << "overlaps the next live block";
    }
    if (it != live.begin()) {
      --it;
      ASSERT_LE(it->first + it->second, idx) << "overlaps the previous live block";
    }
  };
  for (int step = 0; step < 40000; ++step) {
    bool do_alloc = live.empty() || rng() % 100 < 55;
    if (do_alloc) {
      std::uint32_t n = 1 + static_cast<std::uint32_t>(rng() % (rng() % 8 == 0 ? 2048 : 16));
      int align = static_cast<int>(rng() % 4);
      std::uint32_t idx = arena_->alloc_pages(n, align, nullptr, rng() % 2 == 0);
      if (idx == kNil) continue;
      ASSERT_GE(idx, kFirstUsablePage);
      ASSERT_LE(idx + n, kArenaPages);
      ASSERT_EQ(idx % (1u << align), 0u);
      check_no_overlap(idx, n);
      live[idx] = n;
      live_pages += n;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      arena_->free_pages(it->first, it->second, true);
      live_pages -= it->second;
      live.erase(it);
    }
    ASSERT_EQ(arena_->free_page_count(), kArenaPages - kFirstUsablePage - live_pages);
  }
  for (auto [idx, n] : live) arena_->free_pages(idx, n, true);
  EXPECT_TRUE(arena_->empty());
  for (int o = 0; o <= kMaxOrder; ++o)
    EXPECT_EQ(arena_->free_blocks(o), initial_[o]) << "freeing everything coalesces back, order " << o;
}

TEST_F(Buddy, ReleaseDecommitsOnlyWholeGranulesOfDirtyBlocks) {
  std::uint32_t big = arena_->alloc_pages(1024, 0, nullptr);  // 4 MiB
  std::uint32_t small = arena_->alloc_pages(3, 0, nullptr);
  auto* p = static_cast<char*>(arena_->page(big));
  std::memset(p, 0x5A, 1024 << kPageShift);
  arena_->free_pages(big, 1024, true);
  arena_->free_pages(small, 3, true);
  std::size_t dirty = arena_->dirty_page_count();
  ASSERT_GE(dirty, 1024u);
  std::size_t got = arena_->release(0, 9);
  EXPECT_GE(got, 1024u);
  EXPECT_EQ(p[4096 * 10], 0) << "released pages read back as zero";
  bool zeroed = false;
  std::uint32_t again = arena_->alloc_pages(512, 9, &zeroed);
  EXPECT_TRUE(zeroed) << "a block made only of released pages is known to be zero";
  arena_->free_pages(again, 512, false);
}

// Under an address-space limit below 1 GiB an arena is the first part of its slot: its buddy
// serves every page up to the mapping's end and nothing beyond, and everything goes back. Runs
// in a child (the limit stays with the process); returns the child's exit code, 0 for success.
int truncated_arena_check() {
  long vm_pages = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f || std::fscanf(f, "%ld", &vm_pages) != 1) return 2;
  std::fclose(f);
  rlim_t limit = static_cast<rlim_t>(vm_pages) * 4096 + (rlim_t{300} << 20);
  rlimit rl{limit, limit};
  if (setrlimit(RLIMIT_AS, &rl) != 0) return 3;
  Arena* a = Arena::create(hm::os::Backing::Small, -1, nullptr);
  if (!a) return 4;
  if (a->pages() >= kArenaPages || a->mapped_bytes() != std::size_t{a->pages()} << kPageShift) return 5;
  std::vector<std::uint32_t> got;
  for (std::uint32_t i; (i = a->alloc_pages(1, 0, nullptr)) != kNil;) {
    if (i < kFirstUsablePage || i >= a->pages()) return 6;
    *static_cast<volatile char*>(a->page(i)) = 1;  // committed, read-write
    got.push_back(i);
  }
  if (got.size() != a->pages() - kFirstUsablePage) return 7;
  for (std::uint32_t i : got) a->free_pages(i, 1, true);
  if (!a->empty()) return 8;
  a->destroy();
  return 0;
}

TEST(BuddyDeathTest, UnderAnAddressSpaceLimitAnArenaIsTruncatedAndStillWhole) {
  EXPECT_EXIT(std::_Exit(truncated_arena_check()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
