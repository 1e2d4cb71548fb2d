// The page descriptor (the seed's `struct page` in its `mem_map`): one per 4 KiB page of an
// arena, in an array at the arena's start, so that any address finds its block in O(1):
//   arena = addr & ~(kArenaSize - 1);  desc = arena->desc[(addr - arena) >> 12].
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "os/os.h"

namespace hm::page {

inline constexpr std::size_t kArenaSize = os::k1G;  // arenas are aligned to their size
inline constexpr int kArenaShift = 30;
inline constexpr int kPageShift = 12;
inline constexpr std::uint32_t kArenaPages = kArenaSize >> kPageShift;
inline constexpr int kMaxOrder = 18;  // 2^18 pages = the whole arena
inline constexpr std::uint32_t kNil = 0xffffffffu;

// What a page belongs to. The invariant the buddy allocator relies on: `Free` is set only on
// the first page of a block that is on the free list of `order`; every page leaving a free list
// is re-marked at once, so a stale Free mark never exists and a buddy check is one load.
enum class PageKind : std::uint8_t {
  Unused,  // interior page of a free or large block, never looked at
  Free,    // head of a free block of `order` pages
  Meta,    // the arena's header and descriptor array, and allocator metadata blocks
  Slab,    // every page of a slab; `count` = index of the slab's first page
  Large,   // first page of a large block; `count` = its number of pages
};

struct PageDesc {
  std::uint32_t next;   // Free: next block on the order's list (page index) or kNil; Slab: with
  std::uint32_t prev;   // prev, the slab's address (slab_base). Free: previous block or kNil
  std::uint32_t count;  // Slab: head page index; Large/Meta: number of pages; Free: an estimate
                        // of how many of its pages hold data (arena.h: splits keep the sum)
  PageKind kind;
  std::uint8_t order;   // Free: the block's order
  std::uint8_t touched; // Free: 1 if any page may hold data; 0 = every page reads as zero
  std::uint8_t tag;     // owner-defined (the slab layer stores the size class)

  // Every page of a slab names its first page (the slab header) in next/prev: free's fast path
  // reaches the header in one load.
  static PageDesc slab_page(std::uintptr_t base, std::uint32_t head, std::uint8_t tag) {
    PageDesc d{0, 0, head, PageKind::Slab, 0, 0, tag};
    std::memcpy(&d, &base, sizeof base);
    return d;
  }
  std::uintptr_t slab_base() const {
    std::uintptr_t base;
    std::memcpy(&base, this, sizeof base);
    return base;
  }
};
static_assert(sizeof(PageDesc) == 16);
static_assert(offsetof(PageDesc, next) == 0 && offsetof(PageDesc, prev) == 4, "slab_base spans next and prev");

// The arena's first page holds the Arena header, the next ones the descriptor array.
inline constexpr std::uint32_t kDescPages = kArenaPages * sizeof(PageDesc) >> kPageShift;
inline constexpr std::uint32_t kMetaPages = 1 + kDescPages;
// Then a guard of 4 MiB that is never mapped read-write (page/frontier.h): a write up to 4 MiB
// before the first block faults instead of landing in the descriptors. The usable pages start
// one page past a 4 MiB boundary, as they did right after the descriptors, so the buddy's
// initial blocks (one of each order, smallest first) keep the same shape.
inline constexpr std::uint32_t kFirstUsablePage = 2 * kMetaPages - 1;
inline constexpr std::uint32_t kGuardPages = kFirstUsablePage - kMetaPages;
static_assert(kFirstUsablePage == 2049 && kGuardPages == 1024);
// The smallest arena (under an address-space limit, arena.h): 8 MiB of metadata and guard, and
// as much again usable.
inline constexpr std::size_t kMinArenaSize = std::size_t{16} << 20;
static_assert(kMinArenaSize > (std::size_t{kFirstUsablePage} << kPageShift));

}  // namespace hm::page
