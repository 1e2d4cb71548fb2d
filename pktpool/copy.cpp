// The bulk pointer copy of the cache fast paths, cloned per instruction set: the dynamic loader
// picks the AVX2 clone on CPUs that have it (an ifunc), the baseline one elsewhere.
#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt::detail {

__attribute__((target_clones("avx2", "default"))) void copy_objs_wide(void* const* from, void** to,
                                                                       std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) to[i] = from[i];
}

}  // namespace hm::pkt::detail
