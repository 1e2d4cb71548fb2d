// The malloc fast paths under Google Benchmark. The same source is built once per allocator
// (CMakeLists.txt); the binary checks at startup which allocator answers malloc.
//
// Every benchmark sets items processed to the number of operations it performs (a malloc+free
// pair, one object of a batch, one realloc), so 1e9 / items_per_second is ns per operation for
// every benchmark alike; bench/malloc/run reads that figure.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "batch_handoff.h"
#include "cpu_pair.h"
#include "which_malloc.h"

namespace {

// One store into the block: a block that was handed back to the OS costs its page fault here,
// as it would in a program, and the allocation cannot be optimised away.
void touch(void* p) {
  static_cast<volatile char*>(p)[0] = 1;
  benchmark::DoNotOptimize(p);
}

// A block of the same size stays live during the loop, as the rest of a program's heap would:
// otherwise every free empties its page and the figure is the allocators' empty-page path
// (mimalloc retires the page each time), not their fast path.
void pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  void* neighbour = std::malloc(n);
  touch(neighbour);
  for (auto _ : state) {
    void* p = std::malloc(n);
    touch(p);
    std::free(p);
  }
  std::free(neighbour);
  state.SetItemsProcessed(state.iterations());
}

// Allocate a whole batch, then free it in allocation order: the freelist is walked, not just
// its head reused.
void batch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<void*> blocks(1000);
  for (auto _ : state) {
    for (void*& p : blocks) {
      p = std::malloc(n);
      touch(p);
    }
    for (void* p : blocks) std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(blocks.size()));
}

void calloc_pair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::calloc(1, n);
    touch(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// A buffer grown by half its size at a time from 16 B to 64 KiB (a string or vector being
// appended to), writing its new last byte after each step.
void realloc_growth(benchmark::State& state) {
  std::int64_t steps = 0;
  for (auto _ : state) {
    std::size_t n = 16;
    char* p = static_cast<char*>(std::malloc(n));
    touch(p);
    while (n < (std::size_t{64} << 10)) {
      n += n / 2;
      p = static_cast<char*>(std::realloc(p, n));
      p[n - 1] = 1;
      benchmark::DoNotOptimize(p);
      ++steps;
    }
    std::free(p);
  }
  state.SetItemsProcessed(steps);
}

void aligned_pair(benchmark::State& state) {
  const auto align = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::aligned_alloc(align, align);
    touch(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// This thread allocates, a second one on another CPU frees, the blocks handed over in batches of
// 1024. The figure is the CPU time of both threads per object: malloc, the remote free, and the
// owner taking the memory back. (Wall time would mostly measure the scheduler on a shared
// machine.)
void cross_thread(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  CpuPair cpus;
  cpus.pin(0);
  BatchHandoff handoff;
  std::thread consumer([&handoff, &cpus] {
    cpus.pin(1);
    handoff.consume([](void* p) { std::free(p); });
  });
  void** batch = handoff.next_buffer();
  std::size_t filled = 0;
  for (auto _ : state) {
    void* p = std::malloc(n);
    touch(p);
    batch[filled++] = p;
    if (filled == BatchHandoff::kBatch) {
      handoff.publish(filled);
      batch = handoff.next_buffer();
      filled = 0;
    }
  }
  handoff.publish(filled);  // fewer than a batch: the end
  consumer.join();
  state.SetItemsProcessed(state.iterations());
}

void register_all() {
  for (long n : {16L, 32L, 64L, 256L, 1L << 10, 4L << 10, 16L << 10, 64L << 10, 1L << 20})
    benchmark::RegisterBenchmark("pair", pair)->Arg(n);
  // Each thread's CPU time per pair: contention between the threads shows as extra time.
  benchmark::RegisterBenchmark("pair", pair)->Arg(64)->Threads(2);
  benchmark::RegisterBenchmark("batch1000", batch)->Arg(64);
  for (long n : {64L, 4L << 10, 1L << 20}) benchmark::RegisterBenchmark("calloc", calloc_pair)->Arg(n);
  benchmark::RegisterBenchmark("realloc_growth", realloc_growth);
  for (long a : {64L, 4096L}) benchmark::RegisterBenchmark("aligned_alloc", aligned_pair)->Arg(a);
  benchmark::RegisterBenchmark("cross_thread", cross_thread)->Arg(64)->MeasureProcessCPUTime();
}

}  // namespace

int main(int argc, char** argv) {
  if (!malloc_is_expected()) return 2;
  benchmark::AddCustomContext("allocator", allocator_name());
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
