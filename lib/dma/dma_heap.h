// A DMA heap (include/hugemem/dma.h): one slab domain (page/domain.h) above the NUMA nodes, so
// the malloc's slabs, thread heaps and ownership protocol (docs/slab-protocol.md) serve it
// unchanged. Its domain's NodeSlabs and PageHeap are members here; its PageHeap takes hugetlb
// arenas only and calls this heap's hooks when an arena is mapped (make it reachable by the
// device, record its IOVAs) and before one is unmapped (the reverse, device first).
//
// Heaps live in a fixed table (kMaxHeaps slots, reused): a slab's domain byte always names a
// slot, and the slot's memory is never freed. `gen` counts a slot's heaps: odd while one lives.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hugemem/dma.h"
#include "os/env.h"
#include "os/os.h"
#include "page/domain.h"
#include "page/heap.h"
#include "page/lock.h"
#include "slab/node.h"

namespace hm::dma {

inline constexpr int kMaxHeaps = page::kMaxDmaDomains;
// The part of an arena a device reaches: from the 2 MiB boundary before the first usable page to
// the arena's end. Its header, page descriptors and guard stay out of the device's reach.
inline constexpr std::size_t kDeviceOffset = std::size_t{page::kFirstUsablePage - 1} << page::kPageShift;
inline constexpr std::size_t kDeviceBytes = page::kArenaSize - kDeviceOffset;
static_assert(kDeviceOffset % os::k2M == 0);

class DmaHeap final : public page::ArenaHooks {
 public:
  slab::NodeSlabs slabs;
  page::PageHeap pages;
  std::atomic<std::uint32_t> gen{0};  // odd while a heap lives in this slot (written under g_lock)
  int index = kMaxHeaps;              // the slot (set at creation); the domain is kFirstDmaDomain + index
  bool debug = false;
  bool physical = false;              // IOVA = physical address (no mapper)
  hm_dma_mapper mapper{};
  char name[32] = {};
  // Under pages' lock (the hooks run under it).
  std::size_t arenas = 0, maps = 0, unmaps = 0;
  os::Backing first_backing = os::Backing::Huge1G;
  os::Message why;  // why the last arena could not be made reachable, and its errno:
  int why_errno = 0;

  int domain() const { return page::kFirstDmaDomain + index; }
  bool live() const { return gen.load(std::memory_order_relaxed) & 1; }

  bool arena_mapped(page::Arena* a) override;
  void arena_unmapping(page::Arena* a) override;

 private:
  bool map_physical(char* va, std::size_t granule);
};

extern DmaHeap g_heaps[kMaxHeaps];
// Creation, destruction, and every change of a thread's heap table (dma/thread.h).
// Lock order: this -> heap registry -> node -> page heap.
extern page::SpinLock g_lock;

// A handle is its slot's address with the low 16 bits of the slot's generation in its top 16
// bits (user addresses have 47): a handle kept after its heap was destroyed names a dead
// generation even once the slot holds another heap, and resolves to g_dead, which is never live
// (so every call with it fails with EINVAL) and whose index is the entry every thread table
// keeps null (so the fast paths send it to the slow ones). Generations wrap after 32768 heaps
// in one slot.
inline constexpr int kGenShift = 48;
extern DmaHeap g_dead;
inline DmaHeap* from(const hm_dma_heap* h) {
  auto v = reinterpret_cast<std::uintptr_t>(h);
  auto* slot = reinterpret_cast<DmaHeap*>(v & ((std::uintptr_t{1} << kGenShift) - 1));
  if (!slot || (v >> kGenShift) != (slot->gen.load(std::memory_order_relaxed) & 0xffff)) return &g_dead;
  return slot;
}
inline hm_dma_heap* to_c(DmaHeap* h) {
  if (!h) return nullptr;
  std::uintptr_t gen = h->gen.load(std::memory_order_relaxed) & 0xffff;
  return reinterpret_cast<hm_dma_heap*>(reinterpret_cast<std::uintptr_t>(h) | gen << kGenShift);
}
// The heap whose page heap is `p`, or nullptr (the malloc's page heaps).
DmaHeap* of_page_heap(const page::PageHeap* p);

}  // namespace hm::dma
