#include "slab/node.h"

#include "slab/heap.h"

namespace hm::slab {
namespace {

NodeSlabs g_nodes[page::kMaxNodes];

}  // namespace

NodeSlabs& NodeSlabs::of(int node) {
  if (node < 0 || node >= page::kMaxNodes) node = 0;
  return g_nodes[node];
}

Slab* NodeSlabs::take(int c, ThreadHeap* h) {
  Slab* s;
  {
    page::LockGuard g(lock_);
    s = partial_[c].pop();
    if (!s) return nullptr;
    if (s->used == 0 && empties_[c]) --empties_[c];
    s->state = SlabState::Active;
    s->owner.store(h, std::memory_order_release);
  }
  collect_remote(s);
  return s;
}

void NodeSlabs::put_partial(Slab* s) {
  page::LockGuard g(lock_);
  // From a remote free's notification: only a slab still detached moves (under this lock, so
  // thread exit and adoption never race with it).
  if (s->state != SlabState::Detached || s->owner.load(std::memory_order_acquire)) return;
  s->state = SlabState::NodePartial;
  partial_[s->cls].push(s);
}

void NodeSlabs::put_empty(Slab* s) {
  {
    page::LockGuard g(lock_);
    if (empties_[s->cls] < kMinPartial) {
      ++empties_[s->cls];
      s->state = SlabState::NodePartial;
      partial_[s->cls].push(s);
      return;
    }
  }
  free_slab(s);
}

void NodeSlabs::abandon(Slab* s) {
  s->owner.store(nullptr, std::memory_order_seq_cst);
  page::LockGuard g(lock_);
  for (;;) {
    collect_remote(s);
    if (s->used == 0 && empties_[s->cls] >= kMinPartial) {
      free_slab(s);
      return;
    }
    if (s->used == 0) ++empties_[s->cls];
    if (s->free) {
      s->state = SlabState::NodePartial;
      partial_[s->cls].push(s);
      return;
    }
    // Full: detached until a remote free clears the notify bit and calls put_partial.
    s->state = SlabState::Detached;
    std::uintptr_t r = s->remote.load(std::memory_order_acquire);
    if (r == kNotify) return;
    if (r == 0 && s->remote.compare_exchange_strong(r, kNotify, std::memory_order_acq_rel)) return;
  }
}

std::size_t NodeSlabs::trim() {
  std::size_t freed = 0;
  page::LockGuard g(lock_);
  for (int c = 0; c < kClasses; ++c) {
    for (Slab* s = partial_[c].head; s;) {
      Slab* next = s->next;
      collect_remote(s);
      if (s->used == 0) {
        partial_[c].remove(s);
        freed += slab_pages(c) * os::kPageSize;
        free_slab(s);
      }
      s = next;
    }
    empties_[c] = 0;
  }
  return freed;
}

std::size_t NodeSlabs::partial_slabs() {
  page::LockGuard g(lock_);
  std::size_t n = 0;
  for (auto& l : partial_) n += l.length;
  return n;
}

Slab* new_slab(int c, int node, ThreadHeap* h) {
  std::size_t pages = slab_pages(c);
  void* base = page::PageHeap::of_node(node).alloc(pages, pages, page::PageKind::Slab, static_cast<std::uint8_t>(c), nullptr);
  if (!base) return nullptr;
  Slab* s = format_slab(base, c, node);
  s->owner.store(h, std::memory_order_release);
  return s;
}

void free_slab(Slab* s) { page::PageHeap::of_node(s->node).free(s, slab_pages(s->cls)); }

void lock_nodes() {
  for (NodeSlabs& n : g_nodes) n.lock();
}
void unlock_nodes() {
  for (NodeSlabs& n : g_nodes) n.unlock();
}
void reset_nodes() {
  for (NodeSlabs& n : g_nodes) n.reset_lock();
}

}  // namespace hm::slab
