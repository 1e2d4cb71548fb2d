// Prints the settings hugemem's code is using, read from the variables the code itself reads
// (page::config(), slab::g_checked), in the form HUGEMEM_VERBOSE writes them.
#include <cstdio>

#include "hugemem/hugemem.h"
#include "os/env.h"
#include "page/heap.h"
#include "api/secure.h"
#include "slab/thread_heap.h"

int main() {
  hm_free(hm_malloc(100));  // initialised (it already is, by the load-time constructor)
  const hm::page::Config& c = hm::page::config();
  static const char* const kPages[] = {"1g", "2m", "thp", "4k"};
  hm::os::Message high, low;
  high.size(c.high);
  low.size(c.low);
  std::printf("HUGEMEM_PAGES=%s HUGEMEM_RELEASE_HIGH=%s HUGEMEM_RELEASE_LOW=%s HUGEMEM_RELEASE_DELAY_MS=%zu "
              "HUGEMEM_ARENA_LIMIT=%zu HUGEMEM_SEGREGATE=%d HUGEMEM_CHECK=%d HUGEMEM_SECURE=%d\n",
              kPages[static_cast<int>(c.best)], high.c_str(), low.c_str(), c.delay_ms, c.arena_limit,
              c.segregate ? 1 : 0, hm::slab::g_checked ? 1 : 0, hm::api::secure::g_on ? 1 : 0);
  return 0;
}
