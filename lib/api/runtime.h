// Process-wide state of the malloc: one-time initialisation (which must not allocate: it runs
// inside the first malloc, possibly before main), the calling thread's heap, thread exit, fork.
#pragma once

#include "slab/heap.h"

namespace hm::api {

// The calling thread's heap; initial-exec TLS so that reading it is one %fs-relative load,
// with no __tls_get_addr call that could itself allocate.
extern __thread slab::ThreadHeap* t_heap __attribute__((tls_model("initial-exec")));

// Initialises the process on first use and gives the thread a heap. nullptr when even the
// heap's metadata cannot be mapped (errno ENOMEM).
slab::ThreadHeap* heap_slow();

inline slab::ThreadHeap* heap() {
  slab::ThreadHeap* h = t_heap;
  return __builtin_expect(h != nullptr, 1) ? h : heap_slow();
}

}  // namespace hm::api
