#include "page/registry.h"

namespace hm::page {

// 1 MiB each of zero-initialised .bss: only the slots of mapped arenas and direct mappings are
// ever touched.
std::atomic<std::uintptr_t> g_registry[kRegistrySlots];
std::atomic<std::uintptr_t> g_direct_registry[kRegistrySlots];

void registry_set(const void* base, std::size_t size, std::uintptr_t entry) {
  auto a = reinterpret_cast<std::uintptr_t>(base);
  for (std::uintptr_t s = a >> kArenaShift; s <= (a + size - 1) >> kArenaShift; ++s) {
    if (entry == 0 || (entry & 1) == 0) g_registry[s].store(entry, std::memory_order_release);
    if (entry == 0 || (entry & 1) != 0) g_direct_registry[s].store(entry, std::memory_order_release);
  }
}

}  // namespace hm::page
