// Realloc growth, fixed work: `buffers` buffers grow by about 25% per realloc, as appended
// strings and vectors do, from 16 B up to `max`, where each is freed and starts over. The new
// tail is written so that a copying realloc and a growing-in-place one do the same user work.
// Arguments: ops=1000000 buffers=64 max=1m.
#include "common.h"

int main(int argc, char** argv) {
  const std::uint64_t ops = wl::arg(argc, argv, "ops", 1000000);
  const std::size_t nbuf = wl::arg(argc, argv, "buffers", 64);
  const std::size_t max = wl::arg(argc, argv, "max", 1 << 20);

  struct Buf {
    unsigned char* p = nullptr;
    std::size_t size = 0;
  };
  std::vector<Buf> bufs(nbuf);
  wl::Rng r(4);
  std::uint64_t sum = 0;
  const double t0 = wl::now();
  for (std::uint64_t i = 0; i < ops; ++i) {
    Buf& b = bufs[r.below(nbuf)];
    if (b.size >= max) {
      sum += b.p[b.size - 1];
      std::free(b.p);
      b = Buf{};
    }
    const std::size_t grown = b.size + b.size / 4 + 16;
    auto* p = static_cast<unsigned char*>(std::realloc(b.p, grown));
    if (b.size) sum += p[b.size - 1];
    for (std::size_t k = b.size; k < grown; k += 64) p[k] = static_cast<unsigned char>(k);
    p[grown - 1] = static_cast<unsigned char>(i);
    b = {p, grown};
  }
  for (auto& b : bufs) std::free(b.p);
  wl::print_result("realloc_growth", ops, wl::now() - t0, sum);
}
