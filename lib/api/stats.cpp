// Statistics: hm_get_stats / hm_print_stats (malloc_stats) / mallinfo2, summed from the thread
// heaps' counters (each written only by its thread) and the page layer's.
#include <malloc.h>

#include <cerrno>
#include <cstdio>

#include "api/export.h"
#include "api/runtime.h"
#include "hugemem/hugemem.h"
#include "os/env.h"
#include "page/desc.h"
#include "page/heap.h"
#include "slab/thread_heap.h"


namespace hm::api {
namespace {

struct Totals {
  std::int64_t live_objects[slab::kClasses] = {};
  std::int64_t small_bytes = 0;
  std::int64_t large_bytes = 0;
};

// The counters are plain words their threads write without synchronisation: read them as
// volatile, and keep ThreadSanitizer out of this deliberately racy reader.
__attribute__((no_sanitize("thread"))) Totals totals() {
  Totals t;
  slab::lock_heaps();
  auto add = [&t](slab::ThreadHeap* h) {
    for (int c = 0; c < slab::kClasses; ++c) t.live_objects[c] += *static_cast<volatile std::int64_t*>(&h->live[c]);
    t.large_bytes += *static_cast<volatile std::int64_t*>(&h->large_bytes);
  };
  for (slab::ThreadHeap* h = slab::all_heaps(); h; h = h->all_next) add(h);
  add(&slab::g_orphan);
  slab::unlock_heaps();
  for (int c = 0; c < slab::kClasses; ++c)
    t.small_bytes += t.live_objects[c] * static_cast<std::int64_t>(slab::class_size(c));
  return t;
}

std::size_t clamp(std::int64_t v) { return v < 0 ? 0 : static_cast<std::size_t>(v); }

}  // namespace
}  // namespace hm::api

using namespace hm;

HM_EXPORT void hm_get_stats(struct hm_stats* out) noexcept {
  api::Totals t = api::totals();
  page::PageStats ps = page::page_stats();
  constexpr std::size_t kUsable = (page::kArenaPages - page::kFirstUsablePage) * os::kPageSize;
  out->allocated = api::clamp(t.small_bytes + t.large_bytes);
  out->active = ps.arenas * kUsable - ps.free_bytes + ps.direct;
  out->mapped = ps.mapped;
  out->resident_free = ps.dirty_free;
  out->released = ps.released;
  out->arenas = ps.arenas;
  for (int b = 0; b < os::kBackingKinds; ++b) out->bytes_by_backing[b] = ps.by_backing[b];
}

void api::print_stats(int fd) {
  int saved = errno;
  hm_stats s;
  hm_get_stats(&s);
  api::Totals t = api::totals();
  page::PageStats ps = page::page_stats();
  {
    os::Message m;
    m << "hugemem: allocated " << s.allocated << " B, active " << s.active << " B, mapped " << s.mapped
      << " B in " << s.arenas << " arenas (+" << ps.direct << " B direct), free not yet released "
      << s.resident_free << " B, released " << s.released << " B";
    m.write_to(fd);
  }
  {
    os::Message m;
    m << "hugemem: arena backing:";
    for (int b = 0; b < os::kBackingKinds; ++b) {
      if (s.bytes_by_backing[b]) m << ' ' << os::backing_name(static_cast<os::Backing>(b)) << '=' << s.bytes_by_backing[b];
    }
    m << "; free blocks per order:";
    for (int o = 0; o <= page::kMaxOrder; ++o) {
      if (ps.free_blocks[o]) m << ' ' << o << ':' << ps.free_blocks[o];
    }
    m.write_to(fd);
  }
  os::Message m;
  m << "hugemem: live objects per class (size:count):";
  for (int c = 0; c < slab::kClasses; ++c) {
    if (t.live_objects[c]) m << ' ' << slab::class_size(c) << ':' << t.live_objects[c];
  }
  m.write_to(fd);
  errno = saved;
}

HM_EXPORT void hm_print_stats(void) noexcept { api::print_stats(2); }

#ifdef HUGEMEM_OVERRIDE
HM_EXPORT struct mallinfo2 mallinfo2(void) noexcept {
  hm_stats s;
  hm_get_stats(&s);
  page::PageStats ps = page::page_stats();
  struct mallinfo2 mi = {};
  mi.arena = ps.mapped - ps.direct;
  mi.hblks = ps.direct ? 1 : 0;
  mi.hblkhd = ps.direct;
  mi.uordblks = s.allocated;
  mi.fordblks = ps.free_bytes;
  mi.keepcost = ps.dirty_free;
  for (std::size_t n : ps.free_blocks) mi.ordblks += n;
  return mi;
}

HM_EXPORT struct mallinfo mallinfo(void) noexcept {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi = {};
  auto narrow = [](std::size_t v) { return static_cast<int>(v > 0x7fffffff ? 0x7fffffff : v); };
  mi.arena = narrow(m2.arena);
  mi.ordblks = narrow(m2.ordblks);
  mi.hblks = narrow(m2.hblks);
  mi.hblkhd = narrow(m2.hblkhd);
  mi.uordblks = narrow(m2.uordblks);
  mi.fordblks = narrow(m2.fordblks);
  mi.keepcost = narrow(m2.keepcost);
  return mi;
}

HM_EXPORT void malloc_stats(void) noexcept { hm_print_stats(); }

// Tuning knobs of glibc's allocator do not apply; accepted and ignored, as other allocators do.
HM_EXPORT int mallopt(int, int) noexcept { return 1; }

// glibc's XML report in glibc's shape, with hugemem's figures: the free blocks per buddy order
// as the size buckets, arena and direct bytes as the system totals.
HM_EXPORT int malloc_info(int options, FILE* fp) noexcept {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  hm_stats s;
  hm_get_stats(&s);
  page::PageStats ps = page::page_stats();
  std::fprintf(fp, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  std::size_t blocks = 0;
  for (int o = 0; o <= page::kMaxOrder; ++o) {
    if (!ps.free_blocks[o]) continue;
    std::size_t size = os::kPageSize << o;
    blocks += ps.free_blocks[o];
    std::fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", size, size,
                 size * ps.free_blocks[o], ps.free_blocks[o]);
  }
  std::fprintf(fp,
               "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
               "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
               "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
               "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n"
               "<total type=\"mmap\" count=\"%d\" size=\"%zu\"/>\n"
               "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
               "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
               blocks, ps.free_bytes, s.mapped, s.mapped, s.mapped, s.mapped, ps.direct ? 1 : 0, ps.direct, s.mapped,
               s.mapped, s.mapped, s.mapped);
  return 0;
}

HM_EXPORT __typeof__(mallinfo) __libc_mallinfo __attribute__((alias("mallinfo")));
HM_EXPORT __typeof__(mallopt) __libc_mallopt __attribute__((alias("mallopt")));
#endif
