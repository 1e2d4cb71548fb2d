// Shared by the two halves of dma_bench (ours, DPDK's): the shapes every allocator is measured
// on, so that the ratios are fair.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hm::dma::bench {

// Block sizes from a descriptor to a jumbo buffer: 64 B .. 64 KiB.
inline void sizes(benchmark::internal::Benchmark* b) {
  for (long n : {64, 256, 1024, 4096, 16384, 65536}) b->Arg(n);
}
// batch/N: N blocks allocated, then freed in the same order (a burst of buffers).
inline constexpr int kBatch = 32;
// iova_of: translations of random bytes of this many live 256-byte blocks.
inline constexpr int kLiveBlocks = 4096;
inline constexpr std::size_t kIovaBlock = 256;

// A fixed pseudo-random sequence of (block, offset) picks, the same for every allocator.
inline const std::vector<std::uint32_t>& picks() {
  static const std::vector<std::uint32_t> p = [] {
    std::vector<std::uint32_t> v(1 << 16);
    std::uint64_t s = 0x9e3779b97f4a7c15ull;
    for (auto& x : v) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      x = static_cast<std::uint32_t>(s);
    }
    return v;
  }();
  return p;
}

// DPDK's half (dpdk_side.cpp): EAL start, and its end.
bool dpdk_init(const std::string& eal_args, std::string* why);
void dpdk_fini();

}  // namespace hm::dma::bench
