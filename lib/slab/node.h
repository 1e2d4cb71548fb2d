// Per-NUMA-node slab lists: slabs no thread owns, with free objects, that any thread of the node
// adopts before asking the page layer for a fresh slab; and a small reserve of empty slabs per
// class (the seed's min_partial) so that a class that empties and refills does not cycle through
// the buddy allocator. One lock per node; lock order: heap registry -> node -> page heap.
#pragma once

#include <cstddef>

#include "page/heap.h"
#include "page/lock.h"
#include "slab/slab.h"
#include "slab/slab_list.h"

namespace hm::slab {

inline constexpr std::size_t kMinPartial = 2;

class NodeSlabs {
 public:
  static NodeSlabs& of(int node);

  // A slab of class c with free objects, now owned by h; nullptr if the node has none.
  Slab* take(int c, ThreadHeap* h);
  // A remote free cleared the notify bit of a slab whose owner is gone: list it if detached.
  void put_partial(Slab* s);
  // Thread exit: s's owner is leaving; it becomes the node's (partial, empty or detached).
  void abandon(Slab* s);
  // A slab whose objects are all free: kept as reserve or given back to the page layer.
  void put_empty(Slab* s);
  // Empties every partial list of slabs whose objects are all free. Returns bytes freed.
  std::size_t trim();
  std::size_t partial_slabs();

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock() { lock_.reset(); }

 private:
  page::SpinLock lock_;
  SlabList partial_[kClasses];
  std::size_t empties_[kClasses] = {};
};

// A slab freshly carved from the page layer for class c on `node`, owned by h; nullptr + ENOMEM.
Slab* new_slab(int c, int node, ThreadHeap* h);
void free_slab(Slab* s);

void lock_nodes();
void unlock_nodes();
void reset_nodes();

}  // namespace hm::slab
