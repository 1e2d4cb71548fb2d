// hugemem's pktpool against DPDK's rte_mempool / rte_mbuf, same shapes, same run (the DPDK half
// is dpdk_side.cpp). Figures: items_per_second is per core (CPU time summed over threads).
//
//   pktpool_bench [--eal="..."] [--best=4K|THP|2M|1G] [benchmark flags]
//   default EAL arguments: --no-huge --no-pci --no-shconf -l 0-1 --log-level=0
//   --best: the best backing our pools may take. THP by default: the best a machine offers
//   without reserving hugetlb pages (so the bench takes no page another program reserved).
//   DPDK's EAL with --no-huge maps plain anonymous memory, 4 KiB pages where THP is in madvise
//   mode; --best=4K puts ours on the same footing.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "bench_common.h"
#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt::bench {

namespace {

os::Backing g_best = os::Backing::THP;

struct Pools {
  std::unique_ptr<Pool> raw;
  std::unique_ptr<Pool> mbufs;
};

const Pools& pools() {
  static const Pools p = [] {
    Pools q;
    Config raw;
    raw.name = "bench-raw";
    raw.count = kRawCount;
    raw.elt_size = kRawEltSize;
    raw.cache_size = kCacheSize;
    raw.best = g_best;
    q.raw = Pool::create(raw);
    Config mb;
    mb.name = "bench-mbuf";
    mb.count = kMbufCount;
    mb.cache_size = kCacheSize;
    mb.best = g_best;
    q.mbufs = Pool::create(mb);
    if (q.raw && q.mbufs)
      std::fprintf(stderr, "hugemem pools: raw on %s, mbufs on %s\n", os::backing_name(q.raw->backing()),
                   os::backing_name(q.mbufs->backing()));
    return q;
  }();
  return p;
}

template <unsigned N>
void BM_getput_ours(benchmark::State& state) {
  Pool* p = pools().raw.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  void** objs = scratch_array();
  for (auto _ : state) {
    if (p->get_bulk(objs, N) != Status::Ok) return state.SkipWithError("pool exhausted");
    benchmark::DoNotOptimize(objs[0]);
    benchmark::ClobberMemory();
    p->put_bulk(objs, N);
  }
  state.SetItemsProcessed(state.iterations() * N);
}

void BM_mbuf_ours(benchmark::State& state) {
  Pool* p = pools().mbufs.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  for (auto _ : state) {
    Mbuf* m = Mbuf::alloc(*p);
    if (!m) return state.SkipWithError("Mbuf::alloc: exhausted");
    benchmark::DoNotOptimize(m);
    Mbuf::free(m);
  }
  state.SetItemsProcessed(state.iterations());
}

// Threads(2) only: thread 0 allocates and hands off, thread 1 frees (bench_common.h). Items are
// mbufs passed, counted once; CPU time is both threads', so the rate is per core.
void BM_handoff_ours(benchmark::State& state) {
  static Handoff q;
  Pool* p = pools().mbufs.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  Mbuf* ms[kHandoffBurst];
  bool producer = state.thread_index() == 0;
  for (auto _ : state) {
    if (producer) {
      while (Mbuf::alloc_bulk(*p, ms, kHandoffBurst) != Status::Ok) sched_yield();
      q.push(reinterpret_cast<void**>(ms));
    } else {
      q.pop(reinterpret_cast<void**>(ms));
      for (Mbuf* m : ms) Mbuf::free(m);
    }
  }
  state.SetItemsProcessed(producer ? state.iterations() * kHandoffBurst : 0);
}

BENCHMARK_TEMPLATE(BM_getput_ours, 1)->Apply(thread_counts);
BENCHMARK_TEMPLATE(BM_getput_ours, 4)->Apply(thread_counts);
BENCHMARK_TEMPLATE(BM_getput_ours, 32)->Apply(thread_counts);
BENCHMARK(BM_mbuf_ours)->Apply(thread_counts);
BENCHMARK(BM_handoff_ours)->Threads(2);

#ifndef HUGEMEM_BENCH_DPDK
}  // namespace
bool dpdk_init(const std::string&, std::string* why) {
  *why = "built without libdpdk";
  return false;
}
namespace {
#endif

// EAL init pins the calling thread to the first lcore's CPU; benchmark threads would inherit
// that and share one core. Give the main thread every CPU back.
void unpin_main_thread() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

}  // namespace
}  // namespace hm::pkt::bench

int main(int argc, char** argv) {
  std::string eal = "--no-huge --no-pci --no-shconf -l 0-1 --log-level=0";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--eal=", 6) == 0)
      eal = argv[i] + 6;
    else if (std::strcmp(argv[i], "--best=1G") == 0)
      hm::pkt::bench::g_best = hm::os::Backing::Huge1G;
    else if (std::strcmp(argv[i], "--best=2M") == 0)
      hm::pkt::bench::g_best = hm::os::Backing::Huge2M;
    else if (std::strcmp(argv[i], "--best=THP") == 0)
      hm::pkt::bench::g_best = hm::os::Backing::THP;
    else if (std::strcmp(argv[i], "--best=4K") == 0)
      hm::pkt::bench::g_best = hm::os::Backing::Small;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  std::string why;
  if (hm::pkt::bench::dpdk_init(eal, &why))
    std::fprintf(stderr, "DPDK EAL up (%s)\n", eal.c_str());
  else
    std::fprintf(stderr, "DPDK unavailable, measuring hugemem only: %s\n", why.c_str());
  hm::pkt::bench::unpin_main_thread();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
