// DPDK's half of dma_bench: rte_malloc + rte_free and rte_malloc_virt2iova, shaped exactly like
// ours in dma_bench.cpp. Compiled with DPDK's own flags.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <sstream>
#include <vector>

#include "bench_common.h"

namespace hm::dma::bench {
namespace {

bool g_ready = false;
std::string g_why = "DPDK EAL not initialised";

// As bench/pktpool: a benchmark thread that is not an EAL thread registers for the run.
class LcoreScope {
 public:
  LcoreScope() : registered_(rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() == 0) {}
  ~LcoreScope() {
    if (registered_) rte_thread_unregister();
  }

 private:
  bool registered_;
};

void BM_rte_malloc_free(benchmark::State& state) {
  if (!g_ready) return state.SkipWithError(g_why.c_str());
  LcoreScope lcore;
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = rte_malloc(nullptr, n, 0);
    if (!p) return state.SkipWithError("rte_malloc failed");
    benchmark::DoNotOptimize(p);
    rte_free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_rte_malloc_batch(benchmark::State& state) {
  if (!g_ready) return state.SkipWithError(g_why.c_str());
  LcoreScope lcore;
  auto n = static_cast<std::size_t>(state.range(0));
  void* p[kBatch];
  for (auto _ : state) {
    for (auto& x : p)
      if (!(x = rte_malloc(nullptr, n, 0))) return state.SkipWithError("rte_malloc failed");
    benchmark::DoNotOptimize(p[kBatch - 1]);
    for (void* x : p) rte_free(x);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// rte_malloc_virt2iova takes only the start of an rte_malloc'd block (it reads the element
// header before it): a byte inside is its block's IOVA plus the offset, as DPDK users write it.
void BM_rte_malloc_virt2iova(benchmark::State& state) {
  if (!g_ready) return state.SkipWithError(g_why.c_str());
  LcoreScope lcore;
  std::vector<char*> live(kLiveBlocks);
  for (auto& b : live) b = static_cast<char*>(rte_malloc(nullptr, kIovaBlock, 0));
  const auto& pick = picks();
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    std::uint32_t r = pick[i++ & (pick.size() - 1)];
    sum += rte_malloc_virt2iova(live[r % kLiveBlocks]) + (r >> 16) % kIovaBlock;
  }
  benchmark::DoNotOptimize(sum);
  if (sum == 0 || live[0] == nullptr) state.SkipWithError("rte_malloc_virt2iova gave nothing");
  for (char* b : live) rte_free(b);
  state.SetItemsProcessed(state.iterations());
}

// rte_mem_virt2iova: any byte of DPDK's memory (a search of its memory segments).
void BM_rte_mem_virt2iova(benchmark::State& state) {
  if (!g_ready) return state.SkipWithError(g_why.c_str());
  LcoreScope lcore;
  std::vector<char*> live(kLiveBlocks);
  for (auto& b : live) b = static_cast<char*>(rte_malloc(nullptr, kIovaBlock, 0));
  const auto& pick = picks();
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    std::uint32_t r = pick[i++ & (pick.size() - 1)];
    sum += rte_mem_virt2iova(live[r % kLiveBlocks] + (r >> 16) % kIovaBlock);
  }
  benchmark::DoNotOptimize(sum);
  if (sum == 0 || live[0] == nullptr) state.SkipWithError("rte_malloc_virt2iova gave nothing");
  for (char* b : live) rte_free(b);
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

bool dpdk_init(const std::string& args, std::string* why) {
  std::vector<std::string> words{"dma_bench"};
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
  return true;
}

void dpdk_fini() {
  if (g_ready) rte_eal_cleanup();
}

BENCHMARK(BM_rte_malloc_free)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_rte_malloc_batch)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_rte_malloc_virt2iova)->Threads(1);
BENCHMARK(BM_rte_mem_virt2iova)->Threads(1);

}  // namespace hm::dma::bench
