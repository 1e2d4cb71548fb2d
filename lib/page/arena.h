// An arena: one kArenaSize mapping aligned to its size, with the buddy allocator over its pages.
// Layout: page 0 = this header, pages 1..kDescPages = the PageDesc array, then usable pages.
// Under an address-space limit (ulimit -v) that leaves no room for 1 GiB, an arena is the first
// part of its 1 GiB slot only (kMinArenaSize at least): its pages end at pages(), and the rest of
// the slot is not hugemem's (nothing of hugemem can start there: arenas and direct mappings start
// at slot boundaries, so a lookup of such an address finds only Unused descriptors).
//
// Buddy invariants (checked by tests/page):
//  - a free block of order k starts at a page index that is a multiple of 2^k, and its head
//    descriptor is {kind Free, order k} and on free list k; no two free buddies of the same order
//    coexist (free() always coalesces), so the buddy of block i at order k is i ^ 2^k;
//  - allocation takes the first non-empty order >= k and splits, upper halves going down;
//  - an n-page request (n not a power of two) takes order ceil(log2 n) and frees the tail.
// What free memory holds, per free block: `touched` is exact in one direction (0 means every
// page reads as zero, so calloc may skip clearing it), `count` estimates the pages holding
// data. Splitting a block shares its estimate among the pieces in proportion to their size,
// so the sum over all blocks (dirty_page_count, what the watermarks act on) stays the memory
// freed and not given back; bounding each piece by the whole block's count instead made that
// sum grow with every split of a partly touched block, until the watermarks released memory
// the program was about to reuse.
// Not thread-safe: the owning PageHeap's lock is held around every call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "os/os.h"
#include "page/desc.h"
#include "page/frontier.h"

namespace hm::page {

class PageHeap;

class Arena {
 public:
  // Maps a new arena with the best backing from `best` down to `worst` and formats it.
  // nullptr + errno.
  static Arena* create(os::Backing best, int node, PageHeap* heap, os::Backing worst = os::Backing::Small);
  // Unmaps it; the arena must be entirely free.
  void destroy();

  static Arena* of(const void* p) {
    return reinterpret_cast<Arena*>(reinterpret_cast<std::uintptr_t>(p) & ~(kArenaSize - 1));
  }
  char* base() { return reinterpret_cast<char*>(this); }
  std::uint32_t index_of(const void* p) const {
    return static_cast<std::uint32_t>((reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(this)) >> kPageShift);
  }
  void* page(std::uint32_t idx) { return base() + (std::size_t{idx} << kPageShift); }
  PageDesc& desc(std::uint32_t idx) { return desc_[idx]; }

  // A naturally aligned block of 2^order pages: its first page index, or kNil. `zeroed` says
  // whether every page of it is known to read as zero (fresh or decommitted).
  std::uint32_t alloc_block(int order, bool* zeroed);
  // n pages aligned to 2^align_order pages; the tail beyond n goes back to the free lists.
  // `anywhere` (a large block, align_order 0): at no particular alignment, best fit over runs
  // of free blocks around touched ones first (alloc_run).
  std::uint32_t alloc_pages(std::uint32_t n, int align_order, bool* zeroed, bool anywhere = false);
  // Returns [idx, idx + n) to the free lists, coalescing; `dirty` = may hold data.
  void free_pages(std::uint32_t idx, std::uint32_t n, bool dirty);
  // The same, for a range of which about `dirty_pages` pages hold data; `touched` as in the
  // block descriptor (dirty_pages > 0 implies touched).
  void free_pages_counted(std::uint32_t idx, std::uint32_t n, std::uint32_t dirty_pages, bool touched);

  // Grows the allocated block [idx, idx+n) in place to new_n pages if the pages after it are
  // free blocks, touched ones unless clean_ok; false (nothing changed) otherwise.
  bool extend(std::uint32_t idx, std::uint32_t n, std::uint32_t new_n, bool clean_ok);

  // Decommits dirty free blocks of at least `min_order` (largest first) until at most
  // `keep_dirty` dirty free pages remain; with keep_dirty == 0, every touched block of that
  // order, estimated dirty or not. Returns the pages released (by the estimate).
  std::size_t release(std::size_t keep_dirty, int min_order);

  // Calls f(first page, pages, tag) for every slab block (statistics). The owning heap's lock
  // is held: no block is carved or given back meanwhile.
  template <class F>
  void visit_slabs(F f) {
    for (std::uint32_t i = kFirstUsablePage; i < pages_;) {
      const PageDesc& d = desc_[i];
      if (d.kind == PageKind::Free) {
        i += 1u << d.order;
      } else if (d.kind == PageKind::Slab && d.count == i) {
        std::uint32_t j = i + 1;
        while (j < pages_ && desc_[j].kind == PageKind::Slab && desc_[j].count == i) ++j;
        f(page(i), j - i, d.tag);
        i = j;
      } else {
        i += (d.kind == PageKind::Large || d.kind == PageKind::Meta) && d.count ? d.count : 1;
      }
    }
  }
  bool empty() const { return free_pages_ == pages_ - kFirstUsablePage; }
  std::uint32_t pages() const { return pages_; }
  std::size_t mapped_bytes() const { return map_.size; }
  std::size_t free_page_count() const { return free_pages_; }
  std::size_t dirty_page_count() const { return dirty_pages_; }
  std::size_t free_blocks(int order) const { return free_count_[order]; }
  os::Backing backing() const { return map_.backing; }
  int node() const { return node_; }
  PageHeap* heap() const { return heap_; }
  int release_min_order() const;
  std::size_t committed_bytes() const { return frontier_.committed_bytes(); }

  Arena* next = nullptr;  // the owning heap's list

 private:
  // Free entries looked at per order for a dirty block before a clean one is taken.
  static constexpr int kDirtyScan = 4;
  // alloc_run starts from touched blocks down to this many orders below the request's: runs
  // of smaller pieces are rare and each costs a walk over the descriptors.
  static constexpr int kRunOrders = 2;
  std::uint32_t pick_block(int order, int* got_order) const;
  std::uint32_t alloc_run(std::uint32_t n);
  // The head of the free block that ends at page idx, or kNil.
  std::uint32_t free_block_before(std::uint32_t idx) const;
  // Takes [from, to) off the free lists; j is the head of the free block holding `from`, and
  // every page up to `to` is free. What the blocks hold outside the range goes back, with its
  // share of their estimates.
  void claim(std::uint32_t j, std::uint32_t from, std::uint32_t to);
  void push(std::uint32_t idx, int order, std::uint32_t dirty, bool touched);
  void unlink(std::uint32_t idx);
  void free_block(std::uint32_t idx, int order, std::uint32_t dirty, bool touched);
  // Takes a block of 2^order pages off the free lists (splitting); its estimate and bit out.
  std::uint32_t take_block(int order, std::uint32_t* dirty, bool* touched);

  os::Mapping map_;
  PageHeap* heap_ = nullptr;
  int node_ = 0;
  PageDesc* desc_ = nullptr;
  std::size_t free_pages_ = 0;   // pages on the free lists
  std::uint32_t pages_ = kArenaPages;  // the mapping's end (kArenaPages unless truncated)
  std::size_t dirty_pages_ = 0;  // of those, pages that may hold data (sum of Free counts)
  std::uint32_t free_head_[kMaxOrder + 1];
  std::uint32_t free_count_[kMaxOrder + 1];
  Frontier frontier_;
};

inline int order_for_pages(std::size_t n) {
  return n <= 1 ? 0 : 64 - __builtin_clzll(n - 1);
}

}  // namespace hm::page
