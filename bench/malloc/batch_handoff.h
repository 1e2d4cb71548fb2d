// Hands batches of pointers from one thread to another for the cross-thread benchmark. Waiting
// is on futexes (std::atomic::wait), not spinning, so a waiting thread burns no CPU and the
// benchmark's process CPU time is the allocators' work, even on a machine shared with other
// jobs. It allocates nothing after construction, so it adds no malloc traffic of its own.
#pragma once

#include <atomic>
#include <cstddef>

class BatchHandoff {
 public:
  static constexpr std::size_t kBatch = 1024;  // pointers per batch
  static constexpr unsigned kDepth = 4;        // batches in flight

  // Producer: the buffer for the next batch, once the consumer has finished with it.
  void** next_buffer() {
    for (unsigned d = done_.load(std::memory_order_acquire); published_ - d >= kDepth;
         d = done_.load(std::memory_order_acquire))
      done_.wait(d, std::memory_order_acquire);
    return slots_[published_ % kDepth];
  }
  // Producer: publishes the buffer from next_buffer() holding n pointers; n < kBatch ends the
  // stream after this batch.
  void publish(std::size_t n) {
    counts_[published_ % kDepth] = n;
    full_.store(++published_, std::memory_order_release);
    full_.notify_one();
  }

  // Consumer: calls f(pointer) for every pointer of every batch until the stream ends.
  template <class F>
  void consume(F f) {
    for (unsigned k = 0;; ++k) {
      for (unsigned f0 = full_.load(std::memory_order_acquire); f0 == k; f0 = full_.load(std::memory_order_acquire))
        full_.wait(f0, std::memory_order_acquire);
      void** batch = slots_[k % kDepth];
      std::size_t n = counts_[k % kDepth];
      for (std::size_t i = 0; i < n; ++i) f(batch[i]);
      done_.store(k + 1, std::memory_order_release);
      done_.notify_one();
      if (n < kBatch) return;
    }
  }

 private:
  unsigned published_ = 0;  // producer only
  alignas(64) std::atomic<unsigned> full_{0};
  alignas(64) std::atomic<unsigned> done_{0};
  std::size_t counts_[kDepth] = {};
  void* slots_[kDepth][kBatch];
};
