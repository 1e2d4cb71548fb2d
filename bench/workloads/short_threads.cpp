// Many short-lived threads, fixed work: `rounds` times, `threads` threads start, each does `ops`
// small allocations and frees (8 B .. 512 B, a live set of 64) and leaves `handoff` objects
// behind that the main thread frees after the thread has exited. Thread-heap set-up and
// tear-down and frees into dead threads' memory are what is measured.
// Arguments: rounds=2000 threads=2 ops=2000 handoff=16.
#include <algorithm>
#include <thread>

#include "common.h"

int main(int argc, char** argv) {
  const std::uint64_t rounds = wl::arg(argc, argv, "rounds", 2000);
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2));
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 2000);
  const std::size_t handoff = std::min<std::size_t>(wl::arg(argc, argv, "handoff", 16), 64);  // of the live set
  const wl::SizeTable sizes(8, 512, 6);

  std::vector<std::vector<unsigned char*>> left(threads, std::vector<unsigned char*>(handoff));
  std::uint64_t sum = 0;
  const double t0 = wl::now();
  for (std::uint64_t round = 0; round < rounds; ++round) {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        wl::Rng r(round * threads + t + 1);
        unsigned char* live[64] = {};
        for (std::uint64_t i = 0; i < ops; ++i) {
          unsigned char*& s = live[i & 63];
          std::free(s);
          const std::size_t n = sizes(r);
          s = static_cast<unsigned char*>(std::malloc(n));
          s[0] = static_cast<unsigned char>(n);
        }
        for (std::size_t k = 0; k < 64; ++k) {
          if (k < handoff) left[t][k] = live[k];
          else std::free(live[k]);
        }
      });
    for (auto& th : pool) th.join();
    for (auto& v : left)
      for (auto* p : v) {
        sum += p[0];
        std::free(p);
      }
  }
  wl::print_result("short_threads", rounds * threads * ops, wl::now() - t0, sum);
}
