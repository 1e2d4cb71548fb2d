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
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt::bench {

namespace {

Backing g_best = Backing::THP;

struct Pools {
  std::unique_ptr<Pool> raw;
  std::unique_ptr<Pool> mbufs;
};

Pools& pools() {
  static Pools p = [] {
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
      std::fprintf(stderr, "hugemem pools: raw on %s, mbufs on %s (%zu-byte elements)\n", backing_name(q.raw->backing()),
                   backing_name(q.mbufs->backing()), q.mbufs->elt_size());
    return q;
  }();
  return p;
}

template <unsigned N>
void BM_getput_ours(benchmark::State& state) {
  Pool* p = pools().raw.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  void** objs = scratch_array();
  stamp(state);
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
  stamp(state);
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
  PinScope pin(state.thread_index());
  BusyClock busy;
  stamp(state);
  for (auto _ : state) {
    if (producer) {
      busy.begin();
      while (Mbuf::alloc_bulk(*p, ms, kHandoffBurst) != Status::Ok) sched_yield();
      busy.lap(BusyClock::kPool);
      q.push(reinterpret_cast<void**>(ms));
    } else {
      q.pop(reinterpret_cast<void**>(ms));
      busy.begin();
      for (Mbuf* m : ms) Mbuf::free(m);
      busy.lap(BusyClock::kPool);
    }
  }
  busy.report(state, producer ? "rx" : "tx", kHandoffBurst);
  state.SetItemsProcessed(producer ? state.iterations() * kHandoffBurst : 0);
}

template <unsigned B>
void BM_driver_ours(benchmark::State& state) {
  Pool* p = pools().mbufs.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  std::vector<Mbuf*> ring(kInFlight);
  for (unsigned i = 0; i < kInFlight; i += B) {
    if (Mbuf::alloc_bulk(*p, &ring[i], B) != Status::Ok) return state.SkipWithError("pool exhausted");
    for (unsigned j = i; j < i + B; ++j) *ring[j]->append(kAppend) = static_cast<char>(j);
  }
  unsigned head = 0, sum = 0;
  stamp(state);
  for (auto _ : state) {
    Mbuf** slot = &ring[head];
    for (unsigned i = 0; i < B; ++i) sum += *slot[i]->mtod<unsigned char>();
    Mbuf::free_bulk(slot, B);
    if (Mbuf::alloc_bulk(*p, slot, B) != Status::Ok) return state.SkipWithError("pool exhausted");
    for (unsigned i = 0; i < B; ++i) *slot[i]->append(kAppend) = static_cast<char>(i);
    head = (head + B) % kInFlight;
  }
  benchmark::DoNotOptimize(sum);
  Mbuf::free_bulk(ring.data(), kInFlight);
  state.SetItemsProcessed(state.iterations() * B);
}

template <unsigned B>
void BM_driver2_ours(benchmark::State& state) {
  static Fifo q;
  Pool* p = pools().mbufs.get();
  if (!p) return state.SkipWithError("Pool::create failed");
  Mbuf* ms[B];
  bool rx = state.thread_index() == 0;
  unsigned sum = 0;
  PinScope pin(state.thread_index());
  BusyClock busy;
  stamp(state);
  for (auto _ : state) {
    if (rx) {
      busy.begin();
      while (Mbuf::alloc_bulk(*p, ms, B) != Status::Ok) sched_yield();
      busy.lap(BusyClock::kPool);
      for (unsigned i = 0; i < B; ++i) *ms[i]->append(kAppend) = static_cast<char>(i);
      busy.lap(BusyClock::kTouch);
      q.push(reinterpret_cast<void**>(ms), B);
    } else {
      q.pop(reinterpret_cast<void**>(ms), B);
      busy.begin();
      for (unsigned i = 0; i < B; ++i) sum += *ms[i]->template mtod<unsigned char>();
      busy.lap(BusyClock::kTouch);
      Mbuf::free_bulk(ms, B);
      busy.lap(BusyClock::kPool);
    }
  }
  benchmark::DoNotOptimize(sum);
  busy.report(state, rx ? "rx" : "tx", B);
  state.SetItemsProcessed(rx ? state.iterations() * B : 0);
}

BENCHMARK_TEMPLATE(BM_driver_ours, 1);
BENCHMARK_TEMPLATE(BM_driver_ours, 4);
BENCHMARK_TEMPLATE(BM_driver_ours, 32);
BENCHMARK_TEMPLATE(BM_driver2_ours, 1)->Threads(2);
BENCHMARK_TEMPLATE(BM_driver2_ours, 32)->Threads(2);
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
void dpdk_fini() {}
namespace {
#endif

// Hugepages for both sides (--huge, the default as root): 2 MiB pages reserved here for the run
// and given back at the end (nr_hugepages restored and read back).
constexpr const char* kNr2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
constexpr long kHugePages = 160;  // ours ~11 pages, DPDK's pools and EAL ~40: ample
long read_long(const char* path) {
  long v = -1;
  if (FILE* f = std::fopen(path, "r")) {
    if (std::fscanf(f, "%ld", &v) != 1) v = -1;
    std::fclose(f);
  }
  return v;
}
bool write_long(const char* path, long v) {
  FILE* f = std::fopen(path, "w");
  if (!f) return false;
  bool ok = std::fprintf(f, "%ld\n", v) > 0;
  return std::fclose(f) == 0 && ok;
}
long g_nr_before = -1;
long g_nr_added = 0;  // what this process added: given back relative to the value then, so that
                      // another program resizing the pool meanwhile keeps its own pages

}  // namespace
void dpdk_fini();
namespace {

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
  using namespace hm::pkt::bench;
  std::string eal;
  bool huge = geteuid() == 0, best_given = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--huge") == 0)
      huge = true;
    else if (std::strcmp(argv[i], "--no-huge") == 0)
      huge = false;
    else if (std::strncmp(argv[i], "--eal=", 6) == 0)
      eal = argv[i] + 6;
    else if (std::strcmp(argv[i], "--best=1G") == 0)
      hm::pkt::bench::g_best = hm::pkt::Backing::Huge1G;
    else if (std::strcmp(argv[i], "--best=2M") == 0)
      hm::pkt::bench::g_best = hm::pkt::Backing::Huge2M;
    else if (std::strcmp(argv[i], "--best=THP") == 0)
      hm::pkt::bench::g_best = hm::pkt::Backing::THP;
    else if (std::strcmp(argv[i], "--best=4K") == 0)
      hm::pkt::bench::g_best = hm::pkt::Backing::Small;
    else
      argv[kept++] = argv[i];
    if (std::strncmp(argv[i], "--best=", 7) == 0) best_given = true;
  }
  argc = kept;
  if (huge) {
    // Both sides on 2 MiB hugetlb pages: DPDK's EAL in memory (memfd, no hugetlbfs mount),
    // ours with Huge2M as the best backing.
    g_nr_before = read_long(kNr2M);
    long want = g_nr_before + kHugePages;
    if (g_nr_before < 0 || !write_long(kNr2M, want)) {
      std::fprintf(stderr, "cannot reserve 2 MiB pages (%s): needs root; run with --no-huge\n", kNr2M);
      return 1;
    }
    long got = read_long(kNr2M);
    g_nr_added = got - g_nr_before;
    std::fprintf(stderr, "2 MiB hugepages: %ld -> %ld reserved for the run (asked %ld)\n", g_nr_before, got, want);
    if (got < g_nr_before + 64) {
      write_long(kNr2M, read_long(kNr2M) - g_nr_added);
      std::fprintf(stderr, "too few 2 MiB pages (%ld); released, run with --no-huge\n", got - g_nr_before);
      return 1;
    }
    if (!best_given) g_best = hm::pkt::Backing::Huge2M;
    if (eal.empty()) eal = "--in-memory --no-pci -l 0-1 --log-level=0";
  } else if (eal.empty()) {
    eal = "--no-huge --no-pci --no-shconf -l 0-1 --log-level=0";
  }
  pools();  // ours first, from the reservation
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
  pools().raw.reset();
  pools().mbufs.reset();
  dpdk_fini();
  if (g_nr_before >= 0) {
    long now = read_long(kNr2M), to = now - g_nr_added < 0 ? 0 : now - g_nr_added;
    write_long(kNr2M, to);
    // Pages DPDK's EAL still maps stay as surplus pages until this process exits.
    std::fprintf(stderr, "2 MiB hugepages released: nr_hugepages %ld -> %ld (the %ld added; reads %ld until exit)\n",
                 now, to, g_nr_added, read_long(kNr2M));
  }
  return 0;
}
