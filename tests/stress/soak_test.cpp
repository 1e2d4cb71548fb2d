// A soak: threads allocating blocks of random sizes (small objects, large blocks, now and then
// a direct mapping) with random lifetimes, freeing their own and each other's (through shared
// hand-over slots), reallocating, and verifying every block's contents before it goes. Threads
// live for a random while and exit, handing what they still hold to the others, so their slabs
// are abandoned while other threads are freeing into them.
// HUGEMEM_SOAK_SECONDS sets the duration (default 5, for ctest; hours for a real soak).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"

namespace {

// Every block starts with its size and a seed; the rest is a pattern of the seed, so whichever
// thread frees it can check it.
struct Header {
  std::size_t size;
  std::uint64_t seed;
};

unsigned char pattern(std::uint64_t seed, std::size_t i) { return static_cast<unsigned char>(seed + i * 7 + (i >> 9)); }

// The bytes filled and checked: all of blocks up to 64 KiB, the two ends of bigger ones.
template <class F>
void for_checked(std::size_t size, F f) {
  constexpr std::size_t kAll = 65536, kEdge = 4096;
  if (size <= kAll) {
    for (std::size_t i = sizeof(Header); i < size; ++i) f(i);
    return;
  }
  for (std::size_t i = sizeof(Header); i < kEdge; ++i) f(i);
  for (std::size_t i = size - kEdge; i < size; ++i) f(i);
}

std::atomic<long> g_errors{0};

void* make(std::size_t size, std::uint64_t seed) {
  auto* p = static_cast<unsigned char*>(hm_malloc(size));
  if (!p) {
    g_errors.fetch_add(1);
    return nullptr;
  }
  *reinterpret_cast<Header*>(p) = Header{size, seed};
  for_checked(size, [&](std::size_t i) { p[i] = pattern(seed, i); });
  return p;
}

bool intact(const void* block) {
  auto* p = static_cast<const unsigned char*>(block);
  Header h = *reinterpret_cast<const Header*>(p);
  if (hm_usable_size(block) < h.size) return false;
  bool ok = true;
  for_checked(h.size, [&](std::size_t i) { ok &= p[i] == pattern(h.seed, i); });
  return ok;
}

void drop(void* block) {
  if (!intact(block)) g_errors.fetch_add(1);
  hm_free(block);
}

std::size_t pick_size(std::mt19937_64& rng) {
  unsigned k = rng() % 1000;
  if (k < 900) return sizeof(Header) + rng() % 1024;
  if (k < 990) return sizeof(Header) + rng() % 65536;
  if (k < 999) return 65536 + rng() % (std::size_t{8} << 20);
  return (std::size_t{129} << 20) + rng() % (std::size_t{16} << 20);  // a direct mapping
}

struct Counts {
  long ops = 0, handed = 0, reallocs = 0, exits = 0;
};

void worker(std::uint64_t seed, std::chrono::steady_clock::time_point end, std::array<std::atomic<void*>, 256>& slots, Counts& c) {
  std::mt19937_64 rng(seed);
  std::vector<void*> mine;
  std::size_t target = 64;  // the live set grows and shrinks: lifetimes from instant to long
  long life = 2 + static_cast<long>(rng() % 64);  // bursts before this thread exits
  while (std::chrono::steady_clock::now() < end && life-- > 0) {
    for (int burst = 0; burst < 256; ++burst, ++c.ops) {
      if (rng() % 4096 == 0) target = 1 + rng() % 4096;
      unsigned op = rng() % 16;
      if (mine.size() < target && op < 8) {
        if (void* p = make(pick_size(rng), rng())) mine.push_back(p);
      } else if (!mine.empty() && op < 12) {
        std::size_t i = rng() % mine.size();
        drop(mine[i]);
        mine[i] = mine.back();
        mine.pop_back();
      } else if (!mine.empty() && op < 14) {  // hand a block over; free whatever was there
        std::size_t i = rng() % mine.size();
        void* old = slots[rng() % slots.size()].exchange(mine[i]);
        mine[i] = mine.back();
        mine.pop_back();
        if (old) drop(old);
        ++c.handed;
      } else if (!mine.empty()) {  // realloc: the header and pattern up to the smaller size stay
        std::size_t i = rng() % mine.size();
        if (!intact(mine[i])) g_errors.fetch_add(1);
        std::size_t n = pick_size(rng);
        std::uint64_t seed = rng();
        auto* p = static_cast<unsigned char*>(hm_realloc(mine[i], n));
        if (!p) {
          g_errors.fetch_add(1);
          continue;
        }
        *reinterpret_cast<Header*>(p) = Header{n, seed};
        for_checked(n, [&](std::size_t k) { p[k] = pattern(seed, k); });
        mine[i] = p;
        ++c.reallocs;
      }
    }
  }
  // Exit: half of what is left goes to the other threads, the rest is freed here.
  for (void* p : mine) {
    if (rng() % 2) {
      drop(p);
    } else if (void* old = slots[rng() % slots.size()].exchange(p)) {
      drop(old);
    }
  }
  ++c.exits;
}

// One lane: a thread at a time, each started when the previous one exited.
void lane(int id, std::chrono::steady_clock::time_point end, std::array<std::atomic<void*>, 256>& slots, Counts& c) {
  for (std::uint64_t n = 0; std::chrono::steady_clock::now() < end; ++n) {
    std::thread(worker, 0x50a4 + static_cast<std::uint64_t>(id) * 1000003 + n, end, std::ref(slots), std::ref(c)).join();
  }
}

int soak_seconds() {
  const char* v = std::getenv("HUGEMEM_SOAK_SECONDS");
  int s = v ? std::atoi(v) : 0;
  return s > 0 ? s : 5;
}

TEST(Soak, ManyThreadsRandomSizesAndLifetimes) {
  const int threads = std::max(8, 2 * static_cast<int>(std::thread::hardware_concurrency()));
  hm_free(hm_malloc(1));
  hm_stats before;
  hm_get_stats(&before);
  std::array<std::atomic<void*>, 256> slots{};
  std::vector<Counts> counts(static_cast<std::size_t>(threads));
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(soak_seconds());
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(lane, t, end, std::ref(slots), std::ref(counts[static_cast<std::size_t>(t)]));
  for (auto& t : pool) t.join();
  for (auto& s : slots) {
    if (void* p = s.exchange(nullptr)) drop(p);
  }
  Counts total;
  for (const Counts& c : counts) {
    total.ops += c.ops;
    total.handed += c.handed;
    total.reallocs += c.reallocs;
    total.exits += c.exits;
  }
  EXPECT_EQ(g_errors.load(), 0) << "blocks with changed contents or failed allocations";
  hm_stats after;
  hm_get_stats(&after);
  EXPECT_EQ(after.allocated, before.allocated) << "every byte allocated was freed";
  hm_trim(0);
  hm_get_stats(&after);
  EXPECT_LE(after.resident_free, std::size_t{8} << 20) << "trim gives free memory back";
  std::printf("soak: %d threads at a time, %d s: %ld operations, %ld handed to other threads, %ld reallocs, %ld thread exits\n",
              threads, soak_seconds(), total.ops, total.handed, total.reallocs, total.exits);
}

}  // namespace
