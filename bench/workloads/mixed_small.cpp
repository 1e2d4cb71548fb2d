// Small mixed sizes in one thread, fixed work, in the shape of the core of mimalloc-bench's
// glibc-simple and mstress: a tight loop that replaces a random one of `live` objects (8 B ..
// 1 KiB, log-uniform) and writes its first and last byte, and every 256 steps allocates a burst
// of 16 short-lived objects and frees them in reverse order. The live window is small, so nearly
// every allocation reuses a just-freed block: the fast paths and the size-class lookup, no page
// faults.
// Arguments: ops=20000000 live=64.
#include <algorithm>

#include "common.h"

int main(int argc, char** argv) {
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 20000000);
  const std::size_t live = std::max<std::uint64_t>(wl::arg(argc, argv, "live", 64), 1);
  const wl::SizeTable sizes(8, 1024, 13);

  wl::Rng r(21);
  std::vector<unsigned char*> slots(live, nullptr);
  std::uint64_t sum = 0, done = 0;
  const double t0 = wl::now();
  for (std::uint64_t i = 0; i < ops; ++i) {
    unsigned char*& s = slots[r.below(live)];
    if (s) sum += s[0];
    std::free(s);
    const std::size_t n = sizes(r);
    s = static_cast<unsigned char*>(std::malloc(n));
    s[0] = static_cast<unsigned char>(n);
    s[n - 1] = 1;
    ++done;
    if ((i & 255) == 255) {
      unsigned char* burst[16];
      for (auto& b : burst) {
        const std::size_t m = sizes(r);
        b = static_cast<unsigned char*>(std::malloc(m));
        b[0] = static_cast<unsigned char>(m);
      }
      for (int k = 15; k >= 0; --k) {
        sum += burst[k][0];
        std::free(burst[k]);
      }
      done += 16;
    }
  }
  for (auto* p : slots) std::free(p);
  wl::print_result("mixed_small", done, wl::now() - t0, sum);
}
