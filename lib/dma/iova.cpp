// Translation: the IOVA of any byte of DMA memory, from the IOVA map (page/iova_map.h) that the
// DMA heaps' hooks and the packet pools' DMA mappings fill.
#include <cerrno>

#include "api/export.h"
#include "dma/dma_heap.h"
#include "page/iova_map.h"
#include "page/registry.h"

using namespace hm;

HM_EXPORT std::uint64_t hm_iova_of(const void* p) noexcept { return page::iova_lookup(p); }

HM_EXPORT int hm_dma_block_info_of(const void* p, hm_dma_block_info* out) noexcept {
  std::uintptr_t e = page::registry_entry(p);
  page::Arena* a = e ? page::registry_arena(e) : nullptr;
  dma::DmaHeap* h = a ? dma::of_page_heap(a->heap()) : nullptr;
  std::uint64_t iova = page::iova_lookup(p);
  if (!h || iova == page::kNoIova) {
    errno = EINVAL;
    return -1;
  }
  out->heap = dma::to_c(h);
  out->page_size = os::backing_granule(a->backing());
  out->iova = iova;
  return 0;
}
