// Long-running fragmentation, fixed work; its peak RSS is the figure that matters. Each phase
// allocates `mib` MiB of objects around one size (the size changes every phase, from 16 B to
// 8 KiB), then frees 90% of everything live at random. The survivors pin scattered objects of
// every earlier size, so an allocator that cannot reuse the freed space for the next phase's
// size keeps growing. The live bytes at the peak are printed beside the process's own RSS.
// Arguments: phases=12 mib=64.
#include <fstream>

#include "common.h"

namespace {

// Resident set of this process in KiB (/proc/self/statm counts pages).
std::uint64_t rss_kib() {
  std::ifstream f("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t phases = wl::arg(argc, argv, "phases", 12);
  const std::uint64_t bytes_per_phase = wl::arg(argc, argv, "mib", 64) << 20;
  static constexpr std::size_t kBase[] = {16, 48, 128, 384, 1024, 3072, 8192, 64, 256, 2048};

  struct Obj {
    unsigned char* p;
    std::size_t size;
  };
  std::vector<Obj> live;
  wl::Rng r(8);
  std::uint64_t ops = 0, sum = 0, live_bytes = 0, peak_live = 0, peak_rss = 0;
  const double t0 = wl::now();
  for (std::uint64_t phase = 0; phase < phases; ++phase) {
    const std::size_t base = kBase[phase % std::size(kBase)];
    for (std::uint64_t got = 0; got < bytes_per_phase; ++ops) {
      const std::size_t n = base - base / 4 + r.below(base / 2 + 1);  // base ± 25%
      auto* p = static_cast<unsigned char*>(std::malloc(n));
      std::memset(p, static_cast<int>(ops), n < 64 ? n : 64);
      live.push_back({p, n});
      got += n;
      live_bytes += n;
    }
    if (live_bytes > peak_live) peak_live = live_bytes;
    const std::uint64_t rss = rss_kib();
    if (rss > peak_rss) peak_rss = rss;
    std::size_t kept = 0;
    for (const Obj& o : live) {
      if (r.below(10) == 0) {
        live[kept++] = o;
      } else {
        sum += o.p[0];
        live_bytes -= o.size;
        std::free(o.p);
      }
    }
    live.resize(kept);
  }
  const std::uint64_t end_rss = rss_kib();
  for (const Obj& o : live) std::free(o.p);
  wl::print_result("fragmentation", ops, wl::now() - t0, sum,
                   "peak_live_kib=" + std::to_string(peak_live >> 10) +
                       " phase_peak_rss_kib=" + std::to_string(peak_rss) +
                       " end_rss_kib=" + std::to_string(end_rss));
}
