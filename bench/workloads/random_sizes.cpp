// Random sizes with a live set, fixed work: each thread keeps `live` objects of sizes drawn
// log-uniformly from 8 B to 16 KiB and replaces a random one per step, writing its first and
// last byte.
// Arguments: threads=2 ops=2000000 (per thread) live=20000.
#include <atomic>
#include <thread>

#include "common.h"

int main(int argc, char** argv) {
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2));
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 2000000);
  const std::size_t live = wl::arg(argc, argv, "live", 20000);
  const wl::SizeTable sizes(8, 16384, 3);

  std::atomic<std::uint64_t> total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      wl::Rng r(300 + t);
      std::vector<unsigned char*> slots(live, nullptr);
      std::uint64_t sum = 0;
      for (std::uint64_t i = 0; i < ops; ++i) {
        unsigned char*& s = slots[r.below(live)];
        if (s) sum += s[0];
        std::free(s);
        const std::size_t n = sizes(r);
        s = static_cast<unsigned char*>(std::malloc(n));
        s[0] = static_cast<unsigned char>(n);
        s[n - 1] = 1;
      }
      for (auto* p : slots) std::free(p);
      total_sum += sum;
    });
  for (auto& th : pool) th.join();
  wl::print_result("random_sizes", ops * threads, wl::now() - t0, total_sum);
}
