// Which memory a device can reach, and at which device address: VA -> IOVA for every range mapped
// for DMA (DMA heap arenas, packet pool chunks), found in O(1), without a lock or a system call.
//
// Two levels of tables, like the registry: one slot per GiB of the 47-bit user address space
// names a table of 512 entries, one per 2 MiB. An entry is
//   0                  not DMA memory;
//   (iova - va) | 1    every byte of this 2 MiB is mapped, IOVA-contiguously (IOVAs and VAs are
//                      4 KiB aligned, so the low bits of the difference are free for the tag);
//   table | 2          a table of 512 entries of the first kind, one per 4 KiB, for a 2 MiB range
//                      that holds pieces of more than one mapping (or of none).
// Tables are made on first need and never freed, so a reader that races with a writer reads
// either the old or the new entry, never freed memory. Writers hold one lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "page/registry.h"

namespace hm::page {

inline constexpr std::uint64_t kNoIova = ~std::uint64_t{0};

using IovaEntry = std::atomic<std::uintptr_t>;
extern std::atomic<IovaEntry*> g_iova_l1[std::size_t{1} << kRegistryBits];

// The IOVA of the byte at p, or kNoIova when p is not in memory mapped for DMA.
inline std::uint64_t iova_lookup(const void* p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a >> kUserAddressBits) return kNoIova;
  IovaEntry* l2 = g_iova_l1[a >> 30].load(std::memory_order_acquire);
  if (!l2) return kNoIova;
  std::uintptr_t e = l2[(a >> 21) & 511].load(std::memory_order_acquire);
  if (e & 2) e = reinterpret_cast<IovaEntry*>(e & ~std::uintptr_t{3})[(a >> 12) & 511].load(std::memory_order_acquire);
  if (!(e & 1)) return kNoIova;
  return a + (e & ~std::uintptr_t{1});
}

// Records that [va, va + len) is seen by devices at [iova, iova + len). va, len and iova are
// 4 KiB aligned and the range overlaps no recorded one. False (errno ENOMEM, nothing recorded)
// when a table could not be mapped.
bool iova_map_set(const void* va, std::size_t len, std::uint64_t iova);
// Forgets [va, va + len) (recorded before, whole or in part).
void iova_map_clear(const void* va, std::size_t len);

}  // namespace hm::page
