// TLB-bound, fixed work: a heap of `mib` MiB made of objects of 4 .. 32 KiB, linked in a random
// cycle at a random cache line of each; the timed part chases `steps` links, each to another
// page, so with 4 KiB pages nearly every step misses the TLB. Printed: the set-up and the access
// time, nanoseconds per access, and the share of the objects' mappings resident in huge pages
// (from /proc/self/smaps).
// Arguments: mib=4096 steps=20000000.
#include <fstream>

#include "common.h"
#include "smaps.h"

int main(int argc, char** argv) {
  const std::uint64_t heap = wl::arg(argc, argv, "mib", 4096) << 20;
  const std::uint64_t steps = wl::arg(argc, argv, "steps", 20000000);
  const wl::SizeTable sizes(4 << 10, 32 << 10, 9);

  const double t0 = wl::now();
  struct Obj {
    void** link;
    unsigned char* base;
  };
  std::vector<Obj> objs;
  wl::Rng r(9);
  for (std::uint64_t got = 0; got < heap;) {
    const std::size_t n = sizes(r);
    auto* p = static_cast<unsigned char*>(std::malloc(n));
    wl::touch_pages(p, n, 1);
    objs.push_back({reinterpret_cast<void**>(p + 64 * r.below(n / 64)), p});
    got += n;
  }
  for (std::size_t i = objs.size() - 1; i > 0; --i) std::swap(objs[i], objs[r.below(i + 1)]);
  for (std::size_t i = 0; i < objs.size(); ++i) *objs[i].link = objs[(i + 1) % objs.size()].link;
  const double t1 = wl::now();

  void** p = objs[0].link;
  for (std::uint64_t i = 0; i < steps; ++i) p = static_cast<void**>(*p);
  const double t2 = wl::now();

  std::vector<std::uintptr_t> addrs;
  addrs.reserve(objs.size());
  for (const Obj& o : objs) addrs.push_back(reinterpret_cast<std::uintptr_t>(o.base));
  std::sort(addrs.begin(), addrs.end());
  std::ifstream smaps("/proc/self/smaps");
  const wl::HugeShare share = wl::huge_share(wl::parse_smaps(smaps), addrs);
  for (const Obj& o : objs) std::free(o.base);

  char extra[256];
  std::snprintf(extra, sizeof extra,
                "setup_seconds=%.6f access_seconds=%.6f ns_per_access=%.3f huge_pct=%.1f huge_kib=%llu "
                "heap_kib=%llu",
                t1 - t0, t2 - t1, 1e9 * (t2 - t1) / double(steps), share.percent(),
                static_cast<unsigned long long>(share.huge_kib),
                static_cast<unsigned long long>(share.total_kib));
  wl::print_result("tlb", steps, t2 - t0, reinterpret_cast<std::uintptr_t>(p), extra);
}
