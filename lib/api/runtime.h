// Process-wide state of the malloc: one-time initialisation (which must not allocate: it runs
// inside the first malloc, possibly before main), the calling thread's heap, thread exit, fork.
#pragma once

#include <atomic>

#include "slab/thread_heap.h"

namespace hm::api {

// The heap of a thread that has none (yet, or any more), and of every thread in checked and
// secure mode: owns and allocates nothing, and hands each malloc and free to the slow paths
// (slab::Unready).
extern slab::ThreadHeap g_unready;
// The calling thread's heap as the fast paths see it: initial-exec TLS, so reading it is one
// %fs-relative load with no __tls_get_addr call that could itself allocate. Never null: it is
// g_unready until the thread has a heap, after its heap was released, and always in checked mode
// (HUGEMEM_CHECK=1), which sends every call down the slow paths that check.
extern __thread slab::ThreadHeap* t_heap __attribute__((tls_model("initial-exec")));
// The calling thread's heap in both modes.
extern __thread slab::ThreadHeap* t_own_heap __attribute__((tls_model("initial-exec")));

// Set when the thread's heap was released at its exit: its last frees (glibc's own, after the
// destructors) go through the orphan heap instead of making a heap that nothing would release.
extern __thread bool t_exited __attribute__((tls_model("initial-exec")));

// Runs at a thread's exit, before its malloc heap is released, when set (once, before the
// first thread could need it): the DMA heaps give the thread's heaps of theirs back (lib/dma).
extern std::atomic<void (*)()> g_thread_exit_hook;

// Initialises the process on first use and gives the thread a heap. nullptr when even the
// heap's metadata cannot be mapped (errno ENOMEM).
slab::ThreadHeap* heap_slow();

// Writes the statistics (malloc_stats' text) to fd.
void print_stats(int fd);
// HUGEMEM_VERBOSE: writes the settings in effect and the page backing the machine allows to fd
// (at init: must not allocate).
void print_settings(int fd, bool show_stats);


}  // namespace hm::api
