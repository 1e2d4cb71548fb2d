// The malloc family on a DMA heap: the calling thread's heap for the DMA heap's domain serves
// the size classes (the malloc's fast path: a pop from its active slab); larger or more aligned
// blocks come from the domain's page heap directly. hm_dma_free finds everything from the
// address: a slab object goes back through the slab protocol (local push, or a remote free onto
// the slab's list), a large block to its page heap.
#include <cerrno>
#include <cstring>

#include "api/export.h"
#include "dma/dma_heap.h"
#include "dma/thread.h"
#include "page/iova_map.h"
#include "page/lookup.h"
#include "slab/report.h"
#include "slab/size_class.h"
#include "slab/thread_heap.h"

namespace hm::dma {
namespace {

constexpr std::uint64_t kLargeFill = 0x0101010101010101ull * slab::kFreeFill;

std::size_t pages_for(std::size_t n) { return (n + os::kPageSize - 1) >> page::kPageShift; }

// The class that serves n bytes at `align` from slabs, or -1 for a large block.
int class_for(std::size_t n, std::size_t align) {
  if (align <= 16) return n <= slab::kSmallMax ? slab::class_of(n) : -1;
  return align <= os::kPageSize ? slab::aligned_class(n, align) : -1;
}

// Debug mode: a page of a freed large block was filled (its first word says so) and must still
// be; fresh pages read as zero and are not checked.
// A page of a block handed out again is either fresh (never handed out: all zero) or freed
// (all fill): anything else was written after the free. A page is judged by its first word,
// then checked whole, so a late write at a page's start (a frame's header) is seen too.
// Whether the IOVAs of [p, p + bytes) follow each other: checked at every 2 MiB boundary inside
// (physical pages may be contiguous in pairs and not beyond) and at the last byte.
bool iova_contiguous(char* p, std::size_t bytes) {
  std::uint64_t base = page::iova_lookup(p);
  std::size_t first = os::k2M - reinterpret_cast<std::uintptr_t>(p) % os::k2M;
  for (std::size_t off = first; off < bytes; off += os::k2M)
    if (page::iova_lookup(p + off) != base + off) return false;
  return page::iova_lookup(p + bytes - 1) == base + bytes - 1;
}

void verify_large(void* p, std::size_t bytes) {
  auto* w = static_cast<const std::uint64_t*>(p);
  for (std::size_t page = 0; page < bytes / 8; page += os::kPageSize / 8) {
    std::uint64_t expect = w[page] == 0 ? 0 : kLargeFill;
    for (std::size_t i = page; i < page + os::kPageSize / 8; ++i)
      if (w[i] != expect) slab::report_large_write_after_free(p, bytes, i * 8);
  }
}

void* alloc_large(DmaHeap& h, std::size_t n, std::size_t align, bool* zeroed) {
  if (n > page::kArenaSize / 2) {
    errno = ENOMEM;
    return nullptr;
  }
  std::size_t pages = pages_for(n ? n : 1);
  std::size_t align_pages = align > os::kPageSize ? align >> page::kPageShift : 1;
  // A block this thread freed into its heap's large-block cache (large_cache.h), as the malloc
  // does: no page-heap lock for a loop of 64 KiB buffers.
  slab::ThreadHeap* th = thread_heap(h);
  if (!th) th = thread_heap_slow(h);  // null while the thread exits: no cache then
  if (th && align_pages == 1 && !h.debug) {
    if (void* kept = th->large_cache.take(static_cast<std::uint32_t>(pages))) return kept;
  }
  void* p = h.pages.alloc(pages, align_pages, page::PageKind::Large, 0, zeroed);
  if (!p) return nullptr;
  std::size_t bytes = pages << page::kPageShift;
  // IOVA-contiguous? Always through an IOMMU (one mapping per arena); with physical addresses on
  // 2 MiB pages only within one page.
  if (!iova_contiguous(static_cast<char*>(p), bytes)) {
    h.pages.free(p, 0);
    errno = E2BIG;
    return nullptr;
  }
  if (h.debug) verify_large(p, bytes);
  return p;
}

void* alloc_small(DmaHeap& h, slab::ThreadHeap* th, int c) {
  void* p = th->alloc(c);
  if (p && h.debug) {
    auto* s = reinterpret_cast<slab::Slab*>(page::slab_base_of(p));
    slab::verify_freed(s, static_cast<slab::FreeObj*>(p));
  }
  return p;
}

__attribute__((noinline)) void* alloc_slow(DmaHeap& h, std::size_t n, std::size_t align, bool* zeroed) {
  if (!h.live()) {
    errno = EINVAL;
    return nullptr;
  }
  if (zeroed) *zeroed = false;
  int c = class_for(n, align);
  if (c < 0) return alloc_large(h, n, align, zeroed);
  slab::ThreadHeap* th = thread_heap(h);
  if (!th) th = thread_heap_slow(h);
  if (th) return alloc_small(h, th, c);
  if (errno) return nullptr;
  return with_exit_heap(h, [&](slab::ThreadHeap* t) { return alloc_small(h, t, c); });
}

[[noreturn]] void report(const void* p, const char* why, const slab::Slab* s = nullptr) {
  slab::report_invalid_pointer(p, "hm_dma_free", why, s);
}

__attribute__((noinline)) void free_slow(void* p) {
  std::uintptr_t e = page::registry_entry(p);
  page::Arena* a = e ? page::registry_arena(e) : nullptr;
  DmaHeap* h = a ? of_page_heap(a->heap()) : nullptr;
  if (!h) report(p, "not memory of a DMA heap");
  const page::PageDesc* d = page::desc_in(e, p);
  if (d->kind == page::PageKind::Slab) {
    auto* s = reinterpret_cast<slab::Slab*>(page::slab_base_of(p));
    auto* o = static_cast<slab::FreeObj*>(p);
    if (!s->contains_object(p)) report(p, "not the start of an object", s);
    if (slab::looks_free(s, o)) slab::report_double_free(p, s);
    if (h->debug) slab::fill_freed(s, o);
    slab::ThreadHeap* th = thread_heap(*h);
    (th ? th : &slab::g_orphan)->free(s, o);  // the orphan owns nothing: a remote free
    return;
  }
  if (d->kind != page::PageKind::Large || reinterpret_cast<std::uintptr_t>(p) % os::kPageSize != 0 ||
      __atomic_load_n(&d->tag, __ATOMIC_RELAXED) == slab::kCachedTag)
    report(p, "not the start of a live block (double free?)");
  auto pages = static_cast<std::uint32_t>(d->count);
  if (!h->debug) {
    if (slab::ThreadHeap* th = thread_heap(*h); th && th->large_cache.keep(p, pages)) return;
  } else {
    auto* w = static_cast<std::uint64_t*>(p);
    std::size_t words = (std::size_t{pages} << page::kPageShift) / 8;
    for (std::size_t i = 0; i < words; ++i) w[i] = kLargeFill;
  }
  if (!h->pages.free(p, 0)) report(p, "not the start of a live block (double free?)");
}

}  // namespace
}  // namespace hm::dma

using namespace hm;

// The fast path: the calling thread's heap for this DMA heap, a class from the table, a pop.
HM_EXPORT void* hm_dma_malloc(hm_dma_heap* heap, std::size_t n) noexcept {
  dma::DmaHeap& h = *dma::from(heap);
  slab::ThreadHeap* th = dma::fast_heap(static_cast<unsigned>(h.index));
  if (__builtin_expect(th != nullptr, 1)) {
    if (__builtin_expect(n <= slab::kTableMax, 1)) return th->alloc_small(n);
    if (n <= slab::kSmallMax) return th->alloc(slab::class_of_calc(n), n);
  }
  return dma::alloc_slow(h, n, 1, nullptr);
}

HM_EXPORT void* hm_dma_calloc(hm_dma_heap* heap, std::size_t count, std::size_t size) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  bool zeroed = false;
  void* p = dma::alloc_slow(*dma::from(heap), n, 1, &zeroed);
  if (p && !zeroed) std::memset(p, 0, n);
  return p;
}

HM_EXPORT void* hm_dma_memalign(hm_dma_heap* heap, std::size_t align, std::size_t n) noexcept {
  if (!align || (align & (align - 1)) != 0 || align > page::kArenaSize / 2) {
    errno = EINVAL;
    return nullptr;
  }
  return dma::alloc_slow(*dma::from(heap), n, align, nullptr);
}

// A valid object of a live DMA heap's slab goes back inline; the rest (large blocks, misuse to
// report, debug heaps) one call away.
HM_EXPORT void hm_dma_free(void* p) noexcept {
  // The masked arena lookup of the malloc's free (page/registry.h): an aliased pointer above
  // 2^47 is never an object start of the slab its descriptor names, which is checked below.
  std::uintptr_t e = page::arena_entry_masked(p);
  if (__builtin_expect(e != 0, 1)) {
    const page::PageDesc* d = page::desc_in(e, p);
    if (__builtin_expect(d->kind == page::PageKind::Slab, 1)) {
      auto* s = reinterpret_cast<slab::Slab*>(d->slab_base());
      auto* o = static_cast<slab::FreeObj*>(p);
      unsigned index = s->node - static_cast<unsigned>(page::kFirstDmaDomain);  // a DMA heap's slot, if < kMaxHeaps
      if (__builtin_expect(index < dma::kMaxHeaps && s->contains_object(p) && !slab::looks_free(s, o), 1)) {
        slab::ThreadHeap* th = dma::fast_heap(index);
        if (__builtin_expect(th != nullptr, 1)) {
          if (s->owner.load(std::memory_order_relaxed) == th) return th->local_free(s, o);
          return slab::ThreadHeap::remote_free(s, o, th);
        }
      }
    }
  }
  if (p) dma::free_slow(p);
}

HM_EXPORT std::size_t hm_dma_usable_size(const void* p) noexcept {
  std::uintptr_t e = page::registry_entry(p);
  page::Arena* a = e ? page::registry_arena(e) : nullptr;
  if (!a || !dma::of_page_heap(a->heap())) return 0;
  if (std::uintptr_t s = page::slab_base_of(p)) return reinterpret_cast<slab::Slab*>(s)->size;
  const page::PageDesc* d = page::desc_in(e, p);
  return d->kind == page::PageKind::Large ? std::size_t{d->count} << page::kPageShift : 0;
}
