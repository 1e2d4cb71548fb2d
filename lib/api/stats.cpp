// Statistics: hm_get_stats / hm_print_stats (malloc_stats) / hm_stats_print / mallinfo2 /
// malloc_info, summed from the slabs' own counts of objects in use, the thread heaps' large-
// block counters (each written only by its thread) and the page layer's. Nothing here is on an
// allocation path, and no allocation path pays for it.
//
// Three measures of memory, kept apart everywhere they are reported:
//  - reserved:  the address space of arenas and direct mappings (an arena reserves 1 GiB and
//               touches what it hands out);
//  - committed: what hugemem has handed out or keeps after a free: pages in blocks (active) plus
//               free pages not yet given back (resident_free);
//  - resident:  what of hugemem's mappings is in RAM now, asked of the kernel with mincore().
#include <malloc.h>

#include <cerrno>
#include <cstdio>

#include "api/export.h"
#include "api/runtime.h"
#include "api/secure.h"
#include "hugemem/hugemem.h"
#include "os/env.h"
#include "page/desc.h"
#include "page/heap.h"
#include "page/registry.h"
#include "slab/thread_heap.h"


namespace hm::api {
namespace {

struct Totals {
  std::int64_t live_objects[slab::kClasses] = {};
  std::int64_t small_bytes = 0;
  std::int64_t large_bytes = 0;
};

// The counters are plain words their threads write without synchronisation: read them as
// volatile, and keep ThreadSanitizer out of these deliberately racy readers (named functions:
// a lambda would be instrumented).
__attribute__((no_sanitize("thread"))) void add_heap(Totals& t, const slab::ThreadHeap* h) {
  t.large_bytes += *static_cast<const volatile std::int64_t*>(&h->large_bytes);
}

// A slab's objects in use: its `used` less the remote frees not yet collected (R's length), read
// while its owner may be changing them, and bounded by what its pages hold should the header not
// be written yet (a slab carved a moment ago).
__attribute__((no_sanitize("thread"))) void add_slab(Totals& t, void* base, std::uint32_t pages, std::uint8_t cls) {
  if (cls >= slab::kClasses) return;
  auto* s = static_cast<slab::Slab*>(base);
  std::int64_t used = *static_cast<const volatile std::uint32_t*>(&s->used);
  used -= static_cast<std::int64_t>(slab::list_length(s->remote.load(std::memory_order_relaxed)));
  auto room = static_cast<std::int64_t>((std::size_t{pages} << page::kPageShift) / slab::class_size(cls));
  t.live_objects[cls] += used < 0 ? 0 : used < room ? used : room;
}

__attribute__((no_sanitize("thread"))) Totals totals() {
  Totals t;
  slab::lock_heaps();
  for (slab::ThreadHeap* h = slab::all_heaps(); h; h = h->all_next) add_heap(t, h);
  add_heap(t, &slab::g_orphan);
  slab::unlock_heaps();
  for (int n = 0; n < page::kMaxNodes; ++n)
    page::PageHeap::of_node(n).visit_slabs([&t](void* base, std::uint32_t pages, std::uint8_t cls) { add_slab(t, base, pages, cls); });
  for (int c = 0; c < slab::kClasses; ++c)
    t.small_bytes += t.live_objects[c] * static_cast<std::int64_t>(slab::class_size(c));
  return t;
}

std::size_t clamp(std::int64_t v) { return v < 0 ? 0 : static_cast<std::size_t>(v); }


struct Mappings {
  std::size_t resident = 0;  // bytes
  std::size_t direct_count = 0;
};

// One pass over the registry (one word per GiB of address space): every arena, and every direct
// mapping (its slots hold the same word; the first is where it starts). No lock: arenas and
// direct mappings that come and go meanwhile are counted or not, and never dereferenced. A
// truncated arena (page/arena.h) ends before its slot does; the scan of a slot stops at its
// first unmapped page.
Mappings walk_mappings(bool resident) {
  Mappings m;
  std::uintptr_t prev = 0;
  for (std::size_t slot = 0; slot < (std::size_t{1} << page::kRegistryBits); ++slot) {
    std::uintptr_t e = page::registry_slot(slot);
    bool first_of_direct = (e & 1) && e != prev;
    prev = e;
    if (!e) continue;
    if (first_of_direct) ++m.direct_count;
    if (resident) {
      bool ended = false;
      // A slot: an arena fills it (or its first part, truncated), a direct mapping fills it or
      // ends inside it; the first unmapped page (or an arena unmapped meanwhile) ends the scan.
      std::size_t pages = os::resident_pages(slot << page::kArenaShift, page::kArenaSize, std::size_t{16} << 20, &ended);
      m.resident += pages * os::kPageSize;
    }
  }
  return m;
}

}  // namespace
}  // namespace hm::api

using namespace hm;

HM_EXPORT void hm_get_stats(struct hm_stats* out) noexcept {
  api::Totals t = api::totals();
  page::PageStats ps = page::page_stats();
  out->allocated = api::clamp(t.small_bytes + t.large_bytes);
  // Large blocks in the default mode's quarantine are given back, though allocated to the page
  // layer (read apart from page_stats: clamped, should one leave in between).
  std::size_t quarantined = api::secure::decommitted_in_quarantine();
  std::size_t in_blocks = ps.usable - ps.free_bytes + ps.direct;
  out->active = in_blocks > quarantined ? in_blocks - quarantined : 0;
  out->mapped = ps.mapped;
  out->resident_free = ps.dirty_free;
  out->reserved = ps.mapped;
  out->committed = out->active + ps.dirty_free;
  out->resident = api::walk_mappings(true).resident;
  out->released = ps.released + quarantined;
  out->arenas = ps.arenas;
  for (int b = 0; b < os::kBackingKinds; ++b) out->bytes_by_backing[b] = ps.by_backing[b];
}

namespace hm::api {
namespace {

// Hands a finished line (newline added) to the output.
void emit(os::Message& m, hm_output_fn out, void* arg) {
  m << '\n';
  out(m.c_str(), arg);
}

void print_lines(hm_output_fn out, void* arg) {
  int saved = errno;
  hm_stats s;
  hm_get_stats(&s);
  Totals t = totals();
  page::PageStats ps = page::page_stats();
  {
    os::Message m;
    m << "hugemem: allocated " << s.allocated << " B, active " << s.active << " B, mapped " << s.mapped
      << " B in " << s.arenas << " arenas (+" << ps.direct << " B direct), free not yet released "
      << s.resident_free << " B, released " << s.released << " B";
    emit(m, out, arg);
  }
  {
    os::Message m;
    m << "hugemem: reserved " << s.reserved << " B (address space), committed " << s.committed
      << " B (in blocks or kept after free), resident " << s.resident << " B (in RAM now)";
    emit(m, out, arg);
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
    emit(m, out, arg);
  }
  os::Message m;
  m << "hugemem: live objects per class (size:count):";
  for (int c = 0; c < slab::kClasses; ++c) {
    if (t.live_objects[c]) m << ' ' << slab::class_size(c) << ':' << t.live_objects[c];
  }
  emit(m, out, arg);
  errno = saved;
}

// The output of print_stats(fd): each line with one write(2), as before.
void write_line(const char* line, void* arg) {
  std::size_t n = 0;
  while (line[n]) ++n;
  os::write_all(*static_cast<int*>(arg), line, n);
}

}  // namespace
}  // namespace hm::api

void api::print_stats(int fd) { api::print_lines(api::write_line, &fd); }

HM_EXPORT void hm_stats_print(hm_output_fn out, void* arg) noexcept {
  if (!out) {
    api::print_stats(2);
    return;
  }
  api::print_lines(out, arg);
}

HM_EXPORT void hm_print_stats(void) noexcept { api::print_stats(2); }

#ifdef HUGEMEM_OVERRIDE
// glibc's fields, as far as they map (reserved address space is in none of them):
//   arena     committed bytes in arenas (glibc: bytes obtained from the system by sbrk)
//   ordblks   free blocks on the buddy free lists
//   hblks     direct mappings (glibc: mmapped chunks), hblkhd their bytes
//   uordblks  bytes in live blocks; fordblks the rest of what is committed, so that
//             arena + hblkhd = uordblks + fordblks = committed
//   keepcost  free bytes not yet given back (what malloc_trim would release)
//   smblks, fsmblks, usmblks: 0 (no fastbins; usmblks is always 0 in glibc too)
HM_EXPORT struct mallinfo2 mallinfo2(void) noexcept {
  hm_stats s;
  hm_get_stats(&s);
  page::PageStats ps = page::page_stats();
  std::size_t committed = s.active + ps.dirty_free;
  struct mallinfo2 mi = {};
  mi.hblks = api::walk_mappings(false).direct_count;
  mi.hblkhd = ps.direct < committed ? ps.direct : committed;
  mi.arena = committed - mi.hblkhd;
  mi.uordblks = s.allocated < committed ? s.allocated : committed;
  mi.fordblks = committed - mi.uordblks;
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
// as the size buckets; "system" is what is committed, "aspace total" what is reserved; then one
// element of hugemem's own with the three measures apart.
HM_EXPORT int malloc_info(int options, FILE* fp) noexcept {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  hm_stats s;
  hm_get_stats(&s);
  page::PageStats ps = page::page_stats();
  std::size_t direct = api::walk_mappings(false).direct_count;
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
               "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n",
               blocks, ps.free_bytes, s.committed, s.committed, s.reserved, s.committed, static_cast<int>(direct),
               ps.direct, s.committed, s.committed, s.reserved, s.committed);
  // hugemem's own figures, which glibc's shape has no place for.
  std::fprintf(fp, "<hugemem allocated=\"%zu\" reserved=\"%zu\" committed=\"%zu\" resident=\"%zu\"/>\n</malloc>\n",
               s.allocated, s.reserved, s.committed, s.resident);
  return 0;
}

HM_EXPORT __typeof__(mallinfo) __libc_mallinfo __attribute__((alias("mallinfo")));
HM_EXPORT __typeof__(mallopt) __libc_mallopt __attribute__((alias("mallopt")));
#endif
