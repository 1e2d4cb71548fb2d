// Each thread's heaps of the DMA heaps: a table, slot i naming the thread heap (slab/thread_heap.h)
// it allocates from in DMA heap i, made on first use with acquire_heap (its node is the heap's
// domain). The table is reached through one initial-exec TLS pointer, so the fast paths find a
// thread's heap for a DMA heap in two loads and a compare of generations (dma/heap.h).
//
// Tables are written under g_lock, except that a thread reads its own without it: the only other
// writer is hm_dma_heap_destroy, which may run only when no thread uses that heap. Given back at
// thread exit (api/runtime.cpp runs on_thread_exit before the malloc's heap is released) with
// every heap in them; kept for the next thread, never freed.
#pragma once

#include <cstdint>

#include "dma/heap.h"
#include "slab/thread_heap.h"

namespace hm::dma {

struct ThreadTable {
  struct Slot {
    slab::ThreadHeap* heap;
    std::uint32_t gen;  // the DMA heap's generation when `heap` was made for it
  };
  Slot slot[kMaxHeaps];
  ThreadTable* all_next;   // every table ever made (destroy releases slots in all of them)
  ThreadTable* free_next;  // tables of exited threads
};

// Every entry empty: what a thread's t_table points at until it gets a table of its own, so the
// fast paths need no null check.
extern const ThreadTable g_no_table;
extern __thread const ThreadTable* t_table __attribute__((tls_model("initial-exec")));

// The calling thread's heap for h, or nullptr when it has none yet.
inline slab::ThreadHeap* thread_heap(const DmaHeap& h) {
  const ThreadTable::Slot& s = t_table->slot[h.index];
  return s.gen == h.gen.load(std::memory_order_relaxed) ? s.heap : nullptr;
}

// The fast paths' test: whether the calling thread has a heap for DMA heap slot `index` and the
// heap is not in debug mode (g_fast_gen); the heap is then fast_slot(index).heap, never null (an
// entry's heap and generation are set and cleared together). Touches no DmaHeap.
inline const ThreadTable::Slot& fast_slot(int index) { return t_table->slot[index]; }
inline bool fast_ok(const ThreadTable::Slot& s, int index) {
  return s.gen == g_fast_gen[index].gen.load(std::memory_order_relaxed);
}

// The same, made on first use. nullptr with errno ENOMEM when no heap could be made, or with
// errno 0 when the thread is exiting (its table is gone: the caller allocates through
// with_exit_heap).
slab::ThreadHeap* thread_heap_slow(DmaHeap& h);

// Runs alloc(heap) on a thread heap made for this one call and released right after (a thread
// whose exit began allocates so: nothing would release a heap it kept).
template <class Alloc>
void* with_exit_heap(DmaHeap& h, Alloc alloc) {
  page::LockGuard g(g_lock);
  slab::ThreadHeap* th = slab::acquire_heap(h.domain());
  if (!th) return nullptr;
  void* p = alloc(th);
  slab::release_heap(th);
  return p;
}

// hm_dma_heap_destroy, under g_lock: releases every thread's heap for h.
void release_thread_heaps(DmaHeap& h);
// hm_dma_heap_trim: every thread's large-block cache of h back to h's page heap.
void flush_large_caches(DmaHeap& h);
// Installs on_thread_exit as the malloc runtime's thread-exit hook (once; under g_lock).
void install_exit_hook();

}  // namespace hm::dma
