// N allocation+free pairs of SIZE bytes and nothing else, on a DMA heap (`dma`) or hugemem's own
// malloc (`hm`), for counting instructions under callgrind: (run with N pairs - run with 0) / N
// is one pair's cost, calls and this loop included, the same loop on both sides. The DMA heap
// runs on a mapper that maps nothing (IOVA = VA): mapping is not on the path being counted.
//
//   valgrind --tool=callgrind dma_pair_count dma|hm PAIRS [SIZE]     (needs 2 MiB pages for dma)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hugemem/dma.h"
#include "hugemem/hugemem.h"

namespace {
int map_identity(void*, void* va, std::size_t, std::uint64_t* iova) {
  *iova = reinterpret_cast<std::uintptr_t>(va);
  return 0;
}
int unmap_nothing(void*, void*, std::size_t, std::uint64_t) { return 0; }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s dma|hm PAIRS [SIZE]\n", argv[0]);
    return 1;
  }
  bool dma = std::strcmp(argv[1], "dma") == 0;
  const long pairs = std::atol(argv[2]);
  const std::size_t size = argc == 4 ? std::strtoul(argv[3], nullptr, 0) : 64;
  hm_dma_mapper m{nullptr, map_identity, unmap_nothing};
  hm_dma_heap_config c;
  hm_dma_heap_config_init(&c);
  c.mapper = &m;
  c.pages = HM_DMA_PAGES_2M;
  hm_dma_heap* h = dma ? hm_dma_heap_create(&c) : nullptr;
  if (dma && !h) {
    std::fprintf(stderr, "%s\n", hm_dma_last_error());
    return 2;
  }
  // A block kept live, as bench/malloc/pair_count does: the pairs measure the fast path, not
  // the empty-slab path. Both runs pay the first-use set-up here, so it cancels out.
  void* neighbour = dma ? hm_dma_malloc(h, size) : hm_malloc(size);
  asm volatile("" : : "r"(neighbour) : "memory");
  for (long i = 0; i < pairs; ++i) {
    void* p = dma ? hm_dma_malloc(h, size) : hm_malloc(size);
    asm volatile("" : : "r"(p) : "memory");
    if (dma) hm_dma_free(p);
    else hm_free(p);
  }
  if (dma) {
    hm_dma_free(neighbour);
    hm_dma_heap_destroy(h);
  } else {
    hm_free(neighbour);
  }
  return 0;
}
