#include "page/registry.h"

namespace hm::page {

// 1 MiB of zero-initialised .bss: only the slots of mapped arenas are ever touched.
std::atomic<std::uintptr_t> g_registry[std::size_t{1} << kRegistryBits];

void registry_set(const void* base, std::size_t size, std::uintptr_t entry) {
  auto a = reinterpret_cast<std::uintptr_t>(base);
  for (std::uintptr_t s = a >> kArenaShift; s <= (a + size - 1) >> kArenaShift; ++s)
    g_registry[s].store(entry, std::memory_order_release);
}

}  // namespace hm::page
