// The thread heap's slow paths and the registry of heaps.
#include <cstring>
#include <new>

#include "page/heap.h"
#include "page/lock.h"
#include "slab/free.h"
#include "slab/node.h"
#include "slab/thread_heap.h"

namespace hm::slab {
namespace {

page::SpinLock g_heaps_lock;
ThreadHeap* g_all = nullptr;
ThreadHeap* g_free = nullptr;
// Lock order: exit heap -> heap registry -> node -> page heap.
page::SpinLock g_exit_lock;
ThreadHeap* g_exit_heap = nullptr;

// Slabs taken off the pending list per round under the node's lock.
constexpr std::size_t kPendingBatch = 32;

// Thread heaps are never freed (a released one waits for the next thread), so they are carved
// from chunks of their own: thousands of them do not pepper the slab arenas with metadata
// pages that keep huge pages from going back whole. Under g_heaps_lock.
constexpr std::size_t kHeapChunkPages = 64;
constexpr std::size_t kHeapStride = (sizeof(ThreadHeap) + 63) & ~std::size_t{63};
static_assert(kHeapStride <= kHeapChunkPages * os::kPageSize);
char* g_chunk_next = nullptr;
std::size_t g_chunk_left = 0;  // heaps still to carve from the current chunk

// Heaps with a tid (g_heaps_lock), and how many there must be before acquire_heap looks for
// heaps of threads that are gone.
constexpr std::size_t kSweepFirst = 64;
std::size_t g_owned = 0;
std::size_t g_sweep_at = kSweepFirst;

// Under g_heaps_lock (lock order: heap registry -> node -> page heap). A heap whose thread is
// gone is touched by no one (remote frees touch slabs, not heaps): it goes back as the thread's
// own release_heap would have given it.
void release_heaps_of_dead_threads() {
  for (ThreadHeap* h = g_all; h; h = h->all_next) {
    if (h->tid == 0 || os::thread_exists(h->tid)) continue;
    h->abandon_all();
    page::PageHeap::of_node(h->node).release_after_exit();
    h->tid = 0;
    --g_owned;
    h->free_next = g_free;
    g_free = h;
  }
}

void* carve_heap(int node) {
  if (g_chunk_left == 0) {
    // A DMA domain's heaps too live in the malloc's memory: a device never reaches them.
    if (node >= page::kMaxNodes) node = 0;
    void* chunk = page::PageHeap::of_node(node).alloc(kHeapChunkPages, 1, page::PageKind::Meta, 0, nullptr);
    if (!chunk) return nullptr;
    g_chunk_next = static_cast<char*>(chunk);
    g_chunk_left = kHeapChunkPages * os::kPageSize / kHeapStride;
  }
  void* h = g_chunk_next;
  g_chunk_next += kHeapStride;
  --g_chunk_left;
  return h;
}

}  // namespace

Slab g_empty_slab{};
ThreadHeap g_orphan;

void count_large(ThreadHeap* h, std::int64_t by) {
  if (h == &g_orphan) std::atomic_ref<std::int64_t>(h->large_bytes).fetch_add(by, std::memory_order_relaxed);
  else h->large_bytes += by;
}

void* ThreadHeap::alloc_refill(std::size_t n) noexcept {
  if (__builtin_expect(unready != nullptr, 0)) return unready->alloc(n);
  int c = class_of(n);
  for (;;) {
    Slab* s = active[c];
    if (s->has_free()) return alloc(c, n);
    if (s != &g_empty_slab) {
      if (collect_remote(s) || extend(s)) continue;
      if (!retire_full(s)) continue;  // a remote free arrived while retiring: collect it
    }
    // s is retired (or the sentinel) but still active[c] until the next is found: nothing
    // below reads active[c].
    page::PageHeap::of_node(node).tick();  // a program of small objects calls the page heap rarely
    drain_pending();
    Slab* next = partial[c].pop();
    if (!next) next = NodeSlabs::of(node).take(c, this);
    if (!next) next = new_slab(c, node, this);
    if (!next) {
      set_active(c, &g_empty_slab);
      return nullptr;  // errno is ENOMEM from the page layer
    }
    next->state = SlabState::Active;
    set_active(c, next);
  }
}

bool ThreadHeap::retire_full(Slab* s) {
  // Arm the notice: the first remote free from now on tells us (through `pending`) that s has
  // a free object again. A list already there means a remote free came first: collect it.
  // Still armed from an earlier retirement (no notice since): nothing to write.
  std::uintptr_t r = s->remote.load(std::memory_order_relaxed);
  if (r == 0 && !s->remote.compare_exchange_strong(r, kNotify, std::memory_order_release, std::memory_order_relaxed))
    return false;
  if (r > kNotify) return false;
  s->state = SlabState::Full;
  full[s->cls].push(s);
  return true;
}

void* ThreadHeap::pop_last(Slab* s, FreeObj* p, FreeObj* next) noexcept {
  if (next != s->end) report_corrupted_freelist(p, s);
  return take(s, p, next);
}

void ThreadHeap::release_empty(Slab* s) { NodeSlabs::of(s->node).put_empty(s, this); }

void ThreadHeap::local_free_inactive(Slab* s) noexcept {
  // A partial slab that still holds objects needs nothing more (with a live set freed at random,
  // most frees): answered before anything that needs a stack frame.
  if (s->state == SlabState::Partial && s->used != 0) return;
  list_after_free(s);
}

void ThreadHeap::list_after_free(Slab* s) noexcept {
  if (s->state == SlabState::Full) {
    full[s->cls].remove(s);
    s->state = SlabState::Partial;
    // Behind the partial slabs already listed (refills take from the front): a slab that just
    // regained one object is taken last, when more frees have reached it, not next for that one
    // object. Taken first, with a live set freed at random, most refills yielded one or two
    // objects (random_sizes: a refill per 4.7 mallocs, 2.9x fewer this way).
    partial[s->cls].push_back(s);
    // R stays armed: disarming is a locked instruction on every full -> partial -> full cycle
    // (a thread with a steady live set makes one per few allocations), while an armed owned
    // slab costs only the first remote free into it a notice, which disarms it. A notice
    // delivered meanwhile has s queued, drained later.
  }
  // s is Partial now (the owner's, not Active). An empty slab stays while the class has few
  // partial slabs: a thread that allocates and frees batches would otherwise cycle slabs
  // through the node's lock on every batch. (used is read alone: a wider load over it and
  // `state` would wait for the free's store to `used` to retire instead of forwarding it.)
  if (s->used == 0 && partial[s->cls].length > kKeepPartial) {
    partial[s->cls].remove(s);
    release_empty(s);
  }
}

void ThreadHeap::remote_free(Slab* s, FreeObj* p, ThreadHeap* by) noexcept {
  if (__builtin_expect(by->unready != nullptr, 0)) return by->unready->free(p);
  std::uintptr_t r = s->remote.load(std::memory_order_relaxed);
  for (;;) {
    if (r & kNotify) return NodeSlabs::of(s->node).notice_free(s, p, by);
    p->link = encode(push_link(r, s->end), s);
    if (s->remote.compare_exchange_weak(r, pushed(r, p), std::memory_order_release,
                                        std::memory_order_relaxed))
      return;
  }
}

void ThreadHeap::drain_pending() {
  Slab* batch[kPendingBatch];
  while (pending.load(std::memory_order_relaxed)) {
    std::size_t n = NodeSlabs::of(node).take_pending(this, batch, kPendingBatch);
    for (std::size_t i = 0; i < n; ++i) {
      Slab* s = batch[i];  // still ours: only this thread gives its slabs away
      collect_remote(s);
      if (s->state == SlabState::Full && s->has_free()) {
        full[s->cls].remove(s);
        s->state = SlabState::Partial;
        partial[s->cls].push_back(s);
      }
      if (s->used == 0 && s->state == SlabState::Partial && partial[s->cls].length > kKeepPartial) {
        partial[s->cls].remove(s);
        release_empty(s);
      }
    }
  }
}

void ThreadHeap::abandon_all() {
  NodeSlabs::of(node).abandon(this);
  large_cache.flush();
}

void fill_freed(const Slab* s, FreeObj* p) {
  std::memset(reinterpret_cast<char*>(p) + sizeof(FreeObj), kFreeFill, s->size - sizeof(FreeObj));
}

void verify_freed(const Slab* s, FreeObj* p) {
  auto* b = reinterpret_cast<const unsigned char*>(p);
  for (std::size_t i = sizeof(FreeObj); i < s->size; ++i) {
    if (b[i] != kFreeFill) report_write_after_free(p, s, i);
  }
}

ThreadHeap* acquire_heap(int node) {
  ThreadHeap* h = nullptr;
  {
    page::LockGuard g(g_heaps_lock);
    if (!g_free && g_owned >= g_sweep_at) {
      release_heaps_of_dead_threads();
      g_sweep_at = 2 * g_owned > kSweepFirst ? 2 * g_owned : kSweepFirst;
    }
    if ((h = g_free) != nullptr) {
      g_free = h->free_next;
    } else {
      void* mem = carve_heap(node);
      if (!mem) return nullptr;  // errno is ENOMEM from the page layer
      h = new (mem) ThreadHeap;
      h->all_next = g_all;
      g_all = h;
    }
    h->tid = os::current_tid();
    ++g_owned;
  }
  // A released heap owns no slab (abandon gave them all away), so its node may change.
  h->node = node;
  h->free_next = nullptr;
  for (std::uint8_t& m : h->made) m = 0;
  return h;
}

void release_heap(ThreadHeap* h) {
  h->abandon_all();
  page::PageHeap::of_node(h->node).release_after_exit();
  page::LockGuard g(g_heaps_lock);
  if (h->tid != 0) --g_owned;
  h->tid = 0;
  h->free_next = g_free;
  g_free = h;
}

ThreadHeap* all_heaps() { return g_all; }
void lock_heaps() { g_heaps_lock.lock(); }
void unlock_heaps() { g_heaps_lock.unlock(); }

void reset_heaps_after_fork(ThreadHeap* keep) {
  // The list of released heaps was consistent at the fork (its lock was held). The heaps of
  // the threads that do not exist here are not: a thread may have been anywhere in an unlocked
  // malloc or free. They are never reused (no tid: not even as heaps of threads that are gone);
  // their slabs stay with them (frees into those slabs are remote pushes nobody collects in
  // this process).
  g_owned = 0;
  for (ThreadHeap* h = g_all; h; h = h->all_next) h->tid = 0;
  if (keep) {
    keep->tid = os::current_tid();
    g_owned = 1;
  }
  g_sweep_at = kSweepFirst;
  g_heaps_lock.reset();
}

ThreadHeap* lock_exit_heap() {
  g_exit_lock.lock();
  if (!g_exit_heap) {
    g_exit_heap = acquire_heap(0);
    if (g_exit_heap) {  // shared by every exiting thread, owned by none
      page::LockGuard g(g_heaps_lock);
      g_exit_heap->tid = 0;
      --g_owned;
    }
  }
  if (!g_exit_heap) g_exit_lock.unlock();
  return g_exit_heap;
}
void unlock_exit_heap() { g_exit_lock.unlock(); }
void lock_exit_for_fork() { g_exit_lock.lock(); }
void unlock_exit_for_fork() { g_exit_lock.unlock(); }
void reset_exit_after_fork() { g_exit_lock.reset(); }

void flush_large_caches() {
  page::LockGuard g(g_heaps_lock);
  for (ThreadHeap* h = g_all; h; h = h->all_next) h->large_cache.flush();
}

}  // namespace hm::slab
