// Memory goes back to the OS: after a 2 GiB peak (large blocks and small objects, all touched)
// is freed, the resident set falls back near its baseline by the watermark policy alone (free
// memory that stays above `high` for `delay_ms` is released down to `low` by the next call that
// reaches the page layer), and to the baseline at once with malloc_trim(0) (hm_trim).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "page/heap.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::size_t rss() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(Release, TwoGiBPeakGoesBackToTheOS) {
  const hm::page::Config& cfg = hm::page::config();
  hm_free(hm_malloc(1));
  hm_trim(0);
  std::size_t base = rss();
  std::vector<void*> large, small;
  for (int i = 0; i < 1536; ++i) large.push_back(hm_malloc(kMiB));  // 1.5 GiB of large blocks
  for (int i = 0; i < 131072; ++i) small.push_back(hm_malloc(4096));  // 0.5 GiB of small objects
  for (void* p : large) std::memset(p, 0xA5, kMiB);
  for (void* p : small) std::memset(p, 0x5A, 4096);
  std::size_t peak = rss();
  ASSERT_GE(peak, base + 2000 * kMiB) << "the peak was resident";
  for (void* p : small) hm_free(p);
  for (void* p : large) hm_free(p);
  // What may stay: free memory up to `high` per node heap, plus the empty slabs kept for reuse.
  // The program keeps running (a large block now and then reaches the page layer: 2 MiB, above
  // what a thread's large-block cache keeps); the deadline is a bound on the policy (an epoch
  // is delay_ms, 100 by default), far above what it needs.
  const std::size_t bound = base + cfg.high + 32 * kMiB;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20 * cfg.delay_ms + 2000);
  std::size_t after_free = rss();
  while (after_free > bound && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    hm_free(hm_malloc(2 * kMiB));
    after_free = rss();
  }
  EXPECT_LE(after_free, bound) << "baseline " << base / kMiB << " MiB, peak " << peak / kMiB << " MiB, after free "
                               << after_free / kMiB << " MiB";
  hm_trim(0);
  std::size_t after_trim = rss();
  // What stays: page descriptors the peak touched (16 bytes per 4 KiB page, 1/256 of the peak)
  // and the empty slabs a thread keeps per class.
  EXPECT_LE(after_trim, base + peak / 256 + 8 * kMiB)
      << "baseline " << base / kMiB << " MiB, after free " << after_free / kMiB << " MiB, after trim " << after_trim / kMiB << " MiB";
  std::printf("RSS: baseline %zu MiB, peak %zu MiB, after free %zu MiB, after malloc_trim %zu MiB\n", base / kMiB,
              peak / kMiB, after_free / kMiB, after_trim / kMiB);
}

}  // namespace
