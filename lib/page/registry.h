// Which memory is hugemem's: two words per 1 GiB of the 47-bit user address space, one table
// holding the Arena* that starts there, the other (DirectHeader* | 1) for every 1 GiB a direct
// mapping covers. Arenas and direct mappings are aligned to 1 GiB, so no two owners share a slot
// and "is this pointer ours" is one load, and for free's fast path, which only wants arenas,
// one load with no test of what kind of owner it found. Slots are written under the owning heap's lock and read
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
inline constexpr std::size_t kRegistrySlots = std::size_t{1} << kRegistryBits;
extern std::atomic<std::uintptr_t> g_registry[kRegistrySlots];         // Arena* or 0
extern std::atomic<std::uintptr_t> g_direct_registry[kRegistrySlots];  // DirectHeader* | 1, or 0

// The arena of p's slot, or 0. The slot index is masked instead of bounds-checked: a pointer
// above 2^47 aliases a slot, so the caller must check p against what it finds there (free's
// fast path checks that p is an object start of the slab its descriptor names, which an
// aliased address, 2^47 or more away, never is).
inline std::uintptr_t arena_entry_masked(const void* p) {
  return g_registry[(reinterpret_cast<std::uintptr_t>(p) >> kArenaShift) & (kRegistrySlots - 1)].load(
      std::memory_order_acquire);
}
// Arena*, or DirectHeader* | 1, or 0.
inline std::uintptr_t registry_entry(const void* p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a >> kUserAddressBits) return 0;
  if (std::uintptr_t e = g_registry[a >> kArenaShift].load(std::memory_order_acquire)) return e;
  return g_direct_registry[a >> kArenaShift].load(std::memory_order_acquire);
}
// The same for a slot index (statistics walk every slot).
inline std::uintptr_t registry_slot(std::size_t slot) {
  if (std::uintptr_t e = g_registry[slot].load(std::memory_order_acquire)) return e;
  return g_direct_registry[slot].load(std::memory_order_acquire);
}
inline Arena* registry_arena(std::uintptr_t e) { return (e & 1) ? nullptr : reinterpret_cast<Arena*>(e); }
inline DirectHeader* registry_direct(std::uintptr_t e) {
  return (e & 1) ? reinterpret_cast<DirectHeader*>(e & ~std::uintptr_t{1}) : nullptr;
}

// Registers [base, base + size) to `entry` (an Arena*, or a DirectHeader* | 1), or with 0
// unregisters it.
void registry_set(const void* base, std::size_t size, std::uintptr_t entry);

}  // namespace hm::page
