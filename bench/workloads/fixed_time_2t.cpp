// Two threads in a fixed-time malloc/free loop, in the shape of mimalloc-bench's sh6bench and
// cache-scratch: each of `threads` threads keeps a live set of `live` objects of 16 B .. 8 KiB
// (log-uniform), replaces a random one per step (first and last byte written) and every 64 steps
// allocates 32 objects and frees them in the order they came (FIFO). No object crosses threads.
// Result: operations in `seconds`; its peak RSS (from the harness) is the other figure: how much
// memory the allocator holds for two steady live sets.
// Arguments: threads=2 seconds=1 live=10000.
#include <algorithm>
#include <atomic>
#include <thread>

#include "common.h"

int main(int argc, char** argv) {
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2));
  const double seconds = wl::arg_seconds(argc, argv, "seconds", 1.0);
  const std::size_t live = std::max<std::uint64_t>(wl::arg(argc, argv, "live", 10000), 1);
  const wl::SizeTable sizes(16, 8192, 15);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total_ops{0}, total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      wl::Rng r(700 + t);
      std::vector<unsigned char*> slots(live, nullptr);
      std::uint64_t ops = 0, sum = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 64; ++k) {
          unsigned char*& s = slots[r.below(live)];
          if (s) sum += s[0];
          std::free(s);
          const std::size_t n = sizes(r);
          s = static_cast<unsigned char*>(std::malloc(n));
          s[0] = static_cast<unsigned char>(n);
          s[n - 1] = 1;
        }
        unsigned char* burst[32];
        for (auto& b : burst) {
          const std::size_t n = sizes(r);
          b = static_cast<unsigned char*>(std::malloc(n));
          b[0] = static_cast<unsigned char>(n);
        }
        for (auto* b : burst) {
          sum += b[0];
          std::free(b);
        }
        ops += 64 + 32;
      }
      for (auto* p : slots) std::free(p);
      total_ops += ops;
      total_sum += sum;
    });
  while (wl::now() - t0 < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop.store(true);
  for (auto& th : pool) th.join();
  wl::print_result("fixed_time_2t", total_ops.load(), wl::now() - t0, total_sum.load());
}
