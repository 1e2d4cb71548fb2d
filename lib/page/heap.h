// The page layer's front: one PageHeap per NUMA node owns that node's arenas (bound to the node)
// and serves page-granular blocks from their buddy allocators under one lock. Objects too large
// for an arena's buddy get a direct mapping of their own (direct.h).
//
// Watermarks, per heap, on the free pages that still hold memory ("dirty"; arena.h says how
// they are counted):
//  - free memory that stays unused goes back to the OS. Time runs in epochs of `delay_ms`; the
//    lowest dirty level of an epoch is memory that the program did not need during it, and at
//    the epoch's end that much goes back (largest blocks first, never below `low`). Freed memory
//    is most often reused within moments (a buffer freed and allocated again, a container
//    regrown), and a program cycling through its free memory keeps that level low, so it is
//    not made to fault in and clear the same pages again and again;
//  - free memory that fills the dip below the heap's recent peak in use (and kBurst x `high`
//    beyond it) waits for the epoch: keeping it takes the process little higher than it just
//    was, and a live set that swings (big buffers freed and allocated again) reuses it without
//    faulting it in again. Above that it goes back at once, down to `high` above the dip;
//  - an arena that becomes entirely free beyond the first is unmapped by trim();
//  - when no arena can serve a request a new one is mapped, unless `arena_limit` arenas exist
//    (then the allocation fails cleanly: nullptr, errno ENOMEM).
// Lifetime segregation (the seed's MIGRATE_UNMOVABLE / MOVABLE): slabs and metadata live long
// and pin their pages; large blocks come and go. Each kind gets arenas of its own, so a few
// long-lived slabs never split the huge free ranges that large blocks leave behind (tests/page
// measures the difference). HUGEMEM_SEGREGATE=0 turns it off.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "os/os.h"
#include "page/arena.h"
#include "page/lock.h"

namespace hm::page {

inline constexpr int kMaxNodes = 64;
inline constexpr std::size_t kBurst = 4;
static_assert(kMaxNodes <= 256, "a slab records its node in one byte");

struct Config {
  os::Backing best = os::Backing::THP;  // first backing tried for arenas
  // Measured on bench/workloads (realloc_growth, big_allocs): 16m / 4m with the delay keeps peak
  // RSS at mimalloc's while a freed buffer reused within the delay is not faulted in again.
  std::size_t high = std::size_t{16} << 20;
  std::size_t low = std::size_t{4} << 20;
  std::size_t delay_ms = 100;  // 0: release as soon as `high` is crossed
  std::size_t arena_limit = 1024;
  bool segregate = true;
};
// Read from the environment once (HUGEMEM_PAGES=1g|2m|thp|4k, HUGEMEM_RELEASE_HIGH,
// HUGEMEM_RELEASE_LOW, HUGEMEM_RELEASE_DELAY_MS, HUGEMEM_ARENA_LIMIT, HUGEMEM_SEGREGATE; see
// docs/options.md). Default backing: THP (4 KiB if THP is off). A value that does not parse is
// reported on stderr and the default kept.
Config& config();
void configure_from_env();

struct PageStats {
  std::size_t arenas = 0;
  std::size_t mapped = 0;          // arena and direct-mapping bytes
  std::size_t usable = 0;          // arena bytes the buddy allocators manage (all but metadata)
  std::size_t free_bytes = 0;      // on the buddy free lists
  std::size_t dirty_free = 0;      // of those, not yet given back
  std::size_t released = 0;        // bytes given back to the OS since start
  std::size_t direct = 0;          // bytes in direct mappings
  std::size_t by_backing[os::kBackingKinds] = {};
  std::size_t free_blocks[kMaxOrder + 1] = {};
};

// A page heap whose arenas a device reaches (a DMA heap, lib/dma) differs from the malloc's in
// four ways, all set by its DmaPolicy:
//  - its arenas take hugetlb pages only (`best` down to `worst`, never THP or 4 KiB pages,
//    which the kernel may move or split), and one lifetime list (no segregation: every arena is
//    pinned memory);
//  - after an arena is mapped and before any of its pages is handed out, hooks->arena_mapped
//    makes it reachable by the device (false: the arena is unmapped again, the allocation fails);
//  - before an arena's memory goes back to the OS, hooks->arena_unmapping makes it unreachable,
//    so a late device write faults in the IOMMU instead of landing in reused memory;
//  - free pages are never decommitted (MADV_DONTNEED would swap the pages under the CPU while
//    the device keeps the pinned old ones); memory goes back a whole arena at a time.
class ArenaHooks {
 public:
  // Both run under the page heap's lock.
  virtual bool arena_mapped(Arena* a) = 0;
  virtual void arena_unmapping(Arena* a) = 0;

 protected:
  ~ArenaHooks() = default;
};
struct DmaPolicy {
  ArenaHooks* hooks = nullptr;  // null: the malloc's page heap
  os::Backing best = os::Backing::Huge1G;
  os::Backing worst = os::Backing::Huge2M;
  int node = -1;                // NUMA node the arenas are bound to; -1: none
  std::size_t max_arenas = 1;
};

class PageHeap {
 public:
  // The page heap of a slab domain (page/domain.h): a NUMA node's, or a DMA heap's.
  static PageHeap& of_node(int node);
  int node() const;
  // Makes this (empty, unregistered) heap a DMA heap's.
  void set_dma(const DmaPolicy& p) { dma_ = p; }
  bool is_dma() const { return dma_.hooks != nullptr; }
  // A DMA heap's end: every arena, in use or not, made unreachable by the device and unmapped.
  // The caller guarantees that nothing uses its memory any more.
  void destroy_arenas();

  // `pages` pages aligned to `align_pages` (a power of two), marked `kind` with `tag`.
  // nullptr + ENOMEM when no arena can hold it and no new one can be mapped.
  void* alloc(std::size_t pages, std::size_t align_pages, PageKind kind, std::uint8_t tag, bool* zeroed);
  // Frees a block this layer returned (`p` = its first page); `pages` for Slab blocks,
  // which do not record their length in the head descriptor. False, changing nothing, when p
  // is not the head of a live block (a double or invalid free the caller reports).
  bool free(void* p, std::size_t pages);
  // Shrinks a Large block, or grows it into the free pages after it. False if it cannot.
  bool resize(void* p, std::size_t new_pages);
  // Gives every dirty free block back and unmaps empty arenas but one. Returns bytes released.
  std::size_t trim();
  // Ends the running release epoch if its time is up. For paths that serve a program without
  // calling into this heap (a large-block cache hit, a slab refill), so that its free memory
  // still goes back; one relaxed load when no epoch runs, a clock read when one does.
  void tick();
  // A thread exited and gave its memory back: above `high`, free memory goes back down to `low`
  // now, fragments included, without waiting for the delay (the program may go idle, and an
  // idle heap sees no further free that would start the release).
  void release_after_exit();

  void add_stats(PageStats& s);
  // Calls f(first page, pages, tag) for every slab block of this heap's arenas, under its lock.
  template <class F>
  void visit_slabs(F f) {
    LockGuard g(lock_);
    for (Arena* list : arenas_) {
      for (Arena* a = list; a; a = a->next) a->visit_slabs(f);
    }
  }
  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock() { lock_.reset(); }

 private:
  void* alloc_locked(std::size_t pages, int align_order, PageKind kind, std::uint8_t tag, bool* zeroed);
  void* alloc_from(Arena* list, std::uint32_t n, int align_order, PageKind kind, std::uint8_t tag, bool* zeroed);
  // Called under the lock after every change of dirty_: the watermark policy above.
  void maybe_release();
  // Decommits dirty free blocks, largest first, until `target` dirty pages remain: blocks of at
  // least a huge page, or (fragments) any block of a THP or 4 KiB arena.
  void release_to(std::size_t target, bool fragments);
  static void add_arena_stats(Arena* a, PageStats& s);
  // Takes a (off every list) out of the registry, the device's reach (DMA) and the address space.
  void unmap_arena(Arena* a);

  SpinLock lock_;
  enum Lifetime { kLong, kShort, kLifetimes };
  static Lifetime lifetime_of(PageKind k);
  static os::Backing backing_for(Lifetime life);
  Arena* arenas_[kLifetimes] = {};
  std::size_t dirty_ = 0;     // sum of the arenas' dirty free pages, in pages
  std::size_t used_ = 0;      // pages in blocks (slabs, large blocks, metadata)
  // The most pages in use during the running epoch and the one before (kept memory fills at
  // most the dip below it). Epochs run only while free memory is dirty, so after a quiet
  // spell peak_ may be older: it is never more than the heap once had in use.
  std::size_t peak_ = 0, prev_peak_ = 0;
  std::size_t released_ = 0;  // pages
  std::uint64_t epoch_start_ = 0;  // monotonic ms; 0: no epoch (dirty_ has been at or below low)
  std::size_t epoch_min_ = 0;      // the lowest dirty_ of the epoch, in pages
  std::size_t burst_retry_ = 0;    // a burst release left fragments: retry above this dirty level
  std::atomic<std::uint64_t> epoch_end_{0};  // monotonic ms the running epoch ends; 0: none (tick)
  bool warned_fallback_ = false;
  DmaPolicy dma_;
  std::size_t arena_count_ = 0;  // this heap's arenas (a DMA heap's limit)
};

// Total over all heaps and direct mappings.
PageStats page_stats();
std::size_t trim_all();
void lock_all();    // fork: prepare
void unlock_all();  // fork: parent
void reset_all();   // fork: child

}  // namespace hm::page
