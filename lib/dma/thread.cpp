#include "dma/thread.h"

#include <cerrno>
#include <initializer_list>
#include <new>

#include "api/runtime.h"

namespace hm::dma {

const ThreadTable g_no_table{};
__thread const ThreadTable* t_table __attribute__((tls_model("initial-exec"))) = &g_no_table;

namespace {

// Under g_lock.
ThreadTable* g_all = nullptr;
ThreadTable* g_free = nullptr;
char* g_chunk = nullptr;     // tables are carved from mappings of their own, never freed
std::size_t g_chunk_left = 0;
constexpr std::size_t kChunkBytes = 64 * os::kPageSize;
constexpr std::size_t kStride = (sizeof(ThreadTable) + 63) & ~std::size_t{63};

ThreadTable* new_table() {
  if (ThreadTable* t = g_free) {
    g_free = t->free_next;
    t->free_next = nullptr;
    return t;
  }
  if (g_chunk_left == 0) {
    os::Mapping m = os::map(kChunkBytes, os::kPageSize, os::Backing::Small, "hugemem-dma-threads", true);
    if (!m) return nullptr;
    g_chunk = static_cast<char*>(m.addr);
    g_chunk_left = kChunkBytes / kStride;
  }
  auto* t = new (g_chunk) ThreadTable{};
  g_chunk += kStride;
  --g_chunk_left;
  t->all_next = g_all;
  g_all = t;
  return t;
}

// A thread's exit, before its malloc heap goes: its heaps of live DMA heaps go back (their
// slabs to the DMA heaps' domains), the table to the free list.
void on_thread_exit() {
  if (t_table == &g_no_table) return;
  auto* t = const_cast<ThreadTable*>(t_table);  // this thread's own table
  page::LockGuard g(g_lock);
  for (int i = 0; i < kMaxHeaps; ++i) {
    for (slab::ThreadHeap** e : {&t->fast[i], &t->checked[i]}) {
      if (*e) slab::release_heap(*e);
      *e = nullptr;
    }
  }
  t_table = &g_no_table;
  t->free_next = g_free;
  g_free = t;
}

}  // namespace

slab::ThreadHeap* thread_heap_slow(DmaHeap& h) {
  if (api::t_exited) {
    errno = 0;
    return nullptr;
  }
  // The malloc's own heap first: it initialises the process (the freelist key, the options) and
  // registers the thread for the exit handler that runs on_thread_exit.
  if (!api::t_own_heap && !api::heap_slow()) return nullptr;
  page::LockGuard g(g_lock);
  if (!h.live()) {
    errno = EINVAL;
    return nullptr;
  }
  if (t_table == &g_no_table) {
    ThreadTable* t = new_table();
    if (!t) {
      errno = ENOMEM;
      return nullptr;
    }
    t_table = t;
  }
  slab::ThreadHeap* th = slab::acquire_heap(h.domain());
  if (!th) return nullptr;
  auto* t = const_cast<ThreadTable*>(t_table);  // this thread's own
  (h.debug ? t->checked : t->fast)[h.index] = th;
  return th;
}

void release_thread_heaps(DmaHeap& h) {
  for (ThreadTable* t = g_all; t; t = t->all_next) {
    for (slab::ThreadHeap** e : {&t->fast[h.index], &t->checked[h.index]}) {
      if (*e) slab::release_heap(*e);
      *e = nullptr;
    }
  }
}

void flush_large_caches(DmaHeap& h) {
  page::LockGuard g(g_lock);
  for (ThreadTable* t = g_all; t; t = t->all_next) {
    slab::ThreadHeap* e = (h.debug ? t->checked : t->fast)[h.index];
    if (e) e->large_cache.flush();  // any thread may empty a cache
  }
}

void install_exit_hook() { api::g_thread_exit_hook.store(&on_thread_exit, std::memory_order_release); }

}  // namespace hm::dma
