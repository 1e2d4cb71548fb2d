// Per-NUMA-node slab state: the slabs no thread owns (with free objects, for any thread of the
// node to adopt before it asks the page layer for a fresh slab), a small reserve of empty slabs,
// and the lock under which every notice, ownership change and slab free happens (slab.h).
// Lock order: heap registry -> node -> page heap.
#pragma once

#include <atomic>
#include <cstddef>

#include "page/domain.h"
#include "page/heap.h"
#include "page/lock.h"
#include "slab/slab.h"
#include "slab/slab_list.h"

namespace hm::slab {

// Empty slabs a node keeps per class (short slabs only) so that a class that empties and refills
// does not cycle through the buddy allocator.
inline constexpr std::size_t kMinPartial = 1;
inline constexpr std::size_t kReservePagesMax = 16;
// Partial slabs of a class a thread may hold before frees into node-owned slabs stop handing
// them to it: beyond that, they stay with the node for any thread to take.
inline constexpr std::size_t kAdoptOnFreeMax = 16;

// Test hook: called by a notice right after it claimed kNotify (holding the node's lock), so a
// test can park the freeing thread exactly where the notice window is. Null in production.
extern void (*g_notice_hook)(Slab* s);

class NodeSlabs;
// The slabs of DMA domain d (page/domain.h), or null; set while the DMA heap lives.
extern std::atomic<NodeSlabs*> g_dma_slabs[page::kMaxDmaDomains];
// Domains whose fresh objects are filled as checked mode fills freed ones (kFreeFill), so that
// every object handed out can be verified: a DMA heap in debug mode (lib/dma).
extern bool g_fill_domain[page::kMaxDomains];

class NodeSlabs {
 public:
  // A slab domain's (page/domain.h): a NUMA node's, or a DMA heap's.
  static NodeSlabs& of(int node);

  // A slab of class c with free objects, now owned by h and Active; nullptr if the node has none.
  Slab* take(int c, ThreadHeap* h);
  // A remote free into an armed slab: the push and the notice, under this node's lock. A
  // node-owned slab that still holds objects becomes the freeing thread's (`by`, its own heap on
  // this node; not the orphan), so its next frees into it are local and its allocations reuse
  // it: a thread that takes over the objects of an exited one stops taking this lock per free.
  void notice_free(Slab* s, FreeObj* p, ThreadHeap* by);
  // h's slab s has no object left in use: unlinked from h's pending list, then kept as reserve or
  // given back to the page layer.
  void put_empty(Slab* s, ThreadHeap* h);
  // Detaches h's pending list (clearing `queued`), writing at most `max` slabs into out.
  std::size_t take_pending(ThreadHeap* h, Slab** out, std::size_t max);
  // Thread exit: every slab of h becomes the node's (partial, empty or detached).
  void abandon(ThreadHeap* h);
  // Gives every empty node-owned slab back to the page layer. Returns bytes freed.
  std::size_t trim();

  // Read-only views for tests and statistics (under the lock).
  const SlabList& partial(int c) const { return partial_[c]; }

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock() { lock_.reset(); }

 private:
  void adopt_locked(Slab* s);
  Slab* notice_locked(Slab* s, FreeObj* p, ThreadHeap* by);
  bool may_adopt_locked(const Slab* s, const ThreadHeap* by) const;
  bool put_empty_locked(Slab* s, ThreadHeap* h);
  // The next three return true when s is to be given to the page layer by the caller, after it
  // dropped the lock (s is then unreachable).
  bool keep_or_doom_locked(Slab* s);
  bool give_to_node_locked(Slab* s);

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
