// The malloc family. Built twice: into libhugemem.a as the hm_* functions only, and into
// libhugemem.so with HUGEMEM_OVERRIDE, where the C library's names are aliases of the same code
// (no extra call or PLT hop on the fast path).
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "api/block.h"
#include "api/export.h"
#include "api/runtime.h"
#include "api/secure.h"
#include "hugemem/hugemem.h"
#include "page/direct.h"
#include "page/heap.h"
#include "slab/free.h"
#include "slab/thread_heap.h"
#include "slab/node.h"
#include "slab/report.h"


namespace hm::api {
namespace {

using slab::kSmallMax;
using slab::ThreadHeap;

// Beyond this a block gets its own mapping instead of arena pages.
constexpr std::size_t kDirectThreshold = std::size_t{128} << 20;
constexpr std::size_t kMaxRequest = PTRDIFF_MAX;

std::size_t pages_for(std::size_t n) { return (n + os::kPageSize - 1) >> page::kPageShift; }

// Frees never make a heap: a thread whose heap was released at its exit (glibc frees its
// per-thread buffers after the destructors ran) or that could not get one frees through the
// orphan heap, which owns nothing and allocates nothing.
ThreadHeap* heap_for_free() {
  if (ThreadHeap* h = t_own_heap) return h;
  if (t_exited) return &slab::g_orphan;
  ThreadHeap* h = heap_slow();
  return h ? h : &slab::g_orphan;
}

// Runs alloc(h) on the heap the calling thread allocates from: its own (made on first use), or,
// once its heap was released at its exit, the shared exit heap under its lock.
template <class Alloc>
void* on_alloc_heap(Alloc alloc) {
  if (ThreadHeap* h = t_own_heap) return alloc(h);
  if (t_exited) {
    ThreadHeap* h = slab::lock_exit_heap();
    if (!h) return nullptr;
    void* p = alloc(h);
    slab::unlock_exit_heap();
    return p;
  }
  ThreadHeap* h = heap_slow();
  return h ? alloc(h) : nullptr;
}

void* alloc_large(ThreadHeap* h, std::size_t n, std::size_t align, bool* zeroed) {
  if (n > kMaxRequest) {
    errno = ENOMEM;
    return nullptr;
  }
  if (n > kDirectThreshold || align > kDirectThreshold) {
    void* p = page::direct_alloc(n, align);
    if (!p) return nullptr;
    if (zeroed) *zeroed = true;
    slab::count_large(h, static_cast<std::int64_t>(page::registry_direct(page::registry_entry(p))->usable));
    return p;
  }
  std::size_t pages = pages_for(n);
  std::size_t align_pages = align > os::kPageSize ? align >> page::kPageShift : 1;
  if (align_pages == 1 && !slab::g_checked) {
    if (void* kept = h->large_cache.take(static_cast<std::uint32_t>(pages))) {
      page::PageHeap::of_node(h->node).tick();  // the page heap was not called: its epoch may be over
      if (zeroed) *zeroed = false;
      slab::count_large(h, static_cast<std::int64_t>(pages << page::kPageShift));
      secure::note_large_alloc(kept, pages << page::kPageShift);
      return kept;
    }
  }
  int saved = errno;
  void* p = page::PageHeap::of_node(h->node).alloc(pages, align_pages, page::PageKind::Large, 0, zeroed);
  if (p) {
    slab::count_large(h, static_cast<std::int64_t>(pages << page::kPageShift));
    secure::note_large_alloc(p, pages << page::kPageShift);
    return p;
  }
  // No arena can hold it and none can be mapped (an address-space limit leaves room only for
  // small arenas, or the arena limit is reached): a mapping of its own, as glibc would.
  p = page::direct_alloc(n, align);
  if (!p) return nullptr;
  errno = saved;
  if (zeroed) *zeroed = true;
  slab::count_large(h, static_cast<std::int64_t>(page::registry_direct(page::registry_entry(p))->usable));
  return p;
}

// Clears [from, n) of a new large block p: by writing, except that whole pages of a range of
// 64 KiB or more go to the kernel, which zero-fills them when touched (pages the program never
// touches then cost nothing).
void clear_large(char* p, std::size_t from, std::size_t n) {
  std::size_t page_from = (from + os::kPageSize - 1) & ~(os::kPageSize - 1);
  if (n - from >= (std::size_t{64} << 10) && page_from < n &&
      os::decommit(p + page_from, (pages_for(n) << page::kPageShift) - page_from)) {
    n = page_from;
  }
  std::memset(p + from, 0, n - from);
}

// Secure mode's large blocks: 8 bytes more for the canary at the block's end (api/secure.h), a
// guard page before an arena block while the budget allows, and zeroed unless the page layer
// says they are: a block never hands out a freed one's data. The caller overwrites the first
// `keep` bytes itself (realloc), so they are not cleared.
void* alloc_large_secure(ThreadHeap* h, std::size_t n, std::size_t align, std::size_t keep = 0) {
  if (n > kMaxRequest - 8 - os::kPageSize) {
    errno = ENOMEM;
    return nullptr;
  }
  bool zeroed = false;
  void* p = nullptr;
  if (align <= os::kPageSize && n + 8 + os::kPageSize <= kDirectThreshold && secure::take_guard()) {
    void* with_guard = alloc_large(h, n + 8 + os::kPageSize, 1, &zeroed);
    p = with_guard ? secure::guard_front(with_guard) : nullptr;
    if (!p) {
      secure::put_guard();
      if (with_guard) {
        slab::count_large(h, -static_cast<std::int64_t>(pages_for(n + 8 + os::kPageSize) << page::kPageShift));
        page::Arena::of(with_guard)->heap()->free(with_guard, 0);
      }
    }
  }
  if (!p) p = alloc_large(h, n + 8, align, &zeroed);
  if (!p) return nullptr;
  if (!zeroed && keep < n) clear_large(static_cast<char*>(p), keep, n);
  secure::mark_large(p, n);
  return p;
}

// Every small allocation outside the fast path (and all of them in checked mode).
void* alloc_small(ThreadHeap* h, int c) {
  void* p = h->alloc(c);
  if (__builtin_expect(slab::g_checked, 0) && p) slab::verify_freed(resolve(p, "malloc").slab, static_cast<slab::FreeObj*>(p));
  return p;
}

// Secure mode's malloc(0): an inaccessible page of its own (api/secure.h), counted with the
// guards, or nullptr if the budget is spent or the page could not be had or protected (the
// caller then hands out a small object).
void* alloc_zero_size_secure(ThreadHeap* h) {
  if (!secure::take_guard()) return nullptr;
  void* p = alloc_large(h, os::kPageSize, 1, nullptr);
  if (p && secure::make_zero_size(p)) return p;
  secure::put_guard();
  if (p) {
    slab::count_large(h, -static_cast<std::int64_t>(os::kPageSize));
    page::Arena::of(p)->heap()->free(p, 0);
  }
  return nullptr;
}

// Secure mode's malloc; realloc passes as `keep` the bytes it copies into the block.
void* malloc_secure(std::size_t n, std::size_t keep) {
  return on_alloc_heap([n, keep](ThreadHeap* h) {
    if (n == 0) {
      if (void* p = alloc_zero_size_secure(h)) return p;
    }
    int c = secure::class_for(n, 1);
    return c >= 0 ? secure::alloc_small(h, c, n) : alloc_large_secure(h, n, 1, keep);
  });
}

__attribute__((noinline)) void* malloc_slow(std::size_t n) noexcept {
  if (__builtin_expect(secure::g_on, 0)) return malloc_secure(n, 0);
  return on_alloc_heap([n](ThreadHeap* h) {
    if (n <= kSmallMax) return alloc_small(h, slab::class_of(n));
    return alloc_large(h, n, 1, nullptr);
  });
}

// `moved`: realloc moved the block (its old copy is no use-after-free target worth a system
// call per step of a growing buffer).
void free_large(const Block& b, void* p, bool moved = false) {
  int saved = errno;  // munmap/madvise must not leak an errno out of free()
  ThreadHeap* h = heap_for_free();
  slab::count_large(h, -static_cast<std::int64_t>(b.usable));
  if (b.kind == Block::Direct) {
    page::direct_free(b.direct);
  } else if (!moved && !slab::g_checked && secure::quarantine_new_size(b, p)) {
    // inaccessible now, as glibc's unmapped block would be
  } else if (h != &slab::g_orphan && !slab::g_checked &&
             h->large_cache.keep(p, static_cast<std::uint32_t>(b.usable >> page::kPageShift))) {
    // kept for this thread's next allocation of the same size; the page heap was not called
    page::PageHeap::of_node(h->node).tick();
  } else if (!b.arena->heap()->free(p, 0)) {
    slab::report_invalid_pointer(p, "free", "not the start of a live block (double free?)");
  }
  errno = saved;
}

__attribute__((noinline)) void free_slow(void* p) noexcept {
  Block b = resolve(p, "free");
  if (__builtin_expect(secure::g_on, 0) && b.kind != Block::Direct) {
    int saved = errno;
    if (b.kind == Block::Large) slab::count_large(heap_for_free(), -static_cast<std::int64_t>(b.usable + b.guard));
    secure::free(b, p);
    errno = saved;
    return;
  }
  if (b.kind == Block::Small) {
    if (slab::g_checked) slab::fill_freed(b.slab, static_cast<slab::FreeObj*>(p));
    heap_for_free()->free(b.slab, static_cast<slab::FreeObj*>(p));
    return;
  }
  free_large(b, p);
}

constexpr slab::Unready kUnreadyHooks{malloc_slow, free_slow};

}  // namespace

constinit slab::ThreadHeap g_unready{&kUnreadyHooks};

namespace {

bool is_pow2(std::size_t a) { return a && (a & (a - 1)) == 0; }

void* aligned_impl(std::size_t align, std::size_t n) {
  if (align <= 16) return hm_malloc(n);
  if (n > kMaxRequest || align > kMaxRequest) {
    errno = ENOMEM;
    return nullptr;
  }
  return on_alloc_heap([align, n](ThreadHeap* h) {
    if (align <= os::kPageSize) {
      int c = secure::g_on ? secure::class_for(n, align) : slab::aligned_class(n, align);
      if (secure::g_on && c >= 0) return secure::alloc_small(h, c, n);
      if (c >= 0) return alloc_small(h, c);
    }
    if (secure::g_on) return alloc_large_secure(h, n ? n : 1, align);
    return alloc_large(h, n ? n : 1, align, nullptr);
  });
}

// The class (or page count) a block of n bytes at `align` was given, to check sized frees.
void check_size(void* p, std::size_t align, std::size_t n) {
  Block b = resolve(p, "free_sized");
  bool ok;
  if (b.kind == Block::Small) {
    int c = secure::g_on ? secure::class_for(n, align)
            : align <= 16 ? (n <= kSmallMax ? slab::class_of(n) : -1) : slab::aligned_class(n, align);
    ok = c == b.slab->cls;
  } else if (b.kind == Block::Large) {
    ok = pages_for((n ? n : 1) + (secure::g_on ? 8 : 0)) << page::kPageShift == b.usable;
  } else {
    // A direct mapping is its request (in secure mode 8 bytes more, as every large block)
    // rounded up to the next 2 MiB (page/direct.cpp).
    std::size_t m = (n ? n : 1) + (secure::g_on ? 8 : 0);
    ok = m <= b.usable && b.usable - m < os::k2M;
  }
  if (!ok) slab::report_size_mismatch(p, n, b.usable, b.slab);
}

}  // namespace
}  // namespace hm::api

using namespace hm;
using api::Block;

HM_EXPORT void* hm_malloc(std::size_t n) noexcept {
  slab::ThreadHeap* h = api::t_heap;  // never null (api/runtime.h)
  if (__builtin_expect(n <= slab::kTableMax, 1)) return h->alloc_small(n);
  if (n <= slab::kSmallMax) return h->alloc(slab::class_of_calc(n), n);
  return api::malloc_slow(n);
}

// A valid small object is freed inline (slab/free.h); everything else (large blocks, misuse to
// report, checked mode, a thread without a heap) is one tail call away.
HM_EXPORT void hm_free(void* p) noexcept {
  if (__builtin_expect(slab::free_fast(api::t_heap, p), 1)) return;
  if (p) api::free_slow(p);
}

HM_EXPORT void* hm_calloc(std::size_t count, std::size_t size) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (n <= slab::kSmallMax || api::secure::g_on) {
    void* p = hm_malloc(n);
    if (p) std::memset(p, 0, n);
    return p;
  }
  bool zeroed = false;
  void* p = api::on_alloc_heap([n, &zeroed](slab::ThreadHeap* h) { return api::alloc_large(h, n, 1, &zeroed); });
  if (p && !zeroed) std::memset(p, 0, n);
  return p;
}

HM_EXPORT void* hm_realloc(void* p, std::size_t n) noexcept {
  if (!p) return hm_malloc(n);
  if (n == 0) {  // glibc's behaviour: free and return NULL
    hm_free(p);
    return nullptr;
  }
  Block b = api::resolve(p, "realloc");
  if (__builtin_expect(api::secure::g_on, 0)) {  // always moves: the canary and quarantine see it all
    std::size_t old = api::secure::usable(b, p, "realloc");
    void* q = api::malloc_secure(n, n < old ? n : old);
    if (!q) return nullptr;
    std::memcpy(q, p, n < old ? n : old);
    hm_free(p);
    return q;
  }
  switch (b.kind) {
    case Block::Small:
      if (n <= slab::kSmallMax && slab::class_of(n) == b.slab->cls) return p;
      break;
    case Block::Large:
      if (n > slab::kSmallMax && n <= api::kDirectThreshold) {
        std::size_t pages = api::pages_for(n);
        if (pages << page::kPageShift == b.usable) return p;
        if (b.arena->heap()->resize(p, pages)) {
          slab::count_large(api::heap_for_free(),
                            static_cast<std::int64_t>(pages << page::kPageShift) - static_cast<std::int64_t>(b.usable));
          return p;
        }
      }
      break;
    case Block::Direct:
      if (n <= b.usable && n >= b.usable / 2) {  // shrinks in place, giving the tail back
        page::direct_shrink(b.direct, n);
        slab::count_large(api::heap_for_free(),
                          static_cast<std::int64_t>(b.direct->usable) - static_cast<std::int64_t>(b.usable));
        return p;
      }
      break;
  }
  void* q = hm_malloc(n);
  if (!q) return nullptr;  // p stays valid
  std::memcpy(q, p, n < b.usable ? n : b.usable);
  if (b.kind == Block::Small && !slab::g_checked) {
    // Onto its slab's remote list, not the freelist's head: the next malloc of its size does not
    // hand the block a dangling pointer may still name straight back (glibc grows in place);
    // the owner takes it when the slab runs dry. The owner may push there as any thread may.
    slab::ThreadHeap::remote_free(b.slab, static_cast<slab::FreeObj*>(p), api::heap_for_free());
  } else if (b.kind == Block::Small) {
    hm_free(p);
  } else {
    api::free_large(b, p, true);
  }
  return q;
}

HM_EXPORT void* hm_reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return hm_realloc(p, n);
}

HM_EXPORT void hm_free_sized(void* p, std::size_t size) noexcept {
  if (!p) return;
  api::check_size(p, 1, size);
  hm_free(p);
}

HM_EXPORT void hm_free_aligned_sized(void* p, std::size_t align, std::size_t size) noexcept {
  if (!p) return;
  api::check_size(p, align, size);
  hm_free(p);
}

HM_EXPORT void* hm_memalign(std::size_t align, std::size_t n) noexcept {
  if (!api::is_pow2(align)) {  // glibc rounds a non-power-of-two alignment up (0 means none)
    if (align == 0) return hm_malloc(n);
    if (align > (std::size_t{1} << 63)) {  // glibc: no power of two to round up to
      errno = EINVAL;
      return nullptr;
    }
    align = std::size_t{1} << (64 - __builtin_clzll(align));
  }
  return api::aligned_impl(align, n);
}

HM_EXPORT int hm_posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (!api::is_pow2(align) || align % sizeof(void*) != 0) return EINVAL;
  int saved = errno;
  void* p = api::aligned_impl(align, n);
  errno = saved;
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

HM_EXPORT void* hm_aligned_alloc(std::size_t align, std::size_t n) noexcept {
  if (!api::is_pow2(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return api::aligned_impl(align, n);
}

HM_EXPORT void* hm_valloc(std::size_t n) noexcept { return api::aligned_impl(os::kPageSize, n); }

HM_EXPORT void* hm_pvalloc(std::size_t n) noexcept {
  std::size_t rounded = (n + os::kPageSize - 1) & ~(os::kPageSize - 1);
  if (rounded < n) {
    errno = ENOMEM;
    return nullptr;
  }
  return api::aligned_impl(os::kPageSize, rounded ? rounded : os::kPageSize);
}

HM_EXPORT std::size_t hm_usable_size(const void* p) noexcept {
  if (!p) return 0;
  Block b = api::resolve(p, "malloc_usable_size");
  return __builtin_expect(api::secure::g_on, 0) ? api::secure::usable(b, p, "malloc_usable_size") : b.usable;
}

HM_EXPORT int hm_trim(std::size_t) noexcept {
  int saved = errno;
  if (slab::ThreadHeap* h = api::t_own_heap) h->drain_pending();
  api::secure::flush();  // secure mode's quarantines, or the default mode's of large blocks
  slab::flush_large_caches();
  std::size_t got = 0;
  for (int n = 0; n < page::kMaxNodes; ++n) got += slab::NodeSlabs::of(n).trim();
  got += page::trim_all();
  errno = saved;
  return got > 0;
}

HM_EXPORT int hm_owns(const void* p) noexcept {
  std::uintptr_t e = page::registry_entry(p);
  if (!e) return 0;
  if (page::DirectHeader* d = page::registry_direct(e)) return d->magic == page::kDirectMagic && d->user == p;
  if (slab::Slab* s = slab::slab_of(p))
    return s->contains_object(p) && !slab::looks_free(s, static_cast<const slab::FreeObj*>(p)) &&
           !(api::secure::g_on && api::secure::quarantined(p));
  const page::PageDesc* d = page::desc_in(e, p);
  if (d->kind == page::PageKind::Unused && api::secure::g_on) {  // a block after its guard page
    const page::PageDesc* h = api::secure::guarded_head(reinterpret_cast<page::Arena*>(e), p);
    return h && __atomic_load_n(&h->tag, __ATOMIC_RELAXED) == api::secure::kGuardedTag;
  }
  return d->kind == page::PageKind::Large && reinterpret_cast<std::uintptr_t>(p) % os::kPageSize == 0 &&
         (__atomic_load_n(&d->tag, __ATOMIC_RELAXED) == 0 ||  // not kept (kCachedTag) or quarantined
          __atomic_load_n(&d->tag, __ATOMIC_RELAXED) == api::secure::kAboveThresholdTag ||
          (api::secure::g_on && __atomic_load_n(&d->tag, __ATOMIC_RELAXED) == api::secure::kZeroSizeTag));
}

#ifdef HUGEMEM_OVERRIDE
// The C library's names, as aliases of the functions above.
#define HM_ALIAS(name, target) HM_EXPORT __typeof__(target) name __attribute__((alias(#target)))
HM_ALIAS(malloc, hm_malloc);
HM_ALIAS(free, hm_free);
HM_ALIAS(cfree, hm_free);
HM_ALIAS(calloc, hm_calloc);
HM_ALIAS(realloc, hm_realloc);
HM_ALIAS(reallocarray, hm_reallocarray);
HM_ALIAS(free_sized, hm_free_sized);
HM_ALIAS(free_aligned_sized, hm_free_aligned_sized);
HM_ALIAS(memalign, hm_memalign);
HM_ALIAS(posix_memalign, hm_posix_memalign);
HM_ALIAS(aligned_alloc, hm_aligned_alloc);
HM_ALIAS(valloc, hm_valloc);
HM_ALIAS(pvalloc, hm_pvalloc);
HM_ALIAS(malloc_usable_size, hm_usable_size);
HM_ALIAS(malloc_trim, hm_trim);
HM_ALIAS(__libc_malloc, hm_malloc);
HM_ALIAS(__libc_free, hm_free);
HM_ALIAS(__libc_calloc, hm_calloc);
HM_ALIAS(__libc_realloc, hm_realloc);
HM_ALIAS(__libc_memalign, hm_memalign);
HM_ALIAS(__libc_valloc, hm_valloc);
HM_ALIAS(__libc_pvalloc, hm_pvalloc);
HM_ALIAS(__posix_memalign, hm_posix_memalign);
#endif
