// Threads exit, others free, fixed work: `rounds` times a new thread allocates `mb` MiB of
// objects of one size (16, 32, ... 512 B, cycling over the rounds), writes each, chains them
// into a list through their first word, hands the list to the main thread and exits; the main
// thread frees them all. The memory of a dead thread's heap comes back only through remote
// frees. After the last round (+ `settle_ms`), resident memory is reported as `final_rss_kib`.
// Arguments: rounds=12 mb=64 settle_ms=200.
#include <string>
#include <thread>

#include "common.h"
#include "rss.h"

int main(int argc, char** argv) {
  const std::uint64_t rounds = wl::arg(argc, argv, "rounds", 12);
  const std::uint64_t bytes = wl::arg(argc, argv, "mb", 64) << 20;
  const std::uint64_t settle_ms = wl::arg(argc, argv, "settle_ms", 200);

  std::uint64_t sum = 0, ops = 0;
  const double t0 = wl::now();
  for (std::uint64_t round = 0; round < rounds; ++round) {
    const std::size_t size = std::size_t(16) << (round % 6);
    const std::uint64_t count = bytes / size;
    void* head = nullptr;
    std::thread([&] {
      void* prev = nullptr;
      for (std::uint64_t i = 0; i < count; ++i) {
        auto* p = static_cast<unsigned char*>(std::malloc(size));
        *reinterpret_cast<void**>(p) = prev;
        p[sizeof(void*)] = static_cast<unsigned char>(i);
        p[size - 1] = static_cast<unsigned char>(round);
        prev = p;
      }
      head = prev;
    }).join();
    for (void* p = head; p;) {
      auto* c = static_cast<unsigned char*>(p);
      void* next = *reinterpret_cast<void**>(p);
      sum += c[sizeof(void*)] + c[size - 1];
      std::free(p);
      p = next;
    }
    ops += count;
  }
  const double seconds = wl::now() - t0;
  const double idle = wl::settle(settle_ms);
  const std::uint64_t rss = wl::resident_kib();
  char extra[96];
  std::snprintf(extra, sizeof extra, "final_rss_kib=%llu idle_seconds=%.6f", static_cast<unsigned long long>(rss),
                idle);
  wl::print_result("exit_free", ops, seconds, sum, extra);
}
