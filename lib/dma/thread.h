// Each thread's heaps of the DMA heaps: a table whose entry i names the thread heap
// (slab/thread_heap.h) it allocates from in DMA heap i, made on first use with acquire_heap (its
// node is the heap's domain). A heap in debug mode has its entries in `checked`, so that the
// fast paths, which read `fast` only, send it down the slow paths that poison and verify.
//
// Invariant: a non-null entry i belongs to the DMA heap living in slot i. Entries are set under
// g_lock, and cleared under it at the thread's exit and, in every thread's table, when the heap
// is destroyed; so the fast paths need no generation check, only a load and a null test. A
// thread reads its own table without the lock: the only other writer is hm_dma_heap_destroy,
// which may run only when no thread uses that heap.
//
// The table is reached through one initial-exec TLS pointer, which points at an all-empty table
// until the thread has one of its own (no null check on the fast paths). Given back at thread
// exit (api/runtime.cpp runs the hook before the malloc's heap is released); kept for the next
// thread, never freed.
#pragma once

#include "dma/dma_heap.h"
#include "slab/thread_heap.h"

namespace hm::dma {

struct ThreadTable {
  // One entry more than slots: g_dead's (dma_heap.h), which stays null.
  slab::ThreadHeap* fast[kMaxHeaps + 1];
  slab::ThreadHeap* checked[kMaxHeaps + 1];
  ThreadTable* all_next;   // every table ever made (destroy clears entries in all of them)
  ThreadTable* free_next;  // tables of exited threads
};

extern const ThreadTable g_no_table;
extern __thread const ThreadTable* t_table __attribute__((tls_model("initial-exec")));

// The fast paths: the calling thread's heap for DMA heap slot `index`, or nullptr (none yet, or
// a heap in debug mode).
inline slab::ThreadHeap* fast_heap(unsigned index) { return t_table->fast[index]; }

// The calling thread's heap for h, or nullptr when it has none yet.
inline slab::ThreadHeap* thread_heap(const DmaHeap& h) {
  return h.debug ? t_table->checked[h.index] : t_table->fast[h.index];
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

// hm_dma_heap_destroy, under g_lock: releases every thread's heap for h and clears its entries.
void release_thread_heaps(DmaHeap& h);
// hm_dma_heap_trim: every thread's large-block cache of h back to h's page heap.
void flush_large_caches(DmaHeap& h);
// Installs on_thread_exit as the malloc runtime's thread-exit hook (once; under g_lock).
void install_exit_hook();

}  // namespace hm::dma
