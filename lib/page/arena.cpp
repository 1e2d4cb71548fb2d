#include "page/arena.h"

#include <cerrno>
#include <new>

namespace hm::page {

Arena* Arena::create(os::Backing best, int node, PageHeap* heap, os::Backing worst) {
  os::Mapping m = os::map_best(kArenaSize, kArenaSize, best, "hugemem-arena", false, worst);
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
  a->frontier_.init(a->base(), m.backing);
  for (int o = 0; o <= kMaxOrder; ++o) {
    a->free_head_[o] = kNil;
    a->free_count_[o] = 0;
  }
  // Fresh memory reads as zero, so descriptors start out {Unused}; only the metadata's head
  // needs marking, then the usable pages go onto the free lists as clean blocks.
  a->desc_[0] = PageDesc{kNil, kNil, kFirstUsablePage, PageKind::Meta, 0, 0, 0};
  a->free_pages(kFirstUsablePage, kArenaPages - kFirstUsablePage, false);
  return a;
}

void Arena::destroy() {
  os::Mapping m = map_;
  os::unmap(m.addr, m.size);
}

int Arena::release_min_order() const {
  return order_for_pages(os::backing_granule(map_.backing) >> kPageShift);
}

void Arena::push(std::uint32_t idx, int order, std::uint32_t dirty) {
  PageDesc& d = desc_[idx];
  d.kind = PageKind::Free;
  d.order = static_cast<std::uint8_t>(order);
  d.count = dirty;
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
      if (desc_[i].count != 0) {
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

std::uint32_t Arena::alloc_block(int order, bool* zeroed) {
  int k = order;
  std::uint32_t idx = pick_block(order, &k);
  if (idx == kNil) return kNil;
  std::uint32_t dirty = desc_[idx].count;
  unlink(idx);
  // Split: the upper half of each step goes onto the next lower list. Where the dirty pages
  // lie is unknown, so each half keeps the bound min(dirty, its size).
  while (k > order) {
    --k;
    std::uint32_t half = 1u << k;
    push(idx + half, k, dirty < half ? dirty : half);
    if (dirty > half) dirty = half;
  }
  if (zeroed) *zeroed = dirty == 0;
  return idx;
}

std::uint32_t Arena::alloc_pages(std::uint32_t n, int align_order, bool* zeroed) {
  int order = order_for_pages(n);
  if (order < align_order) order = align_order;
  bool clean = false;
  std::uint32_t idx = alloc_block(order, &clean);
  if (idx == kNil) return kNil;
  if (!frontier_.commit(base(), idx, n)) {
    free_pages(idx, 1u << order, !clean);
    return kNil;
  }
  std::uint32_t tail = (1u << order) - n;
  if (tail) free_pages(idx + n, tail, !clean);  // the block's dirty pages may be in the tail
  if (zeroed) *zeroed = clean;
  return idx;
}

void Arena::free_block(std::uint32_t idx, int order, std::uint32_t dirty) {
  while (order < kMaxOrder) {
    std::uint32_t buddy = idx ^ (1u << order);
    const PageDesc& b = desc_[buddy];
    if (b.kind != PageKind::Free || b.order != order) break;
    dirty += b.count;
    unlink(buddy);
    idx &= ~(1u << order);
    ++order;
  }
  push(idx, order, dirty);
}

void Arena::free_pages(std::uint32_t idx, std::uint32_t n, bool dirty) { free_pages_counted(idx, n, dirty ? n : 0); }

void Arena::free_pages_counted(std::uint32_t idx, std::uint32_t n, std::uint32_t dirty) {
  // Split [idx, idx+n) into the largest naturally aligned blocks, each freed with coalescing.
  while (n) {
    int align = idx ? __builtin_ctz(idx) : kMaxOrder;
    int fit = 31 - __builtin_clz(n);
    int order = align < fit ? align : fit;
    std::uint32_t size = 1u << order;
    free_block(idx, order, dirty < size ? dirty : size);
    idx += size;
    n -= size;
  }
}

bool Arena::extend(std::uint32_t idx, std::uint32_t n, std::uint32_t new_n) {
  std::uint32_t end = idx + new_n;
  if (end > kArenaPages) return false;
  // Pages before each j are allocated (ours), so a free block holding j must start at j.
  for (std::uint32_t j = idx + n; j < end; j += 1u << desc_[j].order) {
    if (desc_[j].kind != PageKind::Free) return false;
  }
  if (!frontier_.commit(base(), idx + n, new_n - n)) return false;
  for (std::uint32_t j = idx + n; j < end;) {
    std::uint32_t block_end = j + (1u << desc_[j].order);
    std::uint32_t dirty = desc_[j].count;
    unlink(j);
    if (block_end > end) free_pages_counted(end, block_end - end, dirty);
    j = block_end;
  }
  return true;
}

std::size_t Arena::release(std::size_t keep_dirty, int min_order) {
  std::size_t released = 0;
  for (int o = kMaxOrder; o >= min_order && dirty_pages_ > keep_dirty; --o) {
    for (std::uint32_t i = free_head_[o]; i != kNil && dirty_pages_ > keep_dirty; i = desc_[i].next) {
      PageDesc& d = desc_[i];
      if (d.count == 0) continue;
      if (!os::decommit(page(i), std::size_t{1} << (o + kPageShift))) return released;
      dirty_pages_ -= d.count;
      released += d.count;
      d.count = 0;
    }
  }
  return released;
}

}  // namespace hm::page
static_assert(sizeof(hm::page::Arena) <= hm::os::kPageSize, "the arena header is its first page");
