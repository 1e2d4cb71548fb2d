// Producer/consumer across threads, fixed work: each producer allocates messages (16 B .. 1 KiB)
// and hands them through a single-producer single-consumer ring to its consumer, which reads
// and frees them: every free is of another thread's object.
// Arguments: pairs=1 msgs=2000000 (per pair).
#include <atomic>
#include <thread>

#include "common.h"

namespace {

// Bounded SPSC ring; a full or empty ring yields the core, which matters on a shared machine.
class Ring {
 public:
  void push(void* p) {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    while (h - tail_.load(std::memory_order_acquire) == kSize) std::this_thread::yield();
    slots_[h % kSize] = p;
    head_.store(h + 1, std::memory_order_release);
  }
  void* pop() {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    while (head_.load(std::memory_order_acquire) == t) std::this_thread::yield();
    void* p = slots_[t % kSize];
    tail_.store(t + 1, std::memory_order_release);
    return p;
  }

 private:
  static constexpr std::uint64_t kSize = 4096;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) void* slots_[kSize];
};

}  // namespace

int main(int argc, char** argv) {
  const unsigned pairs = unsigned(wl::arg(argc, argv, "pairs", 1));
  const std::uint64_t msgs = wl::arg(argc, argv, "msgs", 2000000);
  const wl::SizeTable sizes(16, 1024, 2);

  std::vector<Ring> rings(pairs);
  std::atomic<std::uint64_t> total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned i = 0; i < pairs; ++i) {
    pool.emplace_back([&, i] {
      wl::Rng r(200 + i);
      for (std::uint64_t m = 0; m < msgs; ++m) {
        const std::size_t n = sizes(r);
        auto* p = static_cast<std::uint64_t*>(std::malloc(n));
        p[0] = m;
        p[1] = n;
        rings[i].push(p);
      }
    });
    pool.emplace_back([&, i] {
      std::uint64_t sum = 0;
      for (std::uint64_t m = 0; m < msgs; ++m) {
        auto* p = static_cast<std::uint64_t*>(rings[i].pop());
        sum += p[0] ^ p[1];
        std::free(p);
      }
      total_sum += sum;
    });
  }
  for (auto& th : pool) th.join();
  wl::print_result("prodcons", msgs * pairs, wl::now() - t0, total_sum);
}
