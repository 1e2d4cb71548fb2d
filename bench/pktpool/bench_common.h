// Shared by the two sides of pktpool_bench (ours, DPDK's): the figures both must use so that the
// ratios are fair, and the DPDK side's entry points.
#pragma once

#include <random>
#include <string>

namespace hm::pkt::bench {

// Same shape for both pools: raw objects for get/put, mbufs for alloc/free.
inline constexpr unsigned kRawCount = 16383;   // 2^n - 1: DPDK's ring-size sweet spot
inline constexpr unsigned kRawEltSize = 64;
inline constexpr unsigned kMbufCount = 8191;
inline constexpr unsigned kCacheSize = 256;

// The caller's object array for one benchmark run, 64-byte aligned at a fresh pseudo-random
// offset within a page. Both pools copy through the caller's array and their cache; when the
// two sit at the same offset modulo 4 KiB the CPU's store-to-load forwarding mispredicts
// ("4K aliasing") and a bulk get/put costs up to twice as much. A fixed array would make one
// side lucky for the whole run; a fresh offset per run (per repetition) and the median over
// repetitions compare both on the same typical layout.
inline void** scratch_array() {
  alignas(4096) thread_local void* buf[2 * 512];
  thread_local std::minstd_rand rng(std::random_device{}());
  return buf + rng() % 64 * 8;  // room for 512 pointers after the largest offset
}

// Starts DPDK's EAL with `args`; false and a reason when it cannot (the DPDK benchmarks then
// report an error and ours still run).
bool dpdk_init(const std::string& args, std::string* why);

}  // namespace hm::pkt::bench
