// Slab domains: the index a slab records in Slab::node and a thread heap in ThreadHeap::node,
// naming the (NodeSlabs, PageHeap) pair its slabs and pages come from. The malloc's domains are
// the NUMA nodes, 0 .. kMaxNodes - 1; each DMA heap (lib/dma) is one domain above them, so the
// slab protocol serves both unchanged. A DMA domain's page heap is registered here while its heap
// lives; PageHeap::of_node resolves the index through this table.
#pragma once

#include <atomic>

#include "page/heap.h"

namespace hm::page {

inline constexpr int kMaxDmaDomains = 64;
inline constexpr int kFirstDmaDomain = kMaxNodes;
inline constexpr int kMaxDomains = kMaxNodes + kMaxDmaDomains;
static_assert(kMaxDomains <= 256, "a slab records its domain in one byte");

inline bool is_dma_domain(int d) { return d >= kFirstDmaDomain && d < kMaxDomains; }

// The page heap of DMA domain d, or null. Set by the DMA layer before the domain's first slab
// exists and cleared only after its last one is gone, so a slab's domain always resolves.
extern std::atomic<PageHeap*> g_dma_page_heaps[kMaxDmaDomains];

}  // namespace hm::page
