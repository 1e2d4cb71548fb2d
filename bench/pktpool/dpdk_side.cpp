// DPDK's half of pktpool_bench: rte_mempool get/put and rte_pktmbuf alloc/free, shaped exactly
// like ours in pktpool_bench.cpp. Compiled with DPDK's own flags (-march=corei7 and friends).
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "bench_common.h"

namespace hm::pkt::bench {

namespace {

bool g_ready = false;
std::string g_why = "DPDK EAL not initialised";

struct Pools {
  rte_mempool* raw = nullptr;
  rte_mempool* mbufs = nullptr;
};

const Pools& pools() {
  static const Pools p = [] {
    Pools q;
    q.raw = rte_mempool_create("hm_bench_raw", kRawCount, kRawEltSize, kCacheSize, 0, nullptr,
                               nullptr, nullptr, nullptr, SOCKET_ID_ANY, 0);
    q.mbufs = rte_pktmbuf_pool_create("hm_bench_mbuf", kMbufCount, kCacheSize, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    return q;
  }();
  return p;
}

// DPDK's per-lcore caches only serve EAL threads: a benchmark thread that is not one registers
// for the run (rte_thread_register) and gives its lcore id back at the end.
class LcoreScope {
 public:
  LcoreScope() : registered_(rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() == 0) {}
  ~LcoreScope() {
    if (registered_) rte_thread_unregister();
  }
  bool ok() const { return rte_lcore_id() != LCORE_ID_ANY; }

 private:
  bool registered_;
};

bool usable(benchmark::State& state, rte_mempool* mp) {
  if (!g_ready) {
    state.SkipWithError(g_why.c_str());
    return false;
  }
  if (!mp) {
    state.SkipWithError("rte_mempool creation failed");
    return false;
  }
  return true;
}

template <unsigned N>
void BM_getput_dpdk(benchmark::State& state) {
  rte_mempool* mp = g_ready ? pools().raw : nullptr;
  if (!usable(state, mp)) return;
  LcoreScope lcore;
  if (!lcore.ok()) return state.SkipWithError("rte_thread_register failed: no per-lcore cache");
  void** objs = scratch_array();
  stamp(state);
  for (auto _ : state) {
    if (rte_mempool_get_bulk(mp, objs, N) != 0) return state.SkipWithError("rte_mempool exhausted");
    benchmark::DoNotOptimize(objs[0]);
    benchmark::ClobberMemory();
    rte_mempool_put_bulk(mp, objs, N);
  }
  state.SetItemsProcessed(state.iterations() * N);
}

void BM_mbuf_dpdk(benchmark::State& state) {
  rte_mempool* mp = g_ready ? pools().mbufs : nullptr;
  if (!usable(state, mp)) return;
  LcoreScope lcore;
  if (!lcore.ok()) return state.SkipWithError("rte_thread_register failed: no per-lcore cache");
  stamp(state);
  for (auto _ : state) {
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    if (!m) return state.SkipWithError("rte_pktmbuf_alloc: exhausted");
    benchmark::DoNotOptimize(m);
    rte_pktmbuf_free(m);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_handoff_dpdk(benchmark::State& state) {
  static Handoff q;
  rte_mempool* mp = g_ready ? pools().mbufs : nullptr;
  if (!usable(state, mp)) return;
  LcoreScope lcore;
  if (!lcore.ok()) return state.SkipWithError("rte_thread_register failed: no per-lcore cache");
  rte_mbuf* ms[kHandoffBurst];
  bool producer = state.thread_index() == 0;
  PinScope pin(state.thread_index());
  BusyClock busy;
  stamp(state);
  for (auto _ : state) {
    if (producer) {
      busy.begin();
      while (rte_pktmbuf_alloc_bulk(mp, ms, kHandoffBurst) != 0) sched_yield();
      busy.lap(BusyClock::kPool);
      q.push(reinterpret_cast<void**>(ms));
    } else {
      q.pop(reinterpret_cast<void**>(ms));
      busy.begin();
      for (rte_mbuf* m : ms) rte_pktmbuf_free(m);
      busy.lap(BusyClock::kPool);
    }
  }
  busy.report(state, producer ? "rx" : "tx", kHandoffBurst);
  state.SetItemsProcessed(producer ? state.iterations() * kHandoffBurst : 0);
}

template <unsigned B>
void BM_driver_dpdk(benchmark::State& state) {
  rte_mempool* mp = g_ready ? pools().mbufs : nullptr;
  if (!usable(state, mp)) return;
  LcoreScope lcore;
  if (!lcore.ok()) return state.SkipWithError("rte_thread_register failed: no per-lcore cache");
  std::vector<rte_mbuf*> ring(kInFlight);
  for (unsigned i = 0; i < kInFlight; i += B) {
    if (rte_pktmbuf_alloc_bulk(mp, &ring[i], B) != 0) return state.SkipWithError("rte_mempool exhausted");
    for (unsigned j = i; j < i + B; ++j) *rte_pktmbuf_append(ring[j], kAppend) = static_cast<char>(j);
  }
  unsigned head = 0, sum = 0;
  stamp(state);
  for (auto _ : state) {
    rte_mbuf** slot = &ring[head];
    for (unsigned i = 0; i < B; ++i) sum += *rte_pktmbuf_mtod(slot[i], unsigned char*);
    rte_pktmbuf_free_bulk(slot, B);
    if (rte_pktmbuf_alloc_bulk(mp, slot, B) != 0) return state.SkipWithError("rte_mempool exhausted");
    for (unsigned i = 0; i < B; ++i) *rte_pktmbuf_append(slot[i], kAppend) = static_cast<char>(i);
    head = (head + B) % kInFlight;
  }
  benchmark::DoNotOptimize(sum);
  rte_pktmbuf_free_bulk(ring.data(), kInFlight);
  state.SetItemsProcessed(state.iterations() * B);
}

template <unsigned B>
void BM_driver2_dpdk(benchmark::State& state) {
  static Fifo q;
  rte_mempool* mp = g_ready ? pools().mbufs : nullptr;
  if (!usable(state, mp)) return;
  LcoreScope lcore;
  if (!lcore.ok()) return state.SkipWithError("rte_thread_register failed: no per-lcore cache");
  rte_mbuf* ms[B];
  bool rx = state.thread_index() == 0;
  unsigned sum = 0;
  PinScope pin(state.thread_index());
  BusyClock busy;
  stamp(state);
  for (auto _ : state) {
    if (rx) {
      busy.begin();
      while (rte_pktmbuf_alloc_bulk(mp, ms, B) != 0) sched_yield();
      busy.lap(BusyClock::kPool);
      for (unsigned i = 0; i < B; ++i) *rte_pktmbuf_append(ms[i], kAppend) = static_cast<char>(i);
      busy.lap(BusyClock::kTouch);
      q.push(reinterpret_cast<void**>(ms), B);
    } else {
      q.pop(reinterpret_cast<void**>(ms), B);
      busy.begin();
      for (unsigned i = 0; i < B; ++i) sum += *rte_pktmbuf_mtod(ms[i], unsigned char*);
      busy.lap(BusyClock::kTouch);
      rte_pktmbuf_free_bulk(ms, B);
      busy.lap(BusyClock::kPool);
    }
  }
  benchmark::DoNotOptimize(sum);
  busy.report(state, rx ? "rx" : "tx", B);
  state.SetItemsProcessed(rx ? state.iterations() * B : 0);
}

}  // namespace

void dpdk_fini() {
  if (g_ready) rte_eal_cleanup();
  g_ready = false;
}

bool dpdk_init(const std::string& args, std::string* why) {
  std::vector<std::string> words{"pktpool_bench"};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(words.size()), argv.data()) < 0) {
    g_why = std::string("DPDK EAL init failed: ") + rte_strerror(rte_errno);
    *why = g_why;
    return false;
  }
  g_ready = true;
  if (!pools().raw || !pools().mbufs) {
    *why = std::string("DPDK mempool creation failed: ") + rte_strerror(rte_errno);
    return false;
  }
  return true;
}

BENCHMARK_TEMPLATE(BM_driver_dpdk, 1);
BENCHMARK_TEMPLATE(BM_driver_dpdk, 4);
BENCHMARK_TEMPLATE(BM_driver_dpdk, 32);
BENCHMARK_TEMPLATE(BM_driver2_dpdk, 1)->Threads(2);
BENCHMARK_TEMPLATE(BM_driver2_dpdk, 32)->Threads(2);
BENCHMARK_TEMPLATE(BM_getput_dpdk, 1)->Apply(thread_counts);
BENCHMARK_TEMPLATE(BM_getput_dpdk, 4)->Apply(thread_counts);
BENCHMARK_TEMPLATE(BM_getput_dpdk, 32)->Apply(thread_counts);
BENCHMARK(BM_mbuf_dpdk)->Apply(thread_counts);
BENCHMARK(BM_handoff_dpdk)->Threads(2);

}  // namespace hm::pkt::bench
