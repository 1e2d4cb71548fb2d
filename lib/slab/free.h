// The free of a small object, local and remote, as the malloc's free calls it. Anything it does
// not handle (a large or direct block, a pointer to report, checked mode) it leaves to the
// caller's slow path by returning false, having changed nothing.
#pragma once

#include "page/lookup.h"
#include "slab/thread_heap.h"

namespace hm::slab {

inline Slab* slab_of(const void* p) { return reinterpret_cast<Slab*>(page::slab_base_of(p)); }

// h is the calling thread's heap as api::t_heap gives it: its own, or the unready heap (never
// the orphan).
inline bool free_fast(ThreadHeap* h, void* p) {
  // Unhardened builds skip the object-start check that makes the masked lookup safe.
  if (!kHardened && (reinterpret_cast<std::uintptr_t>(p) >> page::kUserAddressBits)) return false;
  std::uintptr_t e = page::arena_entry_masked(p);
  if (__builtin_expect(e == 0, 0)) return false;
  const page::PageDesc* d = page::desc_in(e, p);
  if (__builtin_expect(d->kind != page::PageKind::Slab, 0)) return false;
  auto* s = reinterpret_cast<Slab*>(d->slab_base());
  auto* o = static_cast<FreeObj*>(p);
  if (kHardened && __builtin_expect(!s->contains_object(p) || looks_free(s, o), 0)) return false;
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) == h, 1)) {
    h->local_free(s, o);
  } else {
    ThreadHeap::remote_free(s, o, h);
  }
  return true;
}

}  // namespace hm::slab
