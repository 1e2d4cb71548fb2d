// The thread heap's slow paths and the registry of heaps.
#include <cstring>
#include <new>

#include "page/heap.h"
#include "page/lock.h"
#include "slab/heap.h"
#include "slab/node.h"

namespace hm::slab {
namespace {

page::SpinLock g_heaps_lock;
ThreadHeap* g_all = nullptr;
ThreadHeap* g_free = nullptr;

}  // namespace

void* ThreadHeap::alloc_refill(int c) {
  for (;;) {
    Slab* s = active[c];
    if (s->free) return alloc(c);
    if (s != &g_empty_slab) {
      if (collect_remote(s)) continue;
      if (!retire_full(s)) continue;  // a remote free arrived while retiring: collect it
      active[c] = &g_empty_slab;
    }
    drain_pending();
    Slab* next = partial[c].pop();
    if (!next) next = NodeSlabs::of(node).take(c, this);
    if (!next) next = new_slab(c, node, this);
    if (!next) return nullptr;  // errno is ENOMEM from the page layer
    next->state = SlabState::Active;
    active[c] = next;
  }
}

bool ThreadHeap::retire_full(Slab* s) {
  // Arm the notify bit; it may still be armed from an earlier time this slab went full.
  std::uintptr_t expected = 0;
  if (!s->remote.compare_exchange_strong(expected, kNotify, std::memory_order_acq_rel) && expected != kNotify)
    return false;
  s->state = SlabState::Full;
  full[s->cls].push(s);
  return true;
}

void ThreadHeap::release_empty(Slab* s) {
  s->owner.store(nullptr, std::memory_order_release);
  NodeSlabs::of(s->node).put_empty(s);
}

void ThreadHeap::local_free_slow(Slab* s) {
  if (s->state == SlabState::Full) {
    full[s->cls].remove(s);
    s->state = SlabState::Partial;
    partial[s->cls].push(s);
  }
  // An empty slab stays while the class has few partial slabs: a thread that allocates and frees
  // batches would otherwise cycle slabs through the node's lock on every batch.
  if (s->used == 0 && s->state == SlabState::Partial && partial[s->cls].length > kKeepPartial) {
    partial[s->cls].remove(s);
    release_empty(s);
  }
}

void ThreadHeap::remote_free(Slab* s, FreeObj* p) {
  std::uintptr_t old = s->remote.load(std::memory_order_relaxed);
  do {
    p->link = encode(reinterpret_cast<FreeObj*>(old & ~kNotify), p);
  } while (!s->remote.compare_exchange_weak(old, reinterpret_cast<std::uintptr_t>(p), std::memory_order_release,
                                            std::memory_order_relaxed));
  if (old != kNotify) return;
  // We took the slab out of "full": tell its owner, or its node if the owner has exited.
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);
  if (!owner) {
    NodeSlabs::of(s->node).put_partial(s);
    return;
  }
  if (s->queued.exchange(true, std::memory_order_acq_rel)) return;
  Slab* head = owner->pending.load(std::memory_order_relaxed);
  do {
    s->pending_next = head;
  } while (!owner->pending.compare_exchange_weak(head, s, std::memory_order_release, std::memory_order_relaxed));
}

void ThreadHeap::drain_pending() {
  if (!pending.load(std::memory_order_relaxed)) return;
  Slab* s = pending.exchange(nullptr, std::memory_order_acquire);
  while (s) {
    Slab* next = s->pending_next;
    s->queued.store(false, std::memory_order_release);
    // A slab whose owner changed since it was queued (thread exit) is someone else's now.
    if (s->owner.load(std::memory_order_acquire) == this) {
      collect_remote(s);
      if (s->state == SlabState::Full && s->free) {
        full[s->cls].remove(s);
        s->state = SlabState::Partial;
        partial[s->cls].push(s);
      }
      if (s->used == 0 && s->state == SlabState::Partial) {
        partial[s->cls].remove(s);
        release_empty(s);
      }
    }
    s = next;
  }
}

void ThreadHeap::abandon_all() {
  drain_pending();
  large_cache.flush();
  for (int c = 0; c < kClasses; ++c) {
    if (active[c] != &g_empty_slab) NodeSlabs::of(active[c]->node).abandon(active[c]);
    active[c] = &g_empty_slab;
    while (Slab* s = partial[c].pop()) NodeSlabs::of(s->node).abandon(s);
    while (Slab* s = full[c].pop()) NodeSlabs::of(s->node).abandon(s);
  }
  for (Slab* s = pending.exchange(nullptr, std::memory_order_acquire); s;) {
    Slab* next = s->pending_next;
    s->queued.store(false, std::memory_order_release);
    s = next;
  }
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
    if ((h = g_free) != nullptr) g_free = h->free_next;
  }
  if (!h) {
    std::size_t pages = (sizeof(ThreadHeap) + os::kPageSize - 1) / os::kPageSize;
    bool zeroed = false;
    void* mem = page::PageHeap::of_node(node).alloc(pages, 1, page::PageKind::Meta, 0, &zeroed);
    if (!mem) return nullptr;
    h = new (mem) ThreadHeap;
    for (Slab*& s : h->active) s = &g_empty_slab;
    page::LockGuard g(g_heaps_lock);
    h->all_next = g_all;
    g_all = h;
  }
  h->node = node;
  h->in_use = true;
  h->free_next = nullptr;
  return h;
}

void release_heap(ThreadHeap* h) {
  h->abandon_all();
  h->in_use = false;
  page::LockGuard g(g_heaps_lock);
  h->free_next = g_free;
  g_free = h;
}

ThreadHeap* all_heaps() { return g_all; }
void lock_heaps() { g_heaps_lock.lock(); }
void unlock_heaps() { g_heaps_lock.unlock(); }

void reset_heaps_after_fork(ThreadHeap* keep) {
  g_heaps_lock.reset();
  g_free = nullptr;
  for (ThreadHeap* h = g_all; h; h = h->all_next) {
    if (h == keep) continue;
    h->in_use = false;
    h->free_next = g_free;
    g_free = h;
  }
}

}  // namespace hm::slab
