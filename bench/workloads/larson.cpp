// Server churn in the "larson" shape, fixed time: threads share one array of slots; each step puts
// a fresh object (8 B .. 1 KiB) into a random slot and frees the object it displaces, which
// another thread allocated about half of the time. Result: operations in `seconds`.
// Arguments: threads=2 seconds=1 slots=20000.
#include <atomic>
#include <thread>

#include "common.h"

int main(int argc, char** argv) {
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2));
  const double seconds = wl::arg_seconds(argc, argv, "seconds", 1.0);
  const std::size_t nslots = wl::arg(argc, argv, "slots", 20000);
  const wl::SizeTable sizes(8, 1024, 1);

  std::vector<std::atomic<unsigned char*>> slots(nslots);
  wl::Rng fill(7);
  for (auto& s : slots) {
    const std::size_t n = sizes(fill);
    auto* p = static_cast<unsigned char*>(std::malloc(n));
    p[0] = 1;
    s.store(p, std::memory_order_relaxed);
  }

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total_ops{0}, total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      wl::Rng r(100 + t);
      std::uint64_t ops = 0, sum = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 256; ++k) {
          const std::size_t n = sizes(r);
          auto* p = static_cast<unsigned char*>(std::malloc(n));
          p[0] = static_cast<unsigned char>(n);
          p[n - 1] = 1;
          unsigned char* old = slots[r.below(nslots)].exchange(p, std::memory_order_acq_rel);
          sum += old[0];
          std::free(old);
        }
        ops += 256;
      }
      total_ops += ops;
      total_sum += sum;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed = wl::now() - t0;
  for (auto& s : slots) std::free(s.load());
  wl::print_result("larson", total_ops, elapsed, total_sum,
                   "ops_per_sec=" + std::to_string(double(total_ops) / elapsed));
}
