// Memory comes back without malloc_trim: slabs of exited threads emptied by other threads' frees,
// the slabs of thousands of threads that lived at once, and large blocks kept by threads that
// are still alive. Measured with the allocator's own count of pages handed out ("active") and
// the process's resident memory.
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "memory_probe.h"

namespace {

// What the page layer may still hand out after a workload freed everything: the node's reserve
// of empty slabs (one short slab per class), a few partial slabs kept by the test thread.
constexpr std::size_t kActiveSlack = 4 * MiB;
// Thread heaps are kept for the next threads (one page of metadata each).
constexpr std::size_t kHeapMeta = 4 * KiB;
// A round frees 32 MiB, within what the page heap keeps for a whole epoch (the dip below its
// recent peak, plus four times the 16 MiB high watermark, page/heap.h):
// it may stay resident for the next round to reuse, but no more than that accumulates.
constexpr std::size_t kFreeResident = 32 * MiB;

void settle() {
  hm_free(hm_malloc(16));
  hm_trim(0);
}

TEST(MemoryReturn, SlabsOfAnExitedThreadEmptiedByRemoteFreesGoBackWithoutTrim) {
  settle();
  hm_stats base = hm_now();
  std::size_t rss_base = rss_bytes();
  std::size_t worst_active = 0, worst_rss = 0;
  for (std::size_t size = 16; size <= 512; size *= 2) {
    std::vector<void*> objs;
    objs.reserve(32 * MiB / size);
    std::thread worker([&] {
      for (std::size_t i = 0; i < 32 * MiB / size; ++i) objs.push_back(hm_malloc(size));
    });
    worker.join();  // its slabs are the node's now, full
    for (void* p : objs) hm_free(p);
    hm_stats now = hm_now();
    worst_active = std::max(worst_active, now.active - base.active);
    worst_rss = std::max(worst_rss, rss_bytes() - std::min(rss_bytes(), rss_base));
  }
  std::printf("after 6 rounds of 32 MiB: active +%zu KiB, resident +%zu KiB\n", worst_active / KiB, worst_rss / KiB);
  EXPECT_LE(worst_active, kActiveSlack) << "emptied slabs of the exited thread were not given back";
  EXPECT_LE(worst_rss, kFreeResident + kResidentSlack) << "freed memory stayed resident";
}

// Thousands of threads alive at once, each holding a few objects of sizes 100 B - 19 KB.
TEST(MemoryReturn, ThousandsOfLiveThreadsTakeLittleAndGiveItBackWhenJoined) {
  constexpr int kThreads = 1000, kObjects = 20;
  settle();
  hm_stats base = hm_now();
  std::size_t rss_base = rss_bytes();
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<std::size_t> live_bytes{0};
  auto body = [&](int id) {
    void* mine[kObjects];
    std::size_t sum = 0;
    for (int i = 0; i < kObjects; ++i) {
      std::size_t n = 100 + static_cast<std::size_t>((id * 7919 + i * 104729) % 19000);
      mine[i] = hm_malloc(n);
      static_cast<char*>(mine[i])[0] = 1;
      sum += n;
    }
    live_bytes += sum;
    ready.fetch_add(1);
    go.wait(false);
    for (void* p : mine) hm_free(p);
  };
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * KiB);
  std::vector<pthread_t> threads(kThreads);
  std::vector<std::pair<decltype(body)*, int>> args(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    args[i] = {&body, i};
    ASSERT_EQ(pthread_create(&threads[i], &attr,
                             [](void* a) -> void* {
                               auto* p = static_cast<std::pair<decltype(body)*, int>*>(a);
                               (*p->first)(p->second);
                               return nullptr;
                             },
                             &args[i]),
              0);
  }
  while (ready.load() < kThreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  hm_stats peak = hm_now();
  std::size_t rss_peak = rss_bytes();
  go = true;
  go.notify_all();
  for (pthread_t t : threads) pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  hm_stats after = hm_now();
  std::size_t rss_after = rss_bytes();
  std::printf("live %zu MiB in %d threads: active +%zu MiB, resident +%zu MiB; joined: active +%zu KiB, resident +%zu KiB\n",
              live_bytes.load() / MiB, kThreads, (peak.active - base.active) / MiB,
              (rss_peak - std::min(rss_peak, rss_base)) / MiB, (after.active - base.active) / KiB,
              (rss_after - std::min(rss_after, rss_base)) / KiB);
  // Each thread's first slab of a class is short, so a thread holding one object of a class
  // pins a few pages of it, not a full-length slab per class.
  EXPECT_LE(peak.active - base.active, 2 * live_bytes.load() + kThreads * kHeapMeta) << "per-thread slabs dwarf what the threads hold";
  EXPECT_LE(after.active - base.active, kActiveSlack + kThreads * kHeapMeta) << "the threads' slabs did not come back at exit";
  EXPECT_LE(rss_after - std::min(rss_after, rss_base), kFreeResident + kResidentSlack) << "their memory stayed resident";
}

TEST(MemoryReturn, TrimTakesLargeBlocksKeptByOtherLiveThreads) {
  settle();
  std::atomic<bool> kept{false}, done{false};
  hm_free(hm_malloc(4 * MiB));  // the threshold (api/secure.h) above what the keeper frees
  hm_trim(0);
  std::thread keeper([&] {
    hm_free(hm_malloc(256 * KiB));  // kept in this thread's large-block cache
    kept = true;
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!kept.load()) std::this_thread::yield();
  hm_stats before = hm_now();
  hm_trim(0);
  hm_stats after = hm_now();
  done = true;
  keeper.join();
  EXPECT_GE(before.active - after.active, 256 * KiB) << "malloc_trim left another thread's kept block";
}

TEST(MemoryReturn, AllThreadsTogetherKeepNoMoreLargeBlocksThanTheHighWatermark) {
  constexpr int kThreads = 32;  // 2 MiB each would be 64 MiB
  settle();
  hm_stats base = hm_now();
  std::atomic<int> kept{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      void* a = hm_malloc(MiB);
      void* b = hm_malloc(MiB);
      hm_free(a);
      hm_free(b);
      kept.fetch_add(1);
      while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  while (kept.load() < kThreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  hm_stats now = hm_now();
  done = true;
  for (auto& t : threads) t.join();
  std::printf("32 threads each freed 2 MiB and live on: %zu MiB still handed out\n", (now.active - base.active) / MiB);
  EXPECT_LE(now.active - base.active, 16 * MiB + kActiveSlack) << "idle threads' caches hold more than the watermark";
}

// Large blocks live on 4 KiB pages (unless hugetlb pages are asked for): a block touched at a
// few pages costs those pages, not a cleared 2 MiB transparent huge page per touch.
TEST(MemoryReturn, ASparselyTouchedLargeBlockCostsOnlyItsTouchedPages) {
  settle();
  std::vector<char*> blocks;
  std::size_t before = rss_bytes();
  for (int i = 0; i < 8; ++i) {
    auto* p = static_cast<char*>(hm_malloc(8 * MiB));
    ASSERT_NE(p, nullptr);
    for (std::size_t off = 0; off < 8 * MiB; off += 2 * MiB) p[off] = 1;  // 4 pages of 2048
    blocks.push_back(p);
  }
  std::size_t grew = rss_bytes() - std::min(rss_bytes(), before);
  for (char* p : blocks) hm_free(p);
  std::printf("8 blocks of 8 MiB, 4 pages touched in each: resident +%zu KiB\n", grew / KiB);
  EXPECT_LE(grew, 2 * MiB) << "touching a page of a large block made a whole huge page resident";
}

}  // namespace
