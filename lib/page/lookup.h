// The one way from an address to what holds it: the registry slot gives the arena (or a direct
// mapping), the arena's descriptor array gives the page's kind, for a slab page the slab's first
// page. Every step is a load; nothing is searched. Used by free, realloc, usable_size, hm_owns.
#pragma once

#include <cstdint>

#include "os/os.h"
#include "page/desc.h"
#include "page/registry.h"

namespace hm::page {

// The descriptor of p's page in the arena whose registry entry is `arena` (non-zero, not a
// direct mapping). The arena's layout is page 0 = header, then the descriptor array (desc.h).
inline const PageDesc* desc_in(std::uintptr_t arena, const void* p) {
  std::uintptr_t page = (reinterpret_cast<std::uintptr_t>(p) >> kPageShift) & (kArenaPages - 1);
  return reinterpret_cast<const PageDesc*>(arena + os::kPageSize) + page;
}

// The first byte of p's slab when p lies in a slab page of an arena; 0 otherwise (a large
// block, a direct mapping, metadata, free pages, or memory that is not hugemem's).
inline std::uintptr_t slab_base_of(const void* p) {
  std::uintptr_t e = registry_entry(p);
  if (e == 0 || (e & 1) != 0) return 0;
  const PageDesc* d = desc_in(e, p);
  if (d->kind != PageKind::Slab) return 0;
  return d->slab_base();
}

}  // namespace hm::page
