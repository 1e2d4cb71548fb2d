#include "api/runtime.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

#include "hugemem/hugemem.h"
#include "api/secure.h"
#include "os/env.h"
#include "os/once.h"
#include "os/os.h"
#include "page/heap.h"
#include "slab/node.h"

namespace hm::api {

__thread slab::ThreadHeap* t_heap __attribute__((tls_model("initial-exec"))) = &g_unready;
__thread slab::ThreadHeap* t_own_heap __attribute__((tls_model("initial-exec"))) = nullptr;
__thread bool t_exited __attribute__((tls_model("initial-exec"))) = false;

namespace {

os::Once g_init;
pthread_key_t g_key;
bool g_key_ok = false;
// Where HUGEMEM_SHOW_STATS writes at exit: a duplicate of stderr taken at init, so the report
// survives a program that closes (or reuses) fd 2 before it exits.
int g_stats_fd = -1;
bool g_show_stats = false;  // HUGEMEM_SHOW_STATS, read once at init

// Runs when a thread exits (and again, up to PTHREAD_DESTRUCTOR_ITERATIONS times, if a later
// destructor allocated and so made a new heap).
void thread_exit(void* arg) {
  auto* h = static_cast<slab::ThreadHeap*>(arg);
  t_heap = &g_unready;
  t_own_heap = nullptr;
  t_exited = true;
  if (auto hook = g_thread_exit_hook.load(std::memory_order_acquire)) hook();
  slab::release_heap(h);
}

// fork(): every lock is taken before and released (parent) or reset (child) after, so the child
// never inherits a lock held by a thread that does not exist in it. Order: heaps, nodes, pages.
void before_fork() {
  secure::lock();
  slab::lock_exit_for_fork();
  slab::lock_heaps();
  slab::lock_nodes();
  page::lock_all();
}
void after_fork_parent() {
  page::unlock_all();
  slab::unlock_nodes();
  slab::unlock_heaps();
  slab::unlock_exit_for_fork();
  secure::unlock();
}
void after_fork_child() {
  page::reset_all();
  slab::reset_nodes();
  slab::reset_heaps_after_fork(t_own_heap);
  slab::reset_exit_after_fork();
  secure::reset_lock();
}

// The fork handlers must be in place before a fork can copy a lock held by another thread. They
// only take and reset static locks, so they are valid before init as well as after. Registered
// exactly once (twice would take every lock twice): by init, just after it completes, since
// pthread_atfork waits on glibc's fork lock and a forking thread may be waiting on init; or by
// the load-time constructor, whichever comes first.
std::atomic<bool> g_fork_handlers{false};
void register_fork_handlers() {
  if (!g_fork_handlers.exchange(true, std::memory_order_acq_rel))
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void init() {
  if (!g_init.begin()) return;
  // Nothing here may allocate: probing reads /sys into stack buffers, env() scans environ.
  page::configure_from_env();
  slab::g_link_key = os::random_u64();
  slab::g_checked = os::env_flag("HUGEMEM_CHECK", false);
  secure::g_on = os::env_flag("HUGEMEM_SECURE", secure::g_on);
  if (secure::g_on) {
    secure::init();
    slab::g_checked = true;  // the slow paths, with fill on free and verify on reuse
  }
  g_show_stats = os::env_flag("HUGEMEM_SHOW_STATS", false);
  if (g_show_stats) g_stats_fd = os::dup_cloexec(2, 3);
  if (os::env_flag("HUGEMEM_VERBOSE", false)) print_settings(2, g_show_stats);
  g_key_ok = pthread_key_create(&g_key, thread_exit) == 0;  // a slot in a static table
  g_init.finish();
  register_fork_handlers();
}

// Before the program's own constructors and (usually) its threads.
__attribute__((constructor(101))) void at_load() {
  register_fork_handlers();
  init();
}

// HUGEMEM_SHOW_STATS=1 prints the statistics when the program exits.
__attribute__((destructor)) void show_stats_at_exit() {
  if (g_show_stats) print_stats(g_stats_fd >= 0 ? g_stats_fd : 2);
}

}  // namespace

std::atomic<void (*)()> g_thread_exit_hook{nullptr};

slab::ThreadHeap* heap_slow() {
  if (!g_init.done()) init();
  if (t_own_heap) return t_own_heap;  // made by an allocation inside init()
  slab::ThreadHeap* h = slab::acquire_heap(os::current_node());
  if (!h) return nullptr;
  t_own_heap = h;
  if (!slab::g_checked) t_heap = h;
  if (g_key_ok) pthread_setspecific(g_key, h);  // may allocate: t_heap is already set
  return h;
}

}  // namespace hm::api
