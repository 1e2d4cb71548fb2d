#pragma once
// Resident memory of this process now, and the settle wait before reading it: the workloads that
// report `final_rss_kib` (what an allocator keeps after the work is done and freed) wait a moment
// first so an allocator that returns memory on a timer or from a background thread gets its
// chance. The wait is reported as `idle_seconds`, which the harness takes out of the wall time.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <unistd.h>

namespace wl {

// Resident set in KiB from /proc/self/statm (its second field, in pages); 0 when unreadable.
inline std::uint64_t resident_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

// Sleeps `ms` milliseconds; returns the seconds really slept.
inline double settle(std::uint64_t ms) {
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace wl
