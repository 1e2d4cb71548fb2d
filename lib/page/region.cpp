#include "page/region.h"

namespace hm::page {

Region Region::create(std::size_t bytes, os::Backing best, int node, const char* name) {
  Region r;
  for (int b = static_cast<int>(best); b < os::kBackingKinds && !r; ++b) {
    auto backing = static_cast<os::Backing>(b);
    std::size_t granule = os::backing_granule(backing);
    std::size_t size = (bytes + granule - 1) / granule * granule;
    r.m_ = os::map(size, granule, backing, name);
  }
  if (r && node >= 0) os::bind_node(r.m_.addr, r.m_.size, node);
  return r;
}

void Region::release() {
  if (m_.addr) os::unmap(m_.addr, m_.size);
  m_ = {};
}

}  // namespace hm::page
