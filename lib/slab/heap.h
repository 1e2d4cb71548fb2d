// A thread heap: the per-thread front of the object layer. The fast paths below touch only the
// calling thread's heap and the slab the object lives in: no lock, no atomic read-modify-write.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "slab/large_cache.h"
#include "slab/report.h"
#include "slab/slab.h"
#include "slab/slab_list.h"

namespace hm::slab {

// HUGEMEM_CHECK=1: freed objects are filled and verified on reuse. Checked mode keeps the
// thread-heap pointer the fast paths read null, so it costs them nothing (api/runtime.h).
extern bool g_checked;
inline constexpr unsigned char kFreeFill = 0xDF;

// Statistics counters: written by one thread with plain stores (no lock prefix on the fast
// path), read racily by statistics, which only need a recent value.
inline void bump(std::int64_t& c, std::int64_t by = 1) { c += by; }

// Partial slabs a thread keeps per class before it hands empty ones back to its node.
inline constexpr std::size_t kKeepPartial = 4;

struct ThreadHeap {
  Slab* active[kClasses];   // never null: the empty sentinel until the first refill
  std::int64_t live[kClasses] = {};  // objects this thread allocated minus objects it freed
  std::int64_t large_bytes = 0;      // large and direct bytes allocated minus freed
  std::atomic<Slab*> pending{nullptr};  // full slabs that received a remote free
  LargeCache large_cache;
  SlabList partial[kClasses];
  SlabList full[kClasses];
  int node = 0;
  bool in_use = false;  // a running thread has it (else on the free list)
  ThreadHeap* all_next = nullptr;   // every heap ever made (statistics, fork)
  ThreadHeap* free_next = nullptr;  // heaps of exited threads, for reuse

  void* alloc(int c) {
    Slab* s = active[c];
    FreeObj* p = s->free;
    if (__builtin_expect(p != nullptr, 1)) {
      FreeObj* n = decode(p->link, p);
      if (kHardened && __builtin_expect(n && static_cast<std::uintptr_t>(reinterpret_cast<char*>(n) - s->begin) >= s->span, 0))
        report_corrupted_freelist(p, s);
      s->free = n;
      ++s->used;
      if (kHardened) p->link = 0;  // a live object must not look free (looks_free) even if never written
      ++live[c];
      return p;
    }
    return alloc_refill(c);
  }

  // Frees p, an object of slab s (already validated as an object start).
  void free(Slab* s, FreeObj* p) {
    if (__builtin_expect(looks_free(s, p), 0)) report_double_free(p, s);
    --live[s->cls];
    if (s->owner.load(std::memory_order_relaxed) == this) {
      p->link = encode(s->free, p);
      s->free = p;
      --s->used;
      if (__builtin_expect(s->state != SlabState::Active, 0) && (s->used == 0 || s->state == SlabState::Full))
        local_free_slow(s);
      return;
    }
    remote_free(s, p);
  }

  void* alloc_refill(int c);
  void local_free_slow(Slab* s);
  void remote_free(Slab* s, FreeObj* p);
  void drain_pending();
  // Thread exit: every slab goes back to the node (detached, partial, or empty to the buddy),
  // and every kept large block to its page heap.
  void abandon_all();

 private:
  bool retire_full(Slab* s);
  void release_empty(Slab* s);
};

void fill_freed(const Slab* s, FreeObj* p);
void verify_freed(const Slab* s, FreeObj* p);

// Moves s's remote frees onto its local freelist; returns how many there were.
std::size_t collect_remote(Slab* s);

extern Slab g_empty_slab;

// Thread heaps: the calling thread's (creating it on first use) and the registry of all.
ThreadHeap* acquire_heap(int node);
void release_heap(ThreadHeap* h);
ThreadHeap* all_heaps();  // linked through all_next
void lock_heaps();
void unlock_heaps();
// fork child: every heap but `keep` belonged to a thread that no longer exists; they become
// reusable with their slabs, so the next threads take them over instead of leaking them.
void reset_heaps_after_fork(ThreadHeap* keep);

}  // namespace hm::slab
