// What "nothing lost" is measured with: the allocator's own count of live bytes, and the
// process's resident memory as the kernel reports it.
#pragma once

#include <cstddef>
#include <cstdio>

#include "hugemem/hugemem.h"

inline constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

inline hm_stats hm_now() {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

// Resident bytes of this process (/proc/self/statm, second field, in pages).
inline std::size_t rss_bytes() {
  long size = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<std::size_t>(resident) * 4096;
}

// After a trim, what a workload may leave resident beyond the baseline: thread heaps' metadata,
// the per-node reserve of empty slabs, arena headers and descriptor pages touched. A workload
// whose peak is many times this shows whether memory really went back.
inline constexpr std::size_t kResidentSlack = 24 * MiB;
