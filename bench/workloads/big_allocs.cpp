// Big allocations, fixed work: a live set of `live` blocks of 256 KiB .. 64 MiB (log-uniform);
// each step frees a random one and allocates a new one, writing every 4 KiB page of it, so the
// cost of mapping, faulting and returning memory is what is measured.
// Arguments: ops=400 live=8.
#include "common.h"

int main(int argc, char** argv) {
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 400);
  const std::size_t live = wl::arg(argc, argv, "live", 8);
  const wl::SizeTable sizes(256 << 10, 64 << 20, 5);

  std::vector<unsigned char*> slots(live, nullptr);
  wl::Rng r(5);
  std::uint64_t sum = 0, bytes = 0;
  const double t0 = wl::now();
  for (std::uint64_t i = 0; i < ops; ++i) {
    unsigned char*& s = slots[r.below(live)];
    if (s) sum += s[0];
    std::free(s);
    const std::size_t n = sizes(r);
    s = static_cast<unsigned char*>(std::malloc(n));
    wl::touch_pages(s, n, static_cast<unsigned char>(i));
    bytes += n;
  }
  for (auto* p : slots) std::free(p);
  wl::print_result("big_allocs", ops, wl::now() - t0, sum, "bytes=" + std::to_string(bytes));
}
