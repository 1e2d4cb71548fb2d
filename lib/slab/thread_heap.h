// A thread heap: the per-thread front of the object layer. The fast paths below touch only the
// calling thread's heap and the slab the object lives in: no lock, no atomic read-modify-write.
// Which thread may touch which slab field is the protocol in slab.h.
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

// The active slab of a class nothing was allocated from yet: no free object, capacity 0.
extern Slab g_empty_slab;

// Partial slabs a thread keeps per class before it hands empty ones back to its node.
inline constexpr std::size_t kKeepPartial = 4;

// A thread heap that owns nothing and allocates nothing: what a thread's fast paths read before
// it has a heap of its own, after it released it, and always in checked and secure mode. Its
// slabs are all the empty sentinel, so its malloc reaches alloc_refill, and it owns no slab, so
// its free reaches remote_free; both then hand the call to the hooks below (the api layer's
// slow paths). The fast paths so need no test of their own for "no heap".
struct Unready {
  void* (*alloc)(std::size_t n) noexcept;
  void (*free)(void* p) noexcept;
};

struct ThreadHeap {
  // by_size[(n + 7) / 8] is active[class_of_small(n)] for n <= kTableMax: malloc's fast path
  // reaches its slab in one load, with no class lookup. set_active keeps the two in step.
  Slab* by_size[kTableMax / 8 + 1];
  Slab* active[kClasses];   // never null: the empty sentinel until the first refill
  const Unready* unready = nullptr;  // set only on unready heaps (above)
  int node = 0;
  // Large and direct bytes allocated minus freed (statistics; small objects are counted from
  // the slabs themselves, so the fast paths keep no counter). Written by the heap's thread
  // alone with plain stores, except the orphan heap's, which is shared (atomic).
  std::int64_t large_bytes = 0;
  // Full slabs that received a notice (a remote free), linked through pending_next; written
  // under the node's lock, read without it as a hint.
  std::atomic<Slab*> pending{nullptr};
  LargeCache large_cache;
  SlabList partial[kClasses];
  SlabList full[kClasses];
  std::uint8_t made[kClasses] = {};  // slabs of each class this heap made (their growth, size_class.h)
  // The thread the heap serves (acquire_heap); 0 once released, and for heaps no single live
  // thread owns (the shared exit heap, heaps of threads a fork left behind). Heaps lock.
  int tid = 0;
  ThreadHeap* all_next = nullptr;   // every heap ever made (statistics, fork, trim)
  ThreadHeap* free_next = nullptr;  // heaps of exited threads, for reuse

  // A heap whose every class has the empty sentinel as its active slab.
  constexpr ThreadHeap() : ThreadHeap(nullptr) {}
  constexpr explicit ThreadHeap(const Unready* u) : by_size(), active(), unready(u) {
    for (Slab*& s : by_size) s = &g_empty_slab;
    for (Slab*& s : active) s = &g_empty_slab;
  }

  // malloc's fast path, for n <= kTableMax.
  void* alloc_small(std::size_t n) { return pop(by_size[(n + 7) >> 3], n); }
  // An object of class c (n: the request, which only an unready heap looks at).
  void* alloc(int c, std::size_t n) { return pop(active[c], n); }
  void* alloc(int c) { return alloc(c, class_size(c)); }
  void set_active(int c, Slab* s) {
    active[c] = s;
    if (c < kTableClasses)
      for (std::size_t i = kClassTable.first_index[c]; i <= kClassTable.last_index[c]; ++i) by_size[i] = s;
  }

  // Frees p, an object of slab s, already validated as an object start.
  void free(Slab* s, FreeObj* p) {
    if (__builtin_expect(looks_free(s, p), 0)) report_double_free(p, s);
    if (s->owner.load(std::memory_order_relaxed) == this) return local_free(s, p);
    remote_free(s, p, this);
  }
  void local_free(Slab* s, FreeObj* p) {
    p->link = encode(s->free, s);
    s->free = p;
    --s->used;
    if (__builtin_expect(s->state != SlabState::Active, 0)) local_free_inactive(s);
  }

  // The object of class class_of(n) after a refill when s, the active slab, has none free.
  void* alloc_refill(std::size_t n) noexcept;
  // After a local free into a slab that is not the active one: a full slab becomes partial, an
  // empty one may go to the node.
  void local_free_inactive(Slab* s) noexcept;
  // A free into a slab `by` (the calling thread's heap, the orphan, or an unready heap) does not
  // own: lock-free push onto s->remote, or a notice under the node's lock when s is armed, which
  // may hand a node-owned slab to `by` (NodeSlabs::notice_free). An unready `by` hands p to its
  // free hook instead.
  static void remote_free(Slab* s, FreeObj* p, ThreadHeap* by) noexcept;
  // Takes the slabs that received notices back onto the partial lists.
  void drain_pending();
  // Thread exit: every slab goes to the node (detached, partial, or empty to the buddy), and
  // every kept large block to its page heap.
  void abandon_all();

 private:
  void* pop(Slab* s, std::size_t n) {
    FreeObj* p = s->free;
    if (__builtin_expect(p != s->end, 1)) {
      FreeObj* next = decode(p->link, s);
      // The popped link must be an object start of this slab (or end the list): an overflow
      // into a free object is caught before the bad address is handed out.
      if (kHardened && __builtin_expect(!s->contains_object(next), 0)) return pop_last(s, p, next);
      return take(s, p, next);
    }
    return alloc_refill(n);
  }
  static void* take(Slab* s, FreeObj* p, FreeObj* next) {
    s->free = next;
    ++s->used;
    if (kHardened) p->link = 0;  // a live object must not look free (looks_free) even if never written
    return p;
  }
  // The pop of p whose link is not an object start: the list's last object (next is the end),
  // or a corrupted link, reported. Out of line, so the fast path holds no test for the list's end.
  static void* pop_last(Slab* s, FreeObj* p, FreeObj* next) noexcept;
  // local_free_inactive's work for a full slab, or one that became empty.
  __attribute__((noinline)) void list_after_free(Slab* s) noexcept;
  bool retire_full(Slab* s);
  void release_empty(Slab* s);
};

// Adds `by` to h's large-block byte count (statistics).
void count_large(ThreadHeap* h, std::int64_t by);

void fill_freed(const Slab* s, FreeObj* p);
void verify_freed(const Slab* s, FreeObj* p);

// Frees of threads whose heap was released (a thread's last frees, after its destructors) or
// that could not get one: owns no slab, so every free through it is a remote free.
extern ThreadHeap g_orphan;

// Thread heaps: taking one for a thread (nullptr + ENOMEM if its metadata cannot be mapped) and
// giving it back at thread exit; the registry of all. A thread that made its heap in the last
// round of key destructors (its first allocation or free there) exits without the round that
// would release it: acquire_heap then finds such heaps of threads that no longer exist and
// releases them as their threads would have (at most when the owned heaps have doubled since
// the last look, so the probes cost O(1) per heap made).
ThreadHeap* acquire_heap(int node);
void release_heap(ThreadHeap* h);
ThreadHeap* all_heaps();  // linked through all_next
void lock_heaps();
void unlock_heaps();
// fork child: the heaps of threads that no longer exist are left alone (possibly half-way
// through an operation); only heaps released before the fork are reused. `keep` is the forking
// thread's heap, which goes on.
void reset_heaps_after_fork(ThreadHeap* keep);
// The heap a thread allocates from after its own was released at its exit (a key destructor
// that runs after hugemem's, in the last round): one heap shared under a lock, so no heap is
// taken that nothing would release. nullptr (unlocked) when it cannot be made.
ThreadHeap* lock_exit_heap();
void unlock_exit_heap();
// fork: the exit heap's lock is taken first (prepare) and released or reset after.
void lock_exit_for_fork();
void unlock_exit_for_fork();
void reset_exit_after_fork();

// Every thread's kept large blocks back to the page layer (malloc_trim).
void flush_large_caches();

}  // namespace hm::slab
