#include "page/arena.h"

#include <cerrno>
#include <new>

namespace hm::page {

Arena* Arena::create(os::Backing best, int node, PageHeap* heap, os::Backing worst) {
  // Under an address-space limit (ulimit -v) an arena takes at most a quarter of what the limit
  // leaves, so that thread stacks, blocks with mappings of their own and the program's other
  // mappings still fit: reserved address space counts against the limit whether used or not,
  // and two whole arenas under a 1.5 GB limit left a 500 MB malloc no room (glibc serves it).
  // Otherwise, or for an arena limited to hugetlb pages (a DMA heap's, always a whole GiB), a
  // whole slot.
  bool whole = worst < os::Backing::THP || os::address_space_left() / 4 >= kArenaSize;
  os::Mapping m;
  if (whole) m = os::map_best(kArenaSize, kArenaSize, best, "hugemem-arena", false, worst);
  // No whole slot: its first part, on pages that can be protected page by page (THP or 4 KiB),
  // smaller when even that fails.
  if (!m && (!whole || errno == ENOMEM) && worst >= os::Backing::THP) {
    os::Backing small = best < os::Backing::THP ? os::Backing::THP : best;
    std::size_t size = kArenaSize / 4;
    while (size > kMinArenaSize && size > os::address_space_left() / 4) size /= 4;
    for (; !m && size >= kMinArenaSize; size /= 4) m = os::map_best(size, kArenaSize, small, "hugemem-arena");
  }
  if (!m) return nullptr;
  if (node >= 0) os::bind_node(m.addr, m.size, node);
  // The descriptor array is touched sparsely; on 4 KiB pages it costs only what is used. This
  // also keeps the first 2 MiB of blocks after it on small pages, so small programs stay small.
  if (m.backing == os::Backing::THP) os::no_hugepages(m.addr, std::size_t{kFirstUsablePage} << kPageShift);
  auto* a = new (m.addr) Arena;
  a->map_ = m;
  a->heap_ = heap;
  a->node_ = node < 0 ? 0 : node;
  a->desc_ = reinterpret_cast<PageDesc*>(a->base() + os::kPageSize);
  a->pages_ = static_cast<std::uint32_t>(m.size >> kPageShift);
  a->frontier_.init(a->base(), m.backing, a->pages_);
  for (int o = 0; o <= kMaxOrder; ++o) {
    a->free_head_[o] = kNil;
    a->free_count_[o] = 0;
  }
  // Fresh memory reads as zero, so descriptors start out {Unused}; only the metadata's head
  // needs marking, then the usable pages go onto the free lists as clean blocks.
  a->desc_[0] = PageDesc{kNil, kNil, kFirstUsablePage, PageKind::Meta, 0, 0, 0};
  a->free_pages(kFirstUsablePage, a->pages_ - kFirstUsablePage, false);
  return a;
}

void Arena::destroy() {
  os::Mapping m = map_;
  os::unmap(m.addr, m.size);
}

int Arena::release_min_order() const {
  return order_for_pages(os::backing_granule(map_.backing) >> kPageShift);
}

namespace {
// The part of a block's dirty estimate that goes with `part` of its `whole` pages. Never more
// than `part` (dirty <= whole), and the shares of a partition add up to `dirty` when each is
// taken from what is left.
std::uint32_t share(std::uint32_t dirty, std::uint32_t part, std::uint32_t whole) {
  return static_cast<std::uint32_t>((std::uint64_t{dirty} * part + whole / 2) / whole);
}
}  // namespace

void Arena::push(std::uint32_t idx, int order, std::uint32_t dirty, bool touched) {
  PageDesc& d = desc_[idx];
  d.kind = PageKind::Free;
  d.order = static_cast<std::uint8_t>(order);
  d.count = dirty;
  d.touched = touched || dirty != 0;
  d.prev = kNil;
  d.next = free_head_[order];
  if (d.next != kNil) desc_[d.next].prev = idx;
  free_head_[order] = idx;
  ++free_count_[order];
  free_pages_ += std::size_t{1} << order;
  dirty_pages_ += dirty;
}

void Arena::unlink(std::uint32_t idx) {
  PageDesc& d = desc_[idx];
  if (d.prev != kNil) desc_[d.prev].next = d.next;
  else free_head_[d.order] = d.next;
  if (d.next != kNil) desc_[d.next].prev = d.prev;
  --free_count_[d.order];
  free_pages_ -= std::size_t{1} << d.order;
  dirty_pages_ -= d.count;
  d.kind = PageKind::Unused;  // keeps "Free <=> on a list" true
}

std::uint32_t Arena::pick_block(int order, int* got_order) const {
  // Memory that is already faulted in first: a block touched since it was last decommitted is
  // reused without a page fault and without the kernel clearing it again (for a THP, 2 MiB per
  // touched page). Free lists are LIFO, so recently freed blocks are at their heads; a few
  // entries per order are looked at, smallest order first.
  for (int k = order; k <= kMaxOrder; ++k) {
    int looked = 0;
    for (std::uint32_t i = free_head_[k]; i != kNil && looked < kDirtyScan; i = desc_[i].next, ++looked) {
      if (desc_[i].touched) {
        *got_order = k;
        return i;
      }
    }
  }
  int k = order;
  while (k <= kMaxOrder && free_head_[k] == kNil) ++k;
  if (k > kMaxOrder) return kNil;
  *got_order = k;
  return free_head_[k];
}

std::uint32_t Arena::take_block(int order, std::uint32_t* dirty, bool* touched) {
  int k = order;
  std::uint32_t idx = pick_block(order, &k);
  if (idx == kNil) return kNil;
  std::uint32_t d = desc_[idx].count;
  bool t = desc_[idx].touched;
  unlink(idx);
  // Split: the upper half of each step goes onto the next lower list with its share of the
  // estimate. Where the touched pages lie is unknown, so every piece keeps the bit.
  while (k > order) {
    --k;
    std::uint32_t half = 1u << k;
    std::uint32_t up = share(d, half, 2 * half);
    push(idx + half, k, up, t);
    d -= up;
  }
  *dirty = d;
  *touched = t;
  return idx;
}

std::uint32_t Arena::alloc_block(int order, bool* zeroed) {
  std::uint32_t dirty;
  bool touched;
  std::uint32_t idx = take_block(order, &dirty, &touched);
  if (idx != kNil && zeroed) *zeroed = !touched;
  return idx;
}

std::uint32_t Arena::alloc_pages(std::uint32_t n, int align_order, bool* zeroed, bool anywhere) {
  if (anywhere && align_order == 0) {
    std::uint32_t run = alloc_run(n);
    if (run != kNil) {
      if (zeroed) *zeroed = false;
      return run;
    }
  }
  int order = order_for_pages(n);
  if (order < align_order) order = align_order;
  std::uint32_t dirty;
  bool touched;
  std::uint32_t idx = take_block(order, &dirty, &touched);
  if (idx == kNil) return kNil;
  std::uint32_t size = 1u << order;
  if (!frontier_.commit(base(), idx, n)) {
    free_pages_counted(idx, size, dirty, touched);
    return kNil;
  }
  std::uint32_t tail = size - n;
  if (tail) free_pages_counted(idx + n, tail, share(dirty, tail, size), touched);
  if (zeroed) *zeroed = !touched;
  return idx;
}

// A block carved from the smallest free block of its order leaves the rest of that block as a
// tail that only smaller requests can use, and a request whose order no touched block holds
// took fresh pages (a fault and a clear each) beside resident free ones: a heap that keeps its
// freed memory grew far beyond its live size that way (blocks of 256 KiB .. 64 MiB, a live set
// of 8, nothing given back: 376 MiB of pages touched for a peak of 184 MiB live; 244 MiB with
// this, 496 and 293 MiB over 1000 steps). A large block needs no alignment, so it goes to the
// smallest run of adjacent free blocks that holds it and has a touched block in it, as
// address-ordered best fit would.
std::uint32_t Arena::alloc_run(std::uint32_t n) {
  int top = order_for_pages(n);
  std::uint32_t best = kNil, best_lo = kNil, best_len = ~0u;
  for (int k = top > kRunOrders ? top - kRunOrders : 0; k <= kMaxOrder && best_len != n; ++k) {
    if (best_len <= 1u << k) break;  // any run from here on is at least as long
    int looked = 0;
    for (std::uint32_t i = free_head_[k]; i != kNil && looked < kDirtyScan; i = desc_[i].next, ++looked) {
      if (!desc_[i].touched) continue;
      // The whole run, for the best fit: a descriptor load per block forward (a free run is at
      // most two aligned blocks per order), a few per block back.
      std::uint32_t lo = i, hi = i + (1u << k);
      while (hi < pages_ && desc_[hi].kind == PageKind::Free) hi += 1u << desc_[hi].order;
      for (std::uint32_t b; (b = free_block_before(lo)) != kNil;) lo = b;
      if (hi - lo < n || hi - lo >= best_len) continue;
      best_len = hi - lo;
      best_lo = lo;
      // Over touched blocks as far as they go: from the run's start if it is touched, else from
      // the touched block on, else ending at the run's end (which covers that block).
      best = desc_[lo].touched ? lo : hi - i >= n ? i : hi - n;
      if (best_len == n) break;
    }
  }
  if (best == kNil || !frontier_.commit(base(), best, n)) return kNil;
  std::uint32_t j = best_lo;
  while (j + (1u << desc_[j].order) <= best) j += 1u << desc_[j].order;
  claim(j, best, best + n);
  return best;
}

std::uint32_t Arena::free_block_before(std::uint32_t idx) const {
  int align = __builtin_ctz(idx);
  for (int o = 0; o <= align && o <= kMaxOrder; ++o) {
    std::uint32_t head = idx - (1u << o);
    if (head < kFirstUsablePage) break;
    if (desc_[head].kind == PageKind::Free && desc_[head].order == o) return head;
  }
  return kNil;
}

void Arena::claim(std::uint32_t j, std::uint32_t from, std::uint32_t to) {
  while (j < to) {
    std::uint32_t size = 1u << desc_[j].order, end = j + size;
    std::uint32_t dirty = desc_[j].count;
    bool touched = desc_[j].touched;
    unlink(j);
    // The pieces before and after the range are smaller than their block, so their buddies lie
    // inside it, and the range is off the lists: they coalesce only with each other.
    if (j < from) free_pages_counted(j, from - j, share(dirty, from - j, size), touched);
    if (end > to) free_pages_counted(to, end - to, share(dirty, end - to, size), touched);
    j = end;
  }
}

void Arena::free_block(std::uint32_t idx, int order, std::uint32_t dirty, bool touched) {
  while (order < kMaxOrder) {
    std::uint32_t buddy = idx ^ (1u << order);
    const PageDesc& b = desc_[buddy];
    if (b.kind != PageKind::Free || b.order != order) break;
    dirty += b.count;
    touched = touched || b.touched;
    unlink(buddy);
    idx &= ~(1u << order);
    ++order;
  }
  push(idx, order, dirty, touched);
}

void Arena::free_pages(std::uint32_t idx, std::uint32_t n, bool dirty) { free_pages_counted(idx, n, dirty ? n : 0, dirty); }

void Arena::free_pages_counted(std::uint32_t idx, std::uint32_t n, std::uint32_t dirty, bool touched) {
  // Split [idx, idx+n) into the largest naturally aligned blocks, each freed with coalescing.
  while (n) {
    int align = idx ? __builtin_ctz(idx) : kMaxOrder;
    int fit = 31 - __builtin_clz(n);
    int order = align < fit ? align : fit;
    std::uint32_t size = 1u << order;
    std::uint32_t piece = share(dirty, size, n);
    free_block(idx, order, piece, touched);
    dirty -= piece;
    idx += size;
    n -= size;
  }
}

bool Arena::extend(std::uint32_t idx, std::uint32_t n, std::uint32_t new_n, bool clean_ok) {
  std::uint32_t end = idx + new_n;
  if (end > pages_) return false;
  // Pages before each j are allocated (ours), so a free block holding j must start at j.
  for (std::uint32_t j = idx + n; j < end; j += 1u << desc_[j].order) {
    if (desc_[j].kind != PageKind::Free || !(clean_ok || desc_[j].touched)) return false;
  }
  if (!frontier_.commit(base(), idx + n, new_n - n)) return false;
  claim(idx + n, idx + n, end);
  return true;
}

std::size_t Arena::release(std::size_t keep_dirty, int min_order) {
  std::size_t released = 0;
  const bool all = keep_dirty == 0;
  for (int o = kMaxOrder; o >= min_order && (all || dirty_pages_ > keep_dirty); --o) {
    for (std::uint32_t i = free_head_[o]; i != kNil && (all || dirty_pages_ > keep_dirty); i = desc_[i].next) {
      PageDesc& d = desc_[i];
      if (d.count == 0 && !(all && d.touched)) continue;
      if (!os::decommit(page(i), std::size_t{1} << (o + kPageShift))) return released;
      dirty_pages_ -= d.count;
      released += d.count;
      d.count = 0;
      d.touched = 0;
    }
  }
  return released;
}

}  // namespace hm::page
static_assert(sizeof(hm::page::Arena) <= hm::os::kPageSize, "the arena header is its first page");
