// Which memory is hugemem's: one word per 1 GiB of the 47-bit user address space, holding the
// Arena* that starts there, or (DirectHeader* | 1) for every 1 GiB a direct mapping covers.
// Arenas and direct mappings are aligned to 1 GiB, so no two owners share a slot and
// "is this pointer ours" is one load. Slots are written under the owning heap's lock and read
// without one: an arena is unregistered only when it is entirely free, so a racing reader of a
// live block never sees its slot change.
#pragma once

#include <atomic>
#include <cstdint>

#include "page/desc.h"

namespace hm::page {

class Arena;
struct DirectHeader;

// x86-64 user space with 4-level page tables: addresses below 2^47. A pointer above (a 5-level
// mapping, or garbage) is never hugemem's.
inline constexpr int kUserAddressBits = 47;
inline constexpr int kRegistryBits = kUserAddressBits - kArenaShift;
extern std::atomic<std::uintptr_t> g_registry[std::size_t{1} << kRegistryBits];

inline std::uintptr_t registry_entry(const void* p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a >> kUserAddressBits) return 0;
  return g_registry[a >> kArenaShift].load(std::memory_order_acquire);
}
inline Arena* registry_arena(std::uintptr_t e) { return (e & 1) ? nullptr : reinterpret_cast<Arena*>(e); }
inline DirectHeader* registry_direct(std::uintptr_t e) {
  return (e & 1) ? reinterpret_cast<DirectHeader*>(e & ~std::uintptr_t{1}) : nullptr;
}

void registry_set(const void* base, std::size_t size, std::uintptr_t entry);

}  // namespace hm::page
