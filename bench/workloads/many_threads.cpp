// Thousands of live threads, fixed work: `threads` threads (small `stack`s, set by pthread
// attributes) each allocate `objects` objects of 100 B .. 19 KiB (log-uniform), write every page
// of them, and wait at a barrier (std::atomic wait/notify) until all threads hold theirs; then
// each frees its objects and exits. The main thread joins them all, waits `settle_ms` and reports
// its resident memory then as `final_rss_kib` (peak RSS comes from the harness). Per-thread heap
// set-up, memory held per thread, and what is given back after the threads are gone.
// Arguments: threads=2000 objects=20 stack=64k settle_ms=200.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "common.h"
#include "rss.h"

namespace {

struct Shared {
  unsigned threads;
  std::size_t objects;
  const wl::SizeTable* sizes;
  std::atomic<unsigned> arrived{0};
};

struct Arg {
  Shared* sh;
  unsigned index;
  std::uint64_t sum;
};

void* body(void* p) {
  Arg& a = *static_cast<Arg*>(p);
  Shared& sh = *a.sh;
  wl::Rng r(1000 + a.index);
  unsigned char* mine[64];
  std::size_t n[64];
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < sh.objects; ++i) {
    n[i] = (*sh.sizes)(r);
    mine[i] = static_cast<unsigned char*>(std::malloc(n[i]));
    wl::touch_pages(mine[i], n[i], static_cast<unsigned char>(n[i]));
  }
  // All threads hold their objects at once before anyone frees.
  const unsigned me = sh.arrived.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (me == sh.threads) {
    sh.arrived.notify_all();
  } else {
    for (unsigned v = me; v < sh.threads; v = sh.arrived.load(std::memory_order_acquire)) sh.arrived.wait(v);
  }
  for (std::size_t i = 0; i < sh.objects; ++i) {
    sum += mine[i][0] + mine[i][n[i] - 1];
    std::free(mine[i]);
  }
  a.sum = sum;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2000));
  const std::size_t objects = std::min<std::uint64_t>(wl::arg(argc, argv, "objects", 20), 64);
  const std::size_t stack = wl::arg(argc, argv, "stack", 64 << 10);
  const std::uint64_t settle_ms = wl::arg(argc, argv, "settle_ms", 200);
  const wl::SizeTable sizes(100, 19 << 10, 11);

  Shared sh;
  sh.threads = threads;
  sh.objects = objects;
  sh.sizes = &sizes;
  std::vector<Arg> args(threads);
  std::vector<pthread_t> tids(threads);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (pthread_attr_setstacksize(&attr, stack) != 0) {
    std::fprintf(stderr, "many_threads: stack size %zu refused\n", stack);
    return 1;
  }
  const double t0 = wl::now();
  for (unsigned t = 0; t < threads; ++t) {
    args[t] = {&sh, t, 0};
    if (const int e = pthread_create(&tids[t], &attr, body, &args[t]); e != 0) {
      std::fprintf(stderr, "many_threads: pthread_create #%u: %s\n", t, std::strerror(e));
      std::_Exit(1);  // the started ones wait at the barrier for ever
    }
  }
  pthread_attr_destroy(&attr);
  std::uint64_t sum = 0;
  for (unsigned t = 0; t < threads; ++t) {
    pthread_join(tids[t], nullptr);
    sum += args[t].sum;
  }
  const double seconds = wl::now() - t0;
  const double idle = wl::settle(settle_ms);
  const std::uint64_t rss = wl::resident_kib();
  char extra[96];
  std::snprintf(extra, sizeof extra, "final_rss_kib=%llu idle_seconds=%.6f", static_cast<unsigned long long>(rss),
                idle);
  wl::print_result("many_threads", std::uint64_t(threads) * objects, seconds, sum, extra);
}
