// Small pools for the tests. THP at best: tests that want hugetlb pages reserve them
// themselves, and the others must not take pages that another test on the machine reserved.
#pragma once

#include <memory>

#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt::test {

inline Config raw_config(std::uint32_t count, std::uint32_t elt_size, std::uint32_t cache_size) {
  Config c;
  c.name = "pktpool-test";
  c.count = count;
  c.elt_size = elt_size;
  c.cache_size = cache_size;
  c.best = Backing::THP;
  return c;
}

inline Config mbuf_config(std::uint32_t count, std::uint32_t cache_size = 32) {
  Config c = raw_config(count, 0, cache_size);
  c.name = "pktpool-test-mbuf";
  return c;
}

}  // namespace hm::pkt::test
