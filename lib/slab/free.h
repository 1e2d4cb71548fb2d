// The free of a small object, local and remote, as the malloc's free calls it. Anything it does
// not handle (a large or direct block, a pointer to report, checked mode) it leaves to the
// caller's slow path by returning false, having changed nothing.
#pragma once

#include "page/lookup.h"
#include "slab/thread_heap.h"

namespace hm::slab {

inline Slab* slab_of(const void* p) { return reinterpret_cast<Slab*>(page::slab_base_of(p)); }

// h is the calling thread's own heap (never the orphan).
inline bool free_fast(ThreadHeap* h, void* p) {
  Slab* s = slab_of(p);
  if (__builtin_expect(s == nullptr, 0)) return false;
  auto* o = static_cast<FreeObj*>(p);
  if (kHardened && __builtin_expect(!s->contains_object(p) || looks_free(s, o), 0)) return false;
  --h->live[s->cls];
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) == h, 1)) {
    h->local_free(s, o);
  } else {
    ThreadHeap::remote_free(s, o);
  }
  return true;
}

}  // namespace hm::slab
