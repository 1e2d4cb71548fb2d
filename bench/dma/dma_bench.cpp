// dma_bench: hugemem's DMA heap against DPDK's rte_malloc in the same process, both on 2 MiB
// hugepages, and against hugemem's own malloc (libhugemem.a, hm_malloc) for the same sizes.
//
//   dma_bench [--eal="..."] [benchmark flags]       (as root: it reserves 2 MiB pages)
//
// Shapes, identical on every side (bench_common.h):
//   malloc_free/N   one allocation of N bytes and its free, in a loop (1 and 2 threads)
//   batch/N         32 allocations of N bytes, then their 32 frees (1 and 2 threads)
//   iova_of         the IOVA of a random byte of one of 4096 live 256-byte blocks
// Our heap runs with IOVA = physical address (the host has no IOMMU; DPDK's EAL as root uses
// physical addresses too), so both translate to the same kind of address.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "hugemem/dma.h"
#include "hugemem/hugemem.h"
#include "os/os.h"

namespace hm::dma::bench {
namespace {

hm_dma_heap* g_heap = nullptr;
std::string g_why = "no DMA heap";

void BM_dma_malloc_free(benchmark::State& state) {
  if (!g_heap) return state.SkipWithError(g_why.c_str());
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = hm_dma_malloc(g_heap, n);
    if (!p) return state.SkipWithError("hm_dma_malloc failed");
    benchmark::DoNotOptimize(p);
    hm_dma_free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_hm_malloc_free(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = hm_malloc(n);
    benchmark::DoNotOptimize(p);
    hm_free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_dma_batch(benchmark::State& state) {
  if (!g_heap) return state.SkipWithError(g_why.c_str());
  auto n = static_cast<std::size_t>(state.range(0));
  void* p[kBatch];
  for (auto _ : state) {
    for (auto& x : p)
      if (!(x = hm_dma_malloc(g_heap, n))) return state.SkipWithError("hm_dma_malloc failed");
    benchmark::DoNotOptimize(p[kBatch - 1]);
    for (void* x : p) hm_dma_free(x);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_hm_batch(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  void* p[kBatch];
  for (auto _ : state) {
    for (auto& x : p) x = hm_malloc(n);
    benchmark::DoNotOptimize(p[kBatch - 1]);
    for (void* x : p) hm_free(x);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_hm_iova_of(benchmark::State& state) {
  if (!g_heap) return state.SkipWithError(g_why.c_str());
  std::vector<char*> live(kLiveBlocks);
  for (auto& b : live) b = static_cast<char*>(hm_dma_malloc(g_heap, kIovaBlock));
  const auto& pick = picks();
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    std::uint32_t r = pick[i++ & (pick.size() - 1)];
    sum += hm_iova_of(live[r % kLiveBlocks] + (r >> 16) % kIovaBlock);
  }
  benchmark::DoNotOptimize(sum);
  for (char* b : live) hm_dma_free(b);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_dma_malloc_free)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_hm_malloc_free)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_dma_batch)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_hm_batch)->Apply(sizes)->Threads(1)->Threads(2);
BENCHMARK(BM_hm_iova_of)->Threads(1);

// 2 MiB pages for both sides, reserved for the run and given back at the end, relative to the
// count of the moment (as bench/pktpool does): one DMA arena (512) and DPDK's heap.
constexpr long kPages = 512 + 8 + 256;

}  // namespace

#ifndef HUGEMEM_BENCH_DPDK
bool dpdk_init(const std::string&, std::string* why) {
  *why = "built without libdpdk";
  return false;
}
void dpdk_fini() {}
#endif

}  // namespace hm::dma::bench

int main(int argc, char** argv) {
  using namespace hm::dma::bench;
  std::string eal = "--in-memory --no-pci -l 0-1 --log-level=4";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--eal=", 6) == 0) eal = argv[i] + 6;
    else argv[kept++] = argv[i];
  }
  argc = kept;
  if (geteuid() != 0) {
    std::fprintf(stderr, "dma_bench: needs root (2 MiB pages for both heaps, physical addresses)\n");
    return 1;
  }
  long before = hm::os::hugepage_pool(hm::os::k2M).total;
  long got = hm::os::reserve_hugepages(hm::os::k2M, before + kPages) - before;
  std::fprintf(stderr, "2 MiB hugepages: %ld -> %ld reserved for the run\n", before, before + got);
  hm_dma_heap_config c;
  hm_dma_heap_config_init(&c);
  c.name = "bench";
  c.pages = HM_DMA_PAGES_2M;
  c.max_arenas = 1;
  g_heap = hm_dma_heap_create(&c);  // ours first, from the reservation
  if (!g_heap) g_why = hm_dma_last_error();
  std::fprintf(stderr, "DMA heap: %s\n", g_heap ? "on 2 MiB pages, IOVA = physical address" : g_why.c_str());
  std::string why;
  if (dpdk_init(eal, &why)) std::fprintf(stderr, "DPDK EAL up (%s)\n", eal.c_str());
  else std::fprintf(stderr, "DPDK unavailable, measuring hugemem only: %s\n", why.c_str());
  benchmark::Initialize(&argc, argv);
  bool bad_args = benchmark::ReportUnrecognizedArguments(argc, argv);
  if (!bad_args) benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_heap) hm_dma_heap_destroy(g_heap);
  dpdk_fini();
  long now = hm::os::hugepage_pool(hm::os::k2M).total;
  hm::os::reserve_hugepages(hm::os::k2M, now - got < 0 ? 0 : now - got);
  std::fprintf(stderr, "2 MiB hugepages released: nr_hugepages %ld -> %ld\n", now,
               hm::os::hugepage_pool(hm::os::k2M).total);
  return bad_args ? 1 : 0;
}
