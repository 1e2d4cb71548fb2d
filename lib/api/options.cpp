// HUGEMEM_VERBOSE=1: the settings in effect and what the machine lets the arenas be backed by,
// printed once at init. Runs inside the first malloc: stack buffers and write(2) only.
#include "api/runtime.h"
#include "api/secure.h"
#include "hugemem/version.h"
#include "os/env.h"
#include "os/os.h"
#include "page/desc.h"
#include "page/heap.h"
#include "slab/thread_heap.h"

namespace hm::api {
namespace {

// The option's word for a backing (HUGEMEM_PAGES), in os::Backing order.
const char* pages_word(os::Backing b) {
  static const char* const kWords[] = {"1g", "2m", "thp", "4k"};
  return kWords[static_cast<int>(b)];
}

// The first backing, from `best` down, that an arena could get on this machine now: a hugetlb
// kind needs a whole arena's worth of free pool pages, THP needs THP enabled.
os::Backing allowed_backing(os::Backing best, const os::MachineInfo& m) {
  for (int b = static_cast<int>(best); b < os::kBackingKinds; ++b) {
    switch (static_cast<os::Backing>(b)) {
      case os::Backing::Huge1G:
        if (m.huge1g.free >= static_cast<long>(page::kArenaSize / os::k1G)) return os::Backing::Huge1G;
        break;
      case os::Backing::Huge2M:
        if (m.huge2m.free >= static_cast<long>(page::kArenaSize / os::k2M)) return os::Backing::Huge2M;
        break;
      case os::Backing::THP:
        if (m.thp == os::ThpMode::Always || m.thp == os::ThpMode::Madvise) return os::Backing::THP;
        break;
      case os::Backing::Small:
        return os::Backing::Small;
    }
  }
  return os::Backing::Small;
}

}  // namespace

void print_settings(int fd, bool show_stats) {
  const page::Config& c = page::config();
  {
    os::Message m;
    m << "hugemem " << HUGEMEM_VERSION_STRING << ": HUGEMEM_PAGES=" << pages_word(c.best) << " HUGEMEM_RELEASE_HIGH=";
    m.size(c.high);
    m << " HUGEMEM_RELEASE_LOW=";
    m.size(c.low);
    m << " HUGEMEM_RELEASE_DELAY_MS=" << static_cast<std::uint64_t>(c.delay_ms)
      << " HUGEMEM_ARENA_LIMIT=" << static_cast<std::uint64_t>(c.arena_limit)
      << " HUGEMEM_SEGREGATE=" << (c.segregate ? '1' : '0') << " HUGEMEM_CHECK=" << (slab::g_checked ? '1' : '0')
      << " HUGEMEM_SECURE=" << (secure::g_on ? '1' : '0') << " HUGEMEM_SHOW_STATS=" << (show_stats ? '1' : '0') << " HUGEMEM_VERBOSE=1";
    m.write_to(fd);
  }
  const os::MachineInfo& mi = os::machine();
  os::Backing got = allowed_backing(c.best, mi);
  os::Message m;
  m << "hugemem: machine: THP " << os::thp_mode_name(mi.thp) << ", 2MiB hugetlb pages " << mi.huge2m.free
    << " free of " << mi.huge2m.total << ", 1GiB hugetlb pages " << mi.huge1g.free << " free of "
    << mi.huge1g.total << ", " << mi.numa_nodes << " NUMA node(s), " << mi.cpus << " CPU(s); arenas will use "
    << os::backing_name(got);
  if (got != c.best) m << " (" << os::backing_name(c.best) << " asked for is not available)";
  m.write_to(fd);
}

}  // namespace hm::api
