// Shared by the two sides of pktpool_bench (ours, DPDK's): the figures both must use so that the
// ratios are fair, and the DPDK side's entry points.
#pragma once

#include <string>

namespace hm::pkt::bench {

// Same shape for both pools: raw objects for get/put, mbufs for alloc/free.
inline constexpr unsigned kRawCount = 16383;   // 2^n - 1: DPDK's ring-size sweet spot
inline constexpr unsigned kRawEltSize = 64;
inline constexpr unsigned kMbufCount = 8191;
inline constexpr unsigned kCacheSize = 256;

// Starts DPDK's EAL with `args`; false and a reason when it cannot (the DPDK benchmarks then
// report an error and ours still run).
bool dpdk_init(const std::string& args, std::string* why);

}  // namespace hm::pkt::bench
