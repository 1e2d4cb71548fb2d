// A DMA heap's arenas mapped through a DmaSpace (a VFIO container): the C mapper interface of
// hugemem/dma.h over the C++ one, which throws.
#include <cstdio>
#include <exception>

#include "hugemem/vfio/vfio.h"

namespace hm::vfio {
namespace {

int map_cb(void* ctx, void* va, std::size_t len, std::uint64_t* iova) {
  try {
    *iova = static_cast<DmaSpace*>(ctx)->map(va, len);
    return 0;
  } catch (const std::exception& e) {  // Error, or bad_alloc from its bookkeeping
    std::fprintf(stderr, "hugemem vfio: DMA heap arena: %s\n", e.what());
    return -1;
  }
}

int unmap_cb(void* ctx, void*, std::size_t, std::uint64_t iova) {
  try {
    static_cast<DmaSpace*>(ctx)->unmap(iova);
    return 0;
  } catch (const std::exception& e) {  // Error, or bad_alloc from its bookkeeping
    std::fprintf(stderr, "hugemem vfio: DMA heap arena: %s\n", e.what());
    return -1;
  }
}

}  // namespace

hm_dma_mapper dma_mapper(DmaSpace& space) { return {&space, &map_cb, &unmap_cb}; }

}  // namespace hm::vfio
