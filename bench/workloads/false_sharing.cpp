// False sharing between threads' small objects, fixed work ("cache-scratch"): the main thread
// allocates one small object per thread back to back, each thread frees the one it was given and
// then repeatedly allocates an object of the same size, writes it many times and frees it. An
// allocator that hands a thread memory sharing a cache line with another thread's object makes
// the writes bounce that line between cores.
// Arguments: threads=2 iters=20000 writes=500 size=8.
#include <atomic>
#include <thread>

#include "common.h"

int main(int argc, char** argv) {
  const unsigned threads = unsigned(wl::arg(argc, argv, "threads", 2));
  const std::uint64_t iters = wl::arg(argc, argv, "iters", 20000);
  const std::uint64_t writes = wl::arg(argc, argv, "writes", 500);
  const std::size_t size = wl::arg(argc, argv, "size", 8);

  std::vector<char*> given(threads);
  for (auto& g : given) g = static_cast<char*>(std::malloc(size));
  std::atomic<std::uint64_t> total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::free(given[t]);
      std::uint64_t sum = 0;
      for (std::uint64_t i = 0; i < iters; ++i) {
        volatile char* p = static_cast<char*>(std::memset(std::malloc(size), 0, size));
        for (std::uint64_t w = 0; w < writes; ++w)
          for (std::size_t b = 0; b < size; ++b) p[b] = static_cast<char>(p[b] + 1);
        sum += static_cast<unsigned char>(p[0]);
        std::free(const_cast<char*>(p));
      }
      total_sum += sum;
    });
  for (auto& th : pool) th.join();
  wl::print_result("false_sharing", iters * threads, wl::now() - t0, total_sum);
}
