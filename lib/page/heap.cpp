#include "page/heap.h"

#include <atomic>
#include <cerrno>

#include "os/env.h"
#include "page/direct.h"
#include "page/domain.h"
#include "page/registry.h"

namespace hm::page {
namespace {

PageHeap g_heaps[kMaxNodes];
Config g_config;
std::atomic<std::size_t> g_arena_count{0};  // over all heaps: arena_limit is per process
// Set once an arena had to be truncated (arena.h): the process is short of address space.
std::atomic<bool> g_address_space_short{false};

std::size_t pages_of(std::size_t bytes) { return bytes >> kPageShift; }

}  // namespace

std::atomic<PageHeap*> g_dma_page_heaps[kMaxDmaDomains];

Config& config() { return g_config; }

void configure_from_env() {
  Config c;
  const os::MachineInfo& m = os::machine();
  if (m.thp == os::ThpMode::Never || m.thp == os::ThpMode::Unavailable) c.best = os::Backing::Small;
  // hugetlb pages only when asked for: a private hugetlb mapping can SIGBUS a forked child on its
  // first copy-on-write if the pool is empty, and the pool is often meant for someone else (a
  // packet pool, DPDK). HUGEMEM_PAGES=1g or 2m opts in; the arena falls back if none are free.
  // The words in os::Backing order; the option table (lib/os/env.cpp) documents them.
  static const char* const kPages[] = {"1g", "2m", "thp", "4k"};
  c.best = static_cast<os::Backing>(os::env_choice("HUGEMEM_PAGES", kPages, 4, static_cast<int>(c.best)));
  c.high = os::env_size("HUGEMEM_RELEASE_HIGH", c.high);
  c.low = os::env_size("HUGEMEM_RELEASE_LOW", c.high < c.low ? c.high : c.low);
  c.delay_ms = os::env_count("HUGEMEM_RELEASE_DELAY_MS", c.delay_ms);
  c.arena_limit = os::env_count("HUGEMEM_ARENA_LIMIT", c.arena_limit);
  c.segregate = os::env_flag("HUGEMEM_SEGREGATE", c.segregate);
  g_config = c;
}

PageHeap& PageHeap::of_node(int node) {
  if (is_dma_domain(node)) {
    if (PageHeap* h = g_dma_page_heaps[node - kFirstDmaDomain].load(std::memory_order_acquire)) return *h;
  }
  if (node < 0 || node >= kMaxNodes) node = 0;
  return g_heaps[node];
}

// A node heap's node is its index in g_heaps: derived, never stored, so looking a heap up writes
// nothing (threads on every node call of_node concurrently). A DMA heap's is its policy's.
int PageHeap::node() const { return is_dma() ? dma_.node : static_cast<int>(this - g_heaps); }

void* PageHeap::alloc(std::size_t pages, std::size_t align_pages, PageKind kind, std::uint8_t tag, bool* zeroed) {
  if (pages == 0 || pages > (kArenaPages >> 1)) {
    errno = ENOMEM;
    return nullptr;
  }
  int align_order = order_for_pages(align_pages);
  int saved = errno;  // a mapping that failed before another way succeeded leaves no ENOMEM
  LockGuard g(lock_);
  void* p = alloc_locked(pages, align_order, kind, tag, zeroed);
  if (p) errno = saved;
  // A heap that allocates without freeing still ends its epochs.
  maybe_release();
  return p;
}

// Large blocks are often touched sparsely (a 1 MiB buffer of which a few pages are used): on
// transparent huge pages each touched page of a fresh or released range faults in and clears a
// whole 2 MiB, which made a loop of large allocations 10-20x slower than glibc's and its
// resident memory 6x. Their arenas take 4 KiB pages unless hugetlb pages were asked for;
// slabs, dense by construction, keep THP (the TLB gain on a heap of small objects).
os::Backing PageHeap::backing_for(Lifetime life) {
  return life == kShort && g_config.best == os::Backing::THP ? os::Backing::Small : g_config.best;
}

PageHeap::Lifetime PageHeap::lifetime_of(PageKind k) {
  return k == PageKind::Large && g_config.segregate ? kShort : kLong;
}

void* PageHeap::alloc_from(Arena* list, std::uint32_t n, int align_order, PageKind kind, std::uint8_t tag, bool* zeroed) {
  for (Arena* a = list; a; a = a->next) {
    std::size_t dirty_before = a->dirty_page_count(), free_before = a->free_page_count();
    bool clean = false;
    std::uint32_t idx = a->alloc_pages(n, align_order, &clean, kind == PageKind::Large && !is_dma());
    if (idx == kNil) continue;
    dirty_ -= dirty_before - a->dirty_page_count();
    used_ += free_before - a->free_page_count();
    if (kind == PageKind::Slab) {
      auto base = reinterpret_cast<std::uintptr_t>(a->page(idx));
      for (std::uint32_t i = 0; i < n; ++i) a->desc(idx + i) = PageDesc::slab_page(base, idx, tag);
    } else {
      a->desc(idx) = PageDesc{kNil, kNil, n, kind, 0, 0, tag};
    }
    if (zeroed) *zeroed = clean;
    return a->page(idx);
  }
  return nullptr;
}

void* PageHeap::alloc_locked(std::size_t pages, int align_order, PageKind kind, std::uint8_t tag, bool* zeroed) {
  auto n = static_cast<std::uint32_t>(pages);
  Lifetime life = is_dma() ? kLong : lifetime_of(kind);
  Arena*& list = arenas_[life];
  for (;;) {
    if (void* p = alloc_from(list, n, align_order, kind, tag, zeroed)) return p;
    // Short of address space (an arena came out truncated), every arena serves both lifetimes
    // before another is mapped.
    if (g_address_space_short.load(std::memory_order_relaxed)) {
      if (void* p = alloc_from(arenas_[life == kLong ? kShort : kLong], n, align_order, kind, tag, zeroed)) return p;
    }
    Arena* a = nullptr;
    if (g_arena_count.fetch_add(1, std::memory_order_relaxed) < g_config.arena_limit) {
      if (!is_dma()) {
        a = Arena::create(backing_for(life), node(), this);
      } else if (arena_count_ < dma_.max_arenas) {
        // Reachable by the device before any page of it is handed out; if it cannot be, it goes.
        // Kept out of fork's children first: a fork makes a private mapping's pages
        // copy-on-write, and the parent's next write would move it off the pages the device
        // reaches (by physical address, unpinned) while hm_iova_of still names them.
        a = Arena::create(dma_.best, node(), this, dma_.worst);
        if (a && (!os::no_fork(a->base(), a->mapped_bytes()) || !dma_.hooks->arena_mapped(a))) {
          a->destroy();
          a = nullptr;
        }
      }
    }
    if (!a) {
      g_arena_count.fetch_sub(1, std::memory_order_relaxed);
      // No new arena (the limit, or the address space: ulimit -v): segregation is a preference,
      // so the other lifetime's arenas serve before the allocation fails.
      if (void* p = alloc_from(arenas_[life == kLong ? kShort : kLong], n, align_order, kind, tag, zeroed)) return p;
      break;
    }
    // Running out of hugetlb pages is worth one line; THP -> 4 KiB only happens when mmap
    // itself failed, and then the next allocation fails anyway.
    os::Backing best = is_dma() ? dma_.best : g_config.best;
    if (a->backing() != best && best <= os::Backing::Huge2M && !warned_fallback_) {
      warned_fallback_ = true;
      os::Message m;
      m << "hugemem: no " << os::backing_name(best) << " pages left; " << (is_dma() ? "DMA " : "")
        << "arenas now use " << os::backing_name(a->backing());
      m.write_to_stderr();
    }
    if (a->pages() < kArenaPages) g_address_space_short.store(true, std::memory_order_relaxed);
    ++arena_count_;
    registry_set(a, kArenaSize, reinterpret_cast<std::uintptr_t>(a));
    // Oldest arenas first: new ones fill last, so they are the ones that become empty.
    Arena** tail = &list;
    while (*tail) tail = &(*tail)->next;
    *tail = a;
    // A truncated arena too small for this request stays for others; mapping more of them
    // would only use up the address space (the caller may map the block on its own instead).
    if (a->pages() < kArenaPages) {
      if (void* p = alloc_from(a, n, align_order, kind, tag, zeroed)) return p;
      break;
    }
  }
  errno = ENOMEM;
  return nullptr;
}

bool PageHeap::free(void* p, std::size_t pages) {
  Arena* a = Arena::of(p);
  std::uint32_t idx = a->index_of(p);
  LockGuard g(lock_);
  PageDesc& d = a->desc(idx);
  if (d.kind != PageKind::Slab && d.kind != PageKind::Large && d.kind != PageKind::Meta) return false;
  if (d.kind == PageKind::Slab && d.count != idx) return false;
  std::uint32_t n = d.kind == PageKind::Slab ? static_cast<std::uint32_t>(pages) : d.count;
  if (d.kind == PageKind::Slab) {
    // Interior descriptors must not keep pointing at a slab that no longer exists.
    for (std::uint32_t i = 1; i < n; ++i) a->desc(idx + i).kind = PageKind::Unused;
  }
  d.kind = PageKind::Unused;
  std::size_t dirty_before = a->dirty_page_count();
  a->free_pages(idx, n, true);
  dirty_ += a->dirty_page_count() - dirty_before;
  used_ -= n;
  maybe_release();
  return true;
}

bool PageHeap::resize(void* p, std::size_t new_pages) {
  Arena* a = Arena::of(p);
  std::uint32_t idx = a->index_of(p);
  LockGuard g(lock_);
  PageDesc& d = a->desc(idx);
  if (d.kind != PageKind::Large || new_pages == 0 || new_pages > kArenaPages) return false;
  auto n = static_cast<std::uint32_t>(new_pages);
  std::size_t dirty_before = a->dirty_page_count();
  // Growing in place into untouched pages while touched free memory waits elsewhere would move
  // the program's footprint onto fresh pages (a fault and a clear each) and leave the touched
  // ones to the watermarks: a buffer regrown by realloc walked across the arena that way. So
  // the block grows in place over touched free blocks, or over clean ones only when the heap
  // has too little touched free memory to serve the move; otherwise the caller moves it.
  if (n < d.count) {
    a->free_pages(idx + n, d.count - n, true);
  } else if (n > d.count && !a->extend(idx, d.count, n, dirty_ < n - d.count)) {
    return false;
  }
  used_ = used_ + n - d.count;
  d.count = n;
  dirty_ = dirty_ + a->dirty_page_count() - dirty_before;
  maybe_release();
  return true;
}

void PageHeap::maybe_release() {
  if (is_dma()) return;  // a DMA heap's free pages stay (DmaPolicy)
  const std::size_t high = pages_of(g_config.high), low = pages_of(g_config.low);
  if (used_ > peak_) peak_ = used_;
  if (dirty_ <= low) {  // nothing worth giving back: no epoch runs
    epoch_start_ = 0;
    epoch_end_.store(0, std::memory_order_relaxed);
    burst_retry_ = 0;
    return;
  }
  if (dirty_ < epoch_min_) epoch_min_ = dirty_;
  // Free memory may fill the dip below the heap's recent peak in use, and kBurst x high
  // beyond it, before it goes at once: keeping it takes the process little higher than it just
  // was, and a program whose live set swings (big buffers freed and allocated again) gets it
  // back without a fault and a clear per page; the epoch takes what it does not reuse (a heap
  // that shrank for good keeps its freed memory for one to two epochs). Beyond that is what
  // no allocation could reuse, fresh pages having been taken meanwhile: down to `high` above
  // the dip.
  const std::size_t recent = peak_ > prev_peak_ ? peak_ : prev_peak_;
  const std::size_t dip = recent > used_ ? recent - used_ : 0;
  const std::size_t burst = kBurst * high + dip;
  if (dirty_ > burst && dirty_ > burst_retry_) {
    // Whole huge pages only (a THP stays intact); what is left is fragmented, and is retried
    // only after another (high - low) has come free, not on every free.
    release_to(dip + high, false);
    burst_retry_ = dirty_ > burst ? dirty_ + high - low : 0;
    if (dirty_ < epoch_min_) epoch_min_ = dirty_;
    return;
  }
  if (!g_config.delay_ms) {
    release_to(low, false);
    return;
  }
  std::uint64_t now = os::monotonic_ms();
  if (epoch_start_ == 0) {
    epoch_start_ = now;
    epoch_min_ = dirty_;
    epoch_end_.store(now + g_config.delay_ms, std::memory_order_relaxed);
    return;
  }
  if (now - epoch_start_ < g_config.delay_ms) return;
  // epoch_min_ pages stayed free through the whole epoch: that much goes, down to low at most.
  // Whole huge pages first; then fragments (4 KiB runs of THP and 4 KiB arenas, which splits
  // those THPs), so fragmentation never pins memory for long. hugetlb pages only go whole.
  if (epoch_min_ > low) {
    std::size_t target = dirty_ - (epoch_min_ - low);
    release_to(target, false);
    release_to(target, true);
  }
  prev_peak_ = peak_;
  peak_ = used_;
  epoch_start_ = now;
  epoch_min_ = dirty_;
  epoch_end_.store(now + g_config.delay_ms, std::memory_order_relaxed);
}

void PageHeap::tick() {
  std::uint64_t end = epoch_end_.load(std::memory_order_relaxed);
  if (end == 0 || os::monotonic_ms() < end) return;
  LockGuard g(lock_);
  maybe_release();
}

void PageHeap::release_to(std::size_t target, bool fragments) {
  for (Arena* list : arenas_) {
    for (Arena* a = list; a && dirty_ > target; a = a->next) {
      bool hugetlb = a->backing() <= os::Backing::Huge2M;
      if (fragments && hugetlb) continue;
      std::size_t over = dirty_ - target;
      std::size_t mine = a->dirty_page_count();
      std::size_t got = a->release(mine > over ? mine - over : 0, fragments ? 0 : a->release_min_order());
      dirty_ -= got;
      released_ += got;
    }
  }
}

void PageHeap::release_after_exit() {
  LockGuard g(lock_);
  if (dirty_ <= pages_of(g_config.high) || is_dma()) return;
  release_to(pages_of(g_config.low), false);
  release_to(pages_of(g_config.low), true);
  epoch_start_ = 0;
  epoch_end_.store(0, std::memory_order_relaxed);
  burst_retry_ = 0;
}

std::size_t PageHeap::trim() {
  LockGuard g(lock_);
  std::size_t got = 0;
  dirty_ = 0;
  for (Arena* list : arenas_) {
    for (Arena* a = list; a; a = a->next) {
      if (is_dma()) {  // whole arenas only (below), never pages the device may still hold
        dirty_ += a->dirty_page_count();
        continue;
      }
      // An explicit trim may split transparent huge pages; hugetlb pages can only go whole.
      int min_order = a->backing() <= os::Backing::Huge2M ? a->release_min_order() : 0;
      got += a->release(0, min_order);
      dirty_ += a->dirty_page_count();
    }
  }
  released_ += got;
  // Unmap entirely free arenas, keeping the first long-lived one so a steady program does not
  // remap its metadata.
  for (Arena*& list : arenas_) {
    for (Arena** link = &list; *link;) {
      Arena* a = *link;
      if (!a->empty() || a == arenas_[kLong]) {
        link = &a->next;
        continue;
      }
      *link = a->next;
      dirty_ -= a->dirty_page_count();
      got += a->dirty_page_count();
      unmap_arena(a);
    }
  }
  return got << kPageShift;
}

void PageHeap::unmap_arena(Arena* a) {
  g_arena_count.fetch_sub(1, std::memory_order_relaxed);
  --arena_count_;
  registry_set(a, kArenaSize, 0);
  if (is_dma()) dma_.hooks->arena_unmapping(a);  // the device loses it before the OS gets it back
  a->destroy();
}

void PageHeap::destroy_arenas() {
  LockGuard g(lock_);
  for (Arena*& list : arenas_) {
    while (Arena* a = list) {
      list = a->next;
      unmap_arena(a);
    }
  }
  dirty_ = 0;
  used_ = 0;
  peak_ = prev_peak_ = 0;
}

void PageHeap::add_stats(PageStats& s) {
  LockGuard g(lock_);
  for (Arena* list : arenas_) {
    for (Arena* a = list; a; a = a->next) add_arena_stats(a, s);
  }
  s.released += released_ << kPageShift;
}

void PageHeap::add_arena_stats(Arena* a, PageStats& s) {
  ++s.arenas;
  s.mapped += a->mapped_bytes();
  s.usable += std::size_t{a->pages() - kFirstUsablePage} << kPageShift;
  s.by_backing[static_cast<int>(a->backing())] += a->mapped_bytes();
  s.free_bytes += a->free_page_count() << kPageShift;
  s.dirty_free += a->dirty_page_count() << kPageShift;
  for (int o = 0; o <= kMaxOrder; ++o) s.free_blocks[o] += a->free_blocks(o);
}

PageStats page_stats() {
  PageStats s;
  for (PageHeap& h : g_heaps) h.add_stats(s);
  s.direct = direct_bytes();
  s.mapped += s.direct;
  return s;
}

std::size_t trim_all() {
  std::size_t got = 0;
  for (PageHeap& h : g_heaps) got += h.trim();
  return got;
}

void lock_all() {
  for (PageHeap& h : g_heaps) h.lock();
}
void unlock_all() {
  for (PageHeap& h : g_heaps) h.unlock();
}
void reset_all() {
  for (PageHeap& h : g_heaps) h.reset_lock();
}

}  // namespace hm::page
