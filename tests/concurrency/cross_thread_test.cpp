// Threads freeing each other's memory: a ring of threads where each allocates messages for the
// next and frees what the previous one sent (every free a remote free), and a hand-over of a
// large working set between threads. Afterwards the allocator counts exactly the bytes it
// counted before, and a trim brings the resident memory back near where it started.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "memory_probe.h"

namespace {

// A single-producer single-consumer ring of pointers.
class Channel {
 public:
  bool push(void* p) {
    std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) == kSize) return false;
    slots_[t % kSize] = p;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  void* pop() {
    std::size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return nullptr;
    void* p = slots_[h % kSize];
    head_.store(h + 1, std::memory_order_release);
    return p;
  }

 private:
  static constexpr std::size_t kSize = 1024;
  void* slots_[kSize];
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

// A message: its size and sequence number up front, then bytes derived from them, so the
// receiver sees any overlap with another block or any corruption by the free path.
struct Header {
  std::uint64_t size, seq;
};
constexpr std::size_t kMinMessage = sizeof(Header) + 8;

std::size_t message_size(std::uint64_t seq) {
  std::uint64_t r = seq * 0x9e3779b97f4a7c15ull >> 40;
  if (r % 500 == 0) return 40 * KiB + r % (200 * KiB);  // a large block now and then
  return kMinMessage + r % 1500;
}

void* make_message(std::uint64_t seq) {
  std::size_t n = message_size(seq);
  auto* p = static_cast<unsigned char*>(hm_malloc(n));
  if (!p) return nullptr;
  Header h{n, seq};
  std::memcpy(p, &h, sizeof h);
  std::memset(p + sizeof h, static_cast<int>(seq & 0xff), n - sizeof h);
  return p;
}

// Checks and frees a message; false if it was damaged.
bool consume(void* m) {
  auto* p = static_cast<unsigned char*>(m);
  Header h;
  std::memcpy(&h, p, sizeof h);
  bool ok = h.size == message_size(h.seq) && hm_usable_size(p) >= h.size && p[sizeof h] == (h.seq & 0xff) &&
            p[h.size - 1] == (h.seq & 0xff);
  hm_free(p);
  return ok;
}

TEST(CrossThread, RingOfThreadsFreeingEachOthersMessages) {
  constexpr int kThreads = 4;
  constexpr std::uint64_t kMessages = 100000;  // per thread
  hm_trim(0);
  std::size_t before = hm_now().allocated;
  std::vector<Channel> channels(kThreads);
  std::atomic<int> damaged{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Channel& out = channels[(t + 1) % kThreads];
      Channel& in = channels[t];
      std::uint64_t sent = 0, received = 0;
      while (sent < kMessages || received < kMessages) {
        if (sent < kMessages) {
          void* m = make_message(sent * kThreads + static_cast<std::uint64_t>(t));
          if (!m) {
            failed.fetch_add(1);
            return;
          }
          while (!out.push(m)) {
            if (void* r = in.pop()) {
              damaged += !consume(r);
              ++received;
            } else {
              std::this_thread::yield();  // more threads than cores: let the receiver run
            }
          }
          ++sent;
        }
        bool any = false;
        while (void* r = in.pop()) {
          damaged += !consume(r);
          ++received;
          any = true;
        }
        if (!any && sent == kMessages) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(damaged.load(), 0);
  EXPECT_EQ(hm_now().allocated, before) << "every message freed, by another thread than its allocator";
}

// Each thread builds a large working set and hands it to the next thread, which frees it;
// then every thread has exited. A trim must give nearly all of it back to the OS.
TEST(CrossThread, HandedOverWorkingSetGoesBackToTheOs) {
  constexpr int kThreads = 4;
  constexpr std::size_t kPerThread = 64 * MiB;
  hm_trim(0);
  std::size_t allocated0 = hm_now().allocated;
  std::size_t rss0 = rss_bytes();

  std::vector<std::vector<void*>> sets(kThreads);
  std::atomic<std::size_t> peak{0};
  std::atomic<int> built{0};
  std::atomic<bool> measured{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<void*>& mine = sets[t];
      std::size_t bytes = 0;
      for (std::uint64_t i = 0; bytes < kPerThread; ++i) {
        std::size_t n = i % 64 == 0 ? 100 * KiB : 16 + (i * 2654435761u) % 3000;
        void* p = hm_malloc(n);
        if (!p) break;
        std::memset(p, 1, n);
        mine.push_back(p);
        bytes += n;
      }
      built.fetch_add(1);
      while (built.load() < kThreads) std::this_thread::yield();
      // Nobody frees before the peak is read: frees above the release watermark go back at once.
      if (t == 0) {
        peak = rss_bytes();
        measured = true;
      }
      while (!measured.load()) std::this_thread::yield();
      // Free the next thread's set (its allocator may already have exited).
      for (void* p : sets[(t + 1) % kThreads]) hm_free(p);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(hm_now().allocated, allocated0);
  hm_trim(0);
  std::size_t rss1 = rss_bytes();
  std::printf("RSS: baseline %zu MiB, peak %zu MiB, after trim %zu MiB\n", rss0 / MiB, peak.load() / MiB, rss1 / MiB);
  EXPECT_GE(peak.load(), rss0 + kThreads * kPerThread * 3 / 4) << "the working set was resident";
  EXPECT_LE(rss1, rss0 + kResidentSlack);
}

}  // namespace
