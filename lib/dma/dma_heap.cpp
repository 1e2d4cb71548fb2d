// DMA heaps: creation and destruction, the page-layer hooks that map arenas for the device, and
// the C API of a heap's life (hm_dma_heap_*).
#include "dma/dma_heap.h"

#include <cerrno>
#include <cstring>
#include <new>

#include "api/export.h"
#include "api/runtime.h"
#include "dma/thread.h"
#include "page/iova_map.h"

namespace hm::dma {

DmaHeap g_heaps[kMaxHeaps];
DmaHeap g_dead;  // never created: its index stays kMaxHeaps
page::SpinLock g_lock;

namespace {

__thread char t_error[256];  // hm_dma_last_error

void set_error(const char* s) {
  std::size_t n = std::strlen(s);
  if (n >= sizeof t_error) n = sizeof t_error - 1;
  std::memcpy(t_error, s, n);
  t_error[n] = 0;
}

void publish(DmaHeap& h, bool on) {
  page::g_dma_page_heaps[h.index].store(on ? &h.pages : nullptr, std::memory_order_release);
  slab::g_dma_slabs[h.index].store(on ? &h.slabs : nullptr, std::memory_order_release);
  slab::g_fill_domain[h.domain()] = on && h.debug;
}

}  // namespace

bool DmaHeap::arena_mapped(page::Arena* a) {
  char* va = a->base() + kDeviceOffset;
  if (physical) {
    if (!map_physical(va, os::backing_granule(a->backing()))) return false;
  } else {
    std::uint64_t iova = 0;
    if (mapper.map(mapper.ctx, va, kDeviceBytes, &iova) != 0) {
      why = {};
      why << "hugemem: DMA heap '" << name << "': the mapper could not map an arena for the device";
      why_errno = EIO;
      return false;
    }
    if (!page::iova_map_set(va, kDeviceBytes, iova)) {
      mapper.unmap(mapper.ctx, va, kDeviceBytes, iova);
      why = {};
      why << "hugemem: DMA heap '" << name << "': no memory for the IOVA tables";
      why_errno = ENOMEM;
      return false;
    }
  }
  if (maps == 0) first_backing = a->backing();
  ++arenas;
  ++maps;
  return true;
}

// IOVA = physical address, per hugepage (each is physically contiguous; two neighbours need not
// be). The pages are faulted in first: a physical address means something only for a present
// page, and a hugetlb page, once present, is neither swapped nor moved.
bool DmaHeap::map_physical(char* va, std::size_t granule) {
  std::size_t step = granule < kDeviceBytes ? granule : kDeviceBytes;
  os::populate(va, kDeviceBytes);
  for (std::size_t off = 0; off < kDeviceBytes; off += step) {
    std::uint64_t pa = os::virt_to_phys(va + off);
    if (!pa || !page::iova_map_set(va + off, step, pa)) {
      page::iova_map_clear(va, off);
      why = {};
      why << "hugemem: DMA heap '" << name << "': "
          << (pa ? "no memory for the IOVA tables"
                 : "no physical address from /proc/self/pagemap (IOVA = physical address needs root)");
      why_errno = pa ? ENOMEM : EPERM;
      return false;
    }
  }
  return true;
}

void DmaHeap::arena_unmapping(page::Arena* a) {
  char* va = a->base() + kDeviceOffset;
  std::uint64_t iova = page::iova_lookup(va);
  page::iova_map_clear(va, kDeviceBytes);
  if (!physical && mapper.unmap(mapper.ctx, va, kDeviceBytes, iova) != 0) {
    // With VFIO the pages stay pinned until the container lets go of them, so the OS cannot
    // reuse them under the device; say so and go on.
    os::Message m;
    m << "hugemem: DMA heap '" << name << "': the mapper could not unmap the arena at " << static_cast<void*>(va)
      << " (IOVA 0x";
    m.hex(iova) << ") from the device";
    m.write_to_stderr();
  }
  --arenas;
  ++unmaps;
}

DmaHeap* of_page_heap(const page::PageHeap* p) {
  // The slots' page heaps lie sizeof(DmaHeap) apart in g_heaps: arithmetic, not a search.
  auto off = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(&g_heaps[0].pages);
  if (off >= sizeof g_heaps || off % sizeof(DmaHeap) != 0) return nullptr;
  return &g_heaps[off / sizeof(DmaHeap)];
}

namespace {

DmaHeap* create(const hm_dma_heap_config& c) {
  t_error[0] = 0;
  if ((c.pages != HM_DMA_PAGES_1G && c.pages != HM_DMA_PAGES_2M) || c.node < -1 ||
      c.node >= os::machine().numa_nodes || (c.mapper && (!c.mapper->map || !c.mapper->unmap))) {
    set_error("hugemem: hm_dma_heap_create: invalid configuration (pages, node or mapper)");
    errno = EINVAL;
    return nullptr;
  }
  // The malloc's initialisation (freelist key, options) and the thread-exit handler come first.
  if (!api::t_own_heap && !api::heap_slow()) {
    set_error("hugemem: hm_dma_heap_create: no memory for the thread's heap");
    return nullptr;
  }
  page::LockGuard g(g_lock);
  DmaHeap* slot = nullptr;
  for (DmaHeap& h : g_heaps) {
    if (!h.live()) {
      slot = &h;
      break;
    }
  }
  if (!slot) {
    set_error("hugemem: hm_dma_heap_create: 64 DMA heaps exist already; destroy one first");
    errno = ENOSPC;
    return nullptr;
  }
  DmaHeap& h = *slot;
  h.index = static_cast<int>(slot - g_heaps);
  new (&h.slabs) slab::NodeSlabs;
  new (&h.pages) page::PageHeap;
  page::DmaPolicy policy;
  policy.hooks = &h;
  policy.best = c.pages == HM_DMA_PAGES_2M ? os::Backing::Huge2M : os::Backing::Huge1G;
  policy.worst = os::Backing::Huge2M;
  policy.node = c.node;
  policy.max_arenas = c.max_arenas ? c.max_arenas : 4;
  h.pages.set_dma(policy);
  h.debug = c.debug != 0;
  h.physical = c.mapper == nullptr;
  h.mapper = c.mapper ? *c.mapper : hm_dma_mapper{};
  std::strncpy(h.name, c.name ? c.name : "dma", sizeof h.name - 1);
  h.name[sizeof h.name - 1] = 0;
  h.arenas = h.maps = h.unmaps = 0;
  h.why = {};
  h.why_errno = 0;
  publish(h, true);
  h.gen.fetch_add(1, std::memory_order_relaxed);  // odd: live
  install_exit_hook();
  // The first arena now: a heap that cannot have one fails here, saying why.
  void* first = h.pages.alloc(1, 1, page::PageKind::Large, 0, nullptr);
  if (!first) {
    int e = h.why_errno;
    if (h.why.size()) {
      set_error(h.why.c_str());
    } else {
      os::Message m;
      m << "hugemem: DMA heap '" << h.name << "': no free " << (c.pages == HM_DMA_PAGES_2M ? "" : "1 GiB or ")
        << "2 MiB hugepages for its first arena (1 GiB: one 1 GiB page or 512 2 MiB pages, e.g. "
           "echo 512 > /proc/sys/vm/nr_hugepages); DMA memory never uses THP or 4 KiB pages";
      set_error(m.c_str());
      e = ENOMEM;
    }
    publish(h, false);
    h.gen.fetch_add(1, std::memory_order_relaxed);
    errno = e;
    return nullptr;
  }
  h.pages.free(first, 0);
  return &h;
}

}  // namespace

void destroy(DmaHeap& h) {
  page::LockGuard g(g_lock);
  if (!h.live()) return;  // destroyed already, or a stale handle (g_dead)
  // Every thread's heap for h gives its slabs to h's domain; then the arenas go, blocks and
  // all, each unmapped from the device before the OS gets it back.
  release_thread_heaps(h);
  h.gen.fetch_add(1, std::memory_order_relaxed);  // even: not live
  h.pages.destroy_arenas();
  publish(h, false);
}

}  // namespace hm::dma

using namespace hm;

HM_EXPORT void hm_dma_heap_config_init(hm_dma_heap_config* c) noexcept {
  *c = hm_dma_heap_config{};
  c->name = "dma";
  c->pages = HM_DMA_PAGES_1G;
  c->node = -1;
  c->max_arenas = 4;
}

HM_EXPORT hm_dma_heap* hm_dma_heap_create(const hm_dma_heap_config* c) noexcept {
  if (!c) {
    errno = EINVAL;
    return nullptr;
  }
  return dma::to_c(dma::create(*c));
}

HM_EXPORT void hm_dma_heap_destroy(hm_dma_heap* h) noexcept {
  if (h) dma::destroy(*dma::from(h));
}

HM_EXPORT std::size_t hm_dma_heap_trim(hm_dma_heap* heap) noexcept {
  dma::DmaHeap& h = *dma::from(heap);
  if (slab::ThreadHeap* th = dma::thread_heap(h)) th->drain_pending();
  dma::flush_large_caches(h);
  h.slabs.trim();
  h.pages.lock();
  std::size_t before = h.arenas;
  h.pages.unlock();
  h.pages.trim();
  h.pages.lock();
  std::size_t after = h.arenas;
  h.pages.unlock();
  return before > after ? before - after : 0;
}

HM_EXPORT const char* hm_dma_heap_name(const hm_dma_heap* h) noexcept { return dma::from(h)->name; }

HM_EXPORT void hm_dma_heap_get_stats(const hm_dma_heap* heap, hm_dma_heap_stats* out) noexcept {
  auto& h = *const_cast<dma::DmaHeap*>(dma::from(heap));
  h.pages.lock();
  out->arenas = h.arenas;
  out->page_size = os::backing_granule(h.first_backing);
  out->maps = h.maps;
  out->unmaps = h.unmaps;
  h.pages.unlock();
}

HM_EXPORT const char* hm_dma_last_error(void) noexcept { return dma::t_error; }
