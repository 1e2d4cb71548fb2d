// Large allocations in a loop, fixed work, in the shape of mimalloc-bench's malloc-large: one
// thread keeps `live` blocks of 64 KiB .. 8 MiB (log-uniform) and replaces a random one per step,
// writing `pages` pages of the new block (first, last, and evenly spaced between). Whether freed
// large blocks are cached, how fast the allocator maps and returns them, and the faults of
// fresh pages are what is measured.
// Arguments: ops=20000 live=16 pages=4.
#include <algorithm>

#include "common.h"

int main(int argc, char** argv) {
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 20000);
  const std::size_t live = std::max<std::uint64_t>(wl::arg(argc, argv, "live", 16), 1);
  const std::size_t pages = std::max<std::uint64_t>(wl::arg(argc, argv, "pages", 4), 2);
  const wl::SizeTable sizes(64 << 10, 8 << 20, 14);

  wl::Rng r(31);
  std::vector<unsigned char*> slots(live, nullptr);
  std::vector<std::size_t> len(live, 0);
  std::uint64_t sum = 0;
  const double t0 = wl::now();
  for (std::uint64_t i = 0; i < ops; ++i) {
    const std::size_t k = r.below(live);
    if (slots[k]) sum += slots[k][0] + slots[k][len[k] - 1];
    std::free(slots[k]);
    const std::size_t n = sizes(r);
    auto* p = static_cast<unsigned char*>(std::malloc(n));
    const std::size_t step = (n - 1) / (pages - 1);
    for (std::size_t j = 0; j < pages; ++j) p[j * step] = static_cast<unsigned char>(n >> 12);
    p[n - 1] = static_cast<unsigned char>(i);
    slots[k] = p;
    len[k] = n;
  }
  for (auto* p : slots) std::free(p);
  wl::print_result("large_loop", ops, wl::now() - t0, sum);
}
