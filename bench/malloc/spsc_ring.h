// A bounded single-producer single-consumer queue of pointers for the cross-thread benchmark.
// It allocates nothing after construction, so it adds no malloc traffic of its own.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

template <std::size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  // Blocks (spinning, then yielding) while the queue is full.
  void push(void* p) {
    std::size_t t = tail_.load(std::memory_order_relaxed);
    wait_until([&] { return t - head_.load(std::memory_order_acquire) < N; });
    slots_[t & (N - 1)] = p;
    tail_.store(t + 1, std::memory_order_release);
  }

  // Blocks while the queue is empty.
  void* pop() {
    std::size_t h = head_.load(std::memory_order_relaxed);
    wait_until([&] { return tail_.load(std::memory_order_acquire) != h; });
    void* p = slots_[h & (N - 1)];
    head_.store(h + 1, std::memory_order_release);
    return p;
  }

 private:
  // Spinning alone would starve the peer thread when both share one core (2 cores here are
  // shared with other work), so the waiter yields after a short spin.
  template <class Ready>
  static void wait_until(Ready ready) {
    for (int spins = 0; !ready(); ++spins) {
      if (spins < 64)
        __builtin_ia32_pause();
      else
        std::this_thread::yield();
    }
  }

  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) void* slots_[N];
};
