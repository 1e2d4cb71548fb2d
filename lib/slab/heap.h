// A thread heap: the per-thread front of the object layer. The fast paths below touch only the
// calling thread's heap and the slab the object lives in: no lock, no atomic read-modify-write.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "slab/report.h"
#include "slab/slab.h"
#include "slab/slab_list.h"

namespace hm::slab {

struct ClassCount {
  // Written by the owning thread only (load + store, no RMW), read by statistics.
  std::atomic<std::uint64_t> mallocs{0};
  std::atomic<std::uint64_t> frees{0};
};

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

extern bool g_checked;  // HUGEMEM_CHECK=1: fill freed objects and verify them on reuse
inline constexpr unsigned char kFreeFill = 0xDF;

struct ThreadHeap {
  Slab* active[kClasses];      // never null: the empty sentinel until the first refill
  ClassCount count[kClasses];  // objects handed out / freed by this thread, per class
  std::atomic<std::uint64_t> large_bytes{0};       // large and direct bytes handed out
  std::atomic<std::uint64_t> large_freed_bytes{0};
  std::atomic<Slab*> pending{nullptr};  // full slabs that received a remote free
  SlabList partial[kClasses];
  SlabList full[kClasses];
  int node = 0;
  bool live = false;
  ThreadHeap* all_next = nullptr;   // every heap ever made (statistics, fork)
  ThreadHeap* free_next = nullptr;  // heaps of exited threads, for reuse

  void* alloc(int c) {
    Slab* s = active[c];
    FreeObj* p = s->free;
    if (__builtin_expect(p != nullptr, 1)) {
      FreeObj* n = decode(p->link, p);
      if (__builtin_expect(n && static_cast<std::uintptr_t>(reinterpret_cast<char*>(n) - s->begin) >= s->span, 0))
        report_corrupted_freelist(p, s);
      s->free = n;
      ++s->used;
      p->link = 0;  // a live object must not look free (looks_free) even if the user never writes it
      bump(count[c].mallocs);
      if (__builtin_expect(g_checked, 0)) verify_fill(s, p);
      return p;
    }
    return alloc_refill(c);
  }

  // Frees p, an object of slab s (already validated as an object start).
  void free(Slab* s, FreeObj* p) {
    if (__builtin_expect(looks_free(s, p), 0)) report_double_free(p, s);
    if (s->owner.load(std::memory_order_relaxed) == this) {
      if (__builtin_expect(g_checked, 0)) fill(s, p);
      p->link = encode(s->free, p);
      s->free = p;
      --s->used;
      bump(count[s->cls].frees);
      if (__builtin_expect(s->state != SlabState::Active, 0)) local_free_slow(s);
      return;
    }
    remote_free(s, p);
  }

  void* alloc_refill(int c);
  void local_free_slow(Slab* s);
  void remote_free(Slab* s, FreeObj* p);
  void drain_pending();
  // Thread exit: every slab goes back to the node (detached, partial, or empty to the buddy).
  void abandon_all();

 private:
  bool retire_full(Slab* s);
  void release_empty(Slab* s);
  static void fill(Slab* s, FreeObj* p);
  static void verify_fill(Slab* s, FreeObj* p);
};

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
