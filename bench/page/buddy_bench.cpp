// Buddy alloc + free of one block per order, on a warm arena (no page faults: blocks are not
// touched). Each iteration splits down from the arena's large blocks and coalesces back up.
#include <benchmark/benchmark.h>

#include "page/arena.h"

namespace {

using namespace hm::page;

void BM_BuddyAllocFree(benchmark::State& state) {
  static Arena* arena = Arena::create(hm::os::Backing::Small, -1, nullptr);
  if (!arena) {
    state.SkipWithError("could not map an arena");
    return;
  }
  int order = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::uint32_t idx = arena->alloc_block(order, nullptr);
    benchmark::DoNotOptimize(idx);
    arena->free_pages(idx, 1u << order, false);
  }
}
BENCHMARK(BM_BuddyAllocFree)->DenseRange(0, 16, 2)->Arg(9);

void BM_BuddyExactPages(benchmark::State& state) {
  static Arena* arena = Arena::create(hm::os::Backing::Small, -1, nullptr);
  auto n = static_cast<std::uint32_t>(state.range(0));
  for (auto _ : state) {
    std::uint32_t idx = arena->alloc_pages(n, 0, nullptr);
    benchmark::DoNotOptimize(idx);
    arena->free_pages(idx, n, false);
  }
}
BENCHMARK(BM_BuddyExactPages)->Arg(3)->Arg(5)->Arg(100)->Arg(1000);

}  // namespace
