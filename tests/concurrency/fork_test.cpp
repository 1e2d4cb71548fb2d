// fork() in a multi-threaded program using libhugemem.so as its malloc: while other threads
// allocate, free and start threads of their own, the main thread forks again and again. Each
// child gets a working heap: it frees memory the parent's threads allocated, allocates every
// kind of block, runs threads that free each other's objects, and exits; the parent goes on.
#include <gtest/gtest.h>

#include <atomic>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "memory_probe.h"
#include "subprocess.h"

namespace {

std::size_t size_for(std::uint64_t i) {
  std::uint64_t r = i * 0x9e3779b97f4a7c15ull >> 44;
  if (r % 997 == 0) return 129 * MiB;     // a direct mapping, rarely
  if (r % 61 == 0) return 40 * KiB + r % (500 * KiB);
  return 1 + r % 2000;
}

// A parent thread's endless churn, keeping `window` blocks alive, visible to the children.
struct Worker {
  static constexpr int kWindow = 64;
  std::atomic<void*> live[kWindow] = {};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rounds{0};
  std::thread thread;

  void run(unsigned seed) {
    for (std::uint64_t i = seed; !stop.load(std::memory_order_relaxed); ++i) {
      std::size_t n = size_for(i);
      void* p = (i & 3) == 0 ? std::calloc(1, n) : std::malloc(n);
      if (!p) continue;
      std::memset(p, 7, n < 4096 ? n : 4096);
      void* old = live[i % kWindow].exchange(p);
      std::free(old);
      if (i % 512 == 0) std::thread([] { std::free(std::malloc(100)); }).join();
      rounds.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

// The child: runs with whatever the parent's threads were doing at the fork.
int child_work(Worker* workers, int count) {
  // Blocks of the parent's threads (which do not exist here): freeing them is a remote free
  // into heaps nobody runs in this process.
  for (int w = 0; w < count; ++w) {
    for (auto& slot : workers[w].live) {
      void* p = slot.exchange(nullptr);
      if (p && !hm_owns(p)) return 10;
      std::free(p);
    }
  }
  std::vector<void*> mine;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    std::size_t n = size_for(i * 7 + 1);
    void* p = std::malloc(n);
    if (!p) return 11;
    std::memset(p, 1, n < 4096 ? n : 4096);
    mine.push_back(p);
  }
  void* r = std::realloc(mine[0], 1 * MiB);
  if (!r) return 12;
  mine[0] = r;
  // Two threads in the child, each freeing the other's objects.
  std::vector<void*> a(500), b(500);
  std::thread ta([&] {
    for (auto& p : a) p = std::malloc(48);
  });
  std::thread tb([&] {
    for (auto& p : b) p = std::malloc(200);
  });
  ta.join();
  tb.join();
  std::thread fa([&] {
    for (void* p : b) std::free(p);
  });
  std::thread fb([&] {
    for (void* p : a) std::free(p);
  });
  fa.join();
  fb.join();
  for (void* p : mine) std::free(p);
  malloc_trim(0);
  return 0;
}

TEST(Fork, ChildrenOfAThreadedProgramGetAWorkingHeap) {
  constexpr int kWorkers = 3, kForks = 40;
  std::vector<Worker> workers(kWorkers);
  for (int w = 0; w < kWorkers; ++w) workers[w].thread = std::thread(&Worker::run, &workers[w], w * 1000003u);
  for (int f = 0; f < kForks; ++f) {
    // Let the workers get going between forks, so forks land in every part of their loop.
    std::uint64_t start = workers[0].rounds.load();
    while (workers[0].rounds.load() < start + 50) std::this_thread::yield();
    Outcome o = fork_with_timeout([&] { return child_work(workers.data(), kWorkers); }, std::chrono::seconds(10));
    ASSERT_FALSE(o.timed_out) << "fork " << f << ": the child hung";
    ASSERT_EQ(o.signal, 0) << "fork " << f << ": the child died of signal " << o.signal;
    ASSERT_EQ(o.exit_code, 0) << "fork " << f << ": the child failed at step " << o.exit_code;
  }
  for (auto& w : workers) w.stop = true;
  for (auto& w : workers) {
    w.thread.join();
    EXPECT_GT(w.rounds.load(), 0u);
    for (auto& slot : w.live) std::free(slot.exchange(nullptr));
  }
}

// The child's own accounting is consistent: allocating and freeing there returns the count of
// live bytes to where it was at the fork, and the parent's is untouched by the child.
TEST(Fork, ChildAccountingStartsFromTheParentsAndBalances) {
  std::vector<void*> held;
  for (int i = 0; i < 100; ++i) held.push_back(std::malloc(1000));
  std::size_t parent_before = hm_now().allocated;
  Outcome o = fork_with_timeout(
      [&] {
        std::size_t at_fork = hm_now().allocated;
        if (at_fork != parent_before) return 1;
        std::size_t held_bytes = 0;
        for (void* p : held) held_bytes += malloc_usable_size(p);
        std::vector<void*> v;
        for (int i = 0; i < 10000; ++i) v.push_back(std::malloc(i % 3000 + 1));
        if (hm_now().allocated <= at_fork) return 2;
        for (void* p : v) std::free(p);
        for (void* p : held) std::free(p);
        v.clear();
        v.shrink_to_fit();
        return hm_now().allocated == at_fork - held_bytes ? 0 : 3;
      },
      std::chrono::seconds(10));
  ASSERT_FALSE(o.timed_out);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(hm_now().allocated, parent_before);
  for (void* p : held) std::free(p);
}

// A parent thread may be anywhere in an unlocked malloc or free when another thread forks: its
// heap in the child can be half-updated. Threads the child starts must never take such heaps
// over (they hung in a retire loop, or handed out a block twice, when they could): each child
// here starts threads that allocate and free every size class.
TEST(Fork, ChildThreadsNeverTakeOverTheHeapsOfVanishedThreads) {
  constexpr int kChurners = 4, kForks = 60, kSlots = 1024;
  static std::atomic<void*> slots[kSlots];
  std::atomic<bool> stop{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < kChurners; ++t) {
    churn.emplace_back([&, t] {
      std::uint64_t x = 0x9e3779b97f4a7c15ull * (t + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        void* p = std::malloc(16 + x % 32700);
        if (!p) std::abort();
        *static_cast<char*>(p) = 1;
        std::free(slots[x % kSlots].exchange(p));
      }
    });
  }
  for (int f = 0; f < kForks; ++f) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Outcome o = fork_with_timeout(
        [] {
          std::vector<std::thread> ts;
          for (int i = 0; i < 4; ++i) {
            ts.emplace_back([] {
              std::vector<void*> v;
              for (int round = 0; round < 2; ++round) {
                for (std::size_t n = 16; n <= 32 * KiB; n += n / 4 > 16 ? n / 4 : 16) {
                  for (int k = 0; k < 32; ++k) {
                    void* p = std::malloc(n);
                    if (!p) std::abort();
                    std::memset(p, 3, n < 256 ? n : 256);
                    v.push_back(p);
                  }
                }
                for (void* p : v) std::free(p);
                v.clear();
              }
            });
          }
          for (auto& t : ts) t.join();
          return 0;
        },
        std::chrono::seconds(10));
    ASSERT_FALSE(o.timed_out) << "fork " << f << ": the child hung";
    ASSERT_EQ(o.signal, 0) << "fork " << f << ": the child died of signal " << o.signal;
    ASSERT_EQ(o.exit_code, 0) << "fork " << f;
  }
  stop = true;
  for (auto& t : churn) t.join();
  for (auto& s : slots) std::free(s.exchange(nullptr));
}

}  // namespace
