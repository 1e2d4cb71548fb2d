// Thread churn: thousands of short-lived threads, each allocating, freeing some of its own
// objects, freeing objects that earlier (now exited) threads left behind, and leaving some of
// its own for later threads. Slabs of exited threads must be adopted or given back, never
// lost: afterwards the live count is exact, and a trim brings memory back near the baseline.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "memory_probe.h"

namespace {

// Objects left by exited threads, each tagged with its own address and size.
struct Shelf {
  std::mutex lock;
  std::vector<std::pair<void*, std::size_t>> items;
};

void tag(void* p, std::size_t n) {
  std::memset(p, static_cast<int>(reinterpret_cast<std::uintptr_t>(p) >> 4 & 0xff), n);
}

bool tagged(const void* p, std::size_t n) {
  auto* c = static_cast<const unsigned char*>(p);
  auto expect = static_cast<unsigned char>(reinterpret_cast<std::uintptr_t>(p) >> 4 & 0xff);
  return c[0] == expect && c[n / 2] == expect && c[n - 1] == expect;
}

std::size_t size_for(unsigned thread, unsigned i) {
  unsigned r = (thread * 7919 + i * 104729) % 1000;
  if (r < 10) return 40 * KiB + r * 1000;  // some large blocks
  return 16 + r * 3;                       // classes 16 .. ~3 KiB
}

// One short-lived thread's life.
void live_briefly(unsigned id, Shelf& shelf, std::atomic<int>& damaged) {
  constexpr unsigned kObjects = 48;
  std::pair<void*, std::size_t> mine[kObjects];
  for (unsigned i = 0; i < kObjects; ++i) {
    std::size_t n = size_for(id, i);
    void* p = hm_malloc(n);
    if (!p) {
      damaged.fetch_add(1);
      mine[i] = {nullptr, 0};
      continue;
    }
    tag(p, n);
    mine[i] = {p, n};
  }
  std::vector<std::pair<void*, std::size_t>> taken;
  {
    std::lock_guard g(shelf.lock);
    for (int k = 0; k < 24 && !shelf.items.empty(); ++k) {
      taken.push_back(shelf.items.back());
      shelf.items.pop_back();
    }
  }
  for (auto [p, n] : taken) {
    if (!hm_owns(p) || !tagged(p, n)) damaged.fetch_add(1);
    hm_free(p);
  }
  for (unsigned i = 0; i < kObjects; i += 2) hm_free(mine[i].first);
  std::lock_guard g(shelf.lock);
  for (unsigned i = 1; i < kObjects; i += 2)
    if (mine[i].first) shelf.items.push_back(mine[i]);
}

TEST(Churn, ThousandsOfShortLivedThreadsLoseNothing) {
  constexpr unsigned kThreads = 4000, kAtOnce = 8;
  hm_trim(0);
  std::size_t allocated0 = hm_now().allocated;
  std::size_t rss0 = rss_bytes();

  Shelf shelf;
  std::atomic<int> damaged{0};
  std::size_t most_left = 0;
  for (unsigned base = 0; base < kThreads; base += kAtOnce) {
    std::vector<std::thread> wave;
    for (unsigned i = 0; i < kAtOnce; ++i) wave.emplace_back(live_briefly, base + i, std::ref(shelf), std::ref(damaged));
    for (auto& t : wave) t.join();
    most_left = std::max(most_left, shelf.items.size());
  }
  EXPECT_EQ(damaged.load(), 0);
  EXPECT_GT(most_left, 0u) << "threads left objects for later ones";
  EXPECT_GT(hm_now().allocated, allocated0);
  for (auto [p, n] : shelf.items) {
    EXPECT_TRUE(tagged(p, n));
    hm_free(p);
  }
  EXPECT_EQ(hm_now().allocated, allocated0);
  hm_trim(0);
  std::size_t rss1 = rss_bytes();
  std::printf("RSS: baseline %zu MiB, after %u threads and a trim %zu MiB\n", rss0 / MiB, kThreads, rss1 / MiB);
  EXPECT_LE(rss1, rss0 + kResidentSlack);
}

// Heaps of exited threads are reused: churning through many more threads than ever run at once
// does not keep mapping memory for new heaps or slabs.
TEST(Churn, MappedMemoryDoesNotGrowWithTheNumberOfThreads) {
  Shelf shelf;
  std::atomic<int> damaged{0};
  auto churn = [&](unsigned threads) {
    for (unsigned base = 0; base < threads; base += 4) {
      std::vector<std::thread> wave;
      for (unsigned i = 0; i < 4; ++i) wave.emplace_back(live_briefly, base + i, std::ref(shelf), std::ref(damaged));
      for (auto& t : wave) t.join();
    }
    for (auto [p, n] : shelf.items) hm_free(p);
    shelf.items.clear();
    hm_trim(0);
    return hm_now().active;
  };
  std::size_t after_few = churn(200);
  std::size_t after_many = churn(2000);
  EXPECT_EQ(damaged.load(), 0);
  std::printf("active bytes after 200 threads %zu, after 2000 more %zu\n", after_few, after_many);
  EXPECT_LE(after_many, after_few + 4 * MiB);
}

}  // namespace
