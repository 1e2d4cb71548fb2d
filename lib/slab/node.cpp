#include "slab/node.h"

#include "slab/thread_heap.h"

namespace hm::slab {
namespace {

NodeSlabs g_nodes[page::kMaxNodes];

}  // namespace

void (*g_notice_hook)(Slab* s) = nullptr;
std::atomic<NodeSlabs*> g_dma_slabs[page::kMaxDmaDomains];

NodeSlabs& NodeSlabs::of(int node) {
  if (page::is_dma_domain(node)) {
    if (NodeSlabs* n = g_dma_slabs[node - page::kFirstDmaDomain].load(std::memory_order_acquire)) return *n;
  }
  if (node < 0 || node >= page::kMaxNodes) node = 0;
  return g_nodes[node];
}

Slab* NodeSlabs::take(int c, ThreadHeap* h) {
  page::LockGuard g(lock_);
  Slab* s = partial_[c].pop();
  if (!s) return nullptr;
  if (s->used == 0 && empties_[c]) --empties_[c];
  adopt_locked(s);
  s->owner.store(h, std::memory_order_relaxed);
  return s;
}

void NodeSlabs::adopt_locked(Slab* s) {
  // Node-owned slabs stay armed, so every push into one is a notice under this lock and R holds
  // no list here; disarm it for the new owner (collecting anyway, which costs nothing).
  std::uintptr_t r = s->remote.exchange(0, std::memory_order_acquire);
  if (r > kNotify) take_list(s, r);
  s->state = SlabState::Active;
}

void NodeSlabs::notice_free(Slab* s, FreeObj* p, ThreadHeap* by) {
  if (Slab* doomed = notice_locked(s, p, by)) free_slab(doomed);
}

bool NodeSlabs::may_adopt_locked(const Slab* s, const ThreadHeap* by) const {
  return by && by != &g_orphan && &of(by->node) == this && by->partial[s->cls].length < kAdoptOnFreeMax;
}

Slab* NodeSlabs::notice_locked(Slab* s, FreeObj* p, ThreadHeap* by) {
  page::LockGuard g(lock_);
  std::uintptr_t r = s->remote.load(std::memory_order_relaxed);
  do {
    p->link = encode(push_link(r, s->end), s);
  } while (!s->remote.compare_exchange_weak(r, pushed(r & ~kNotify, p), std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
  if (!(r & kNotify)) return nullptr;  // disarmed meanwhile, or another notice came first: a plain push
  if (g_notice_hook) g_notice_hook(s);
  if (ThreadHeap* o = s->owner.load(std::memory_order_relaxed)) {
    // Owned: the owner collects. Queue s once; the owner takes it off under this lock.
    if (!s->queued) {
      s->queued = true;
      s->pending_next = o->pending.load(std::memory_order_relaxed);
      o->pending.store(s, std::memory_order_release);
    }
    return nullptr;
  }
  // Node-owned: collect here and re-arm in one step; later pushes wait for this lock.
  take_list(s, s->remote.exchange(kNotify, std::memory_order_acquire));
  if (s->used != 0 && may_adopt_locked(s, by)) {
    // Adoption on free: s becomes a partial slab of by, whose thread is the caller (its lists
    // are touched by no other thread). Owner first, then disarm: a noticer waiting for this lock
    // then finds R disarmed and its claim is a plain push that by collects; a later free by by
    // itself sees owner == by and is local.
    if (s->state == SlabState::NodePartial) partial_[s->cls].remove(s);
    s->owner.store(by, std::memory_order_relaxed);
    s->remote.store(0, std::memory_order_release);
    s->state = SlabState::Partial;
    by->partial[s->cls].push(s);
    return nullptr;
  }
  if (s->used == 0) {
    if (s->state == SlabState::NodePartial) partial_[s->cls].remove(s);
    return keep_or_doom_locked(s) ? s : nullptr;
  }
  if (s->state == SlabState::Detached) {
    s->state = SlabState::NodePartial;
    partial_[s->cls].push(s);
  }
  return nullptr;
}

void NodeSlabs::put_empty(Slab* s, ThreadHeap* h) {
  bool doomed;
  {
    page::LockGuard g(lock_);
    doomed = put_empty_locked(s, h);
  }
  if (doomed) free_slab(s);
}

bool NodeSlabs::put_empty_locked(Slab* s, ThreadHeap* h) {
  if (s->queued) {
    Slab* q = h->pending.load(std::memory_order_relaxed);
    if (q == s) {
      h->pending.store(s->pending_next, std::memory_order_relaxed);
    } else {
      while (q->pending_next != s) q = q->pending_next;
      q->pending_next = s->pending_next;
    }
    s->queued = false;
  }
  s->owner.store(nullptr, std::memory_order_relaxed);
  return keep_or_doom_locked(s);
}

bool NodeSlabs::keep_or_doom_locked(Slab* s) {
  // used == 0: nobody holds an object of s, so nobody can push onto R or be noticing it; and it
  // is on no list. Kept as reserve, or unreachable from here on: the caller gives it to the page
  // layer once this lock is dropped (the page heap's lock and its system calls stay outside it).
  if (s->pages <= kReservePagesMax && empties_[s->cls] < kMinPartial) {
    ++empties_[s->cls];
    s->state = SlabState::NodePartial;
    s->remote.store(kNotify, std::memory_order_relaxed);
    partial_[s->cls].push(s);
    return false;
  }
  return true;
}

std::size_t NodeSlabs::take_pending(ThreadHeap* h, Slab** out, std::size_t max) {
  page::LockGuard g(lock_);
  std::size_t n = 0;
  Slab* s = h->pending.load(std::memory_order_relaxed);
  for (; s && n < max; s = s->pending_next) {
    s->queued = false;
    out[n++] = s;
  }
  h->pending.store(s, std::memory_order_relaxed);
  return n;
}

bool NodeSlabs::give_to_node_locked(Slab* s) {
  s->owner.store(nullptr, std::memory_order_relaxed);
  // Arm first, collecting what was pushed: from here every push is a notice under this lock.
  std::uintptr_t r = s->remote.exchange(kNotify, std::memory_order_acq_rel);
  if (r > kNotify) take_list(s, r);
  if (s->used == 0) return keep_or_doom_locked(s);
  if (s->has_free() || s->fresh != s->begin + s->span) {
    s->state = SlabState::NodePartial;
    partial_[s->cls].push(s);
  } else {
    s->state = SlabState::Detached;  // the first free into it lists it (notice_free)
  }
  return false;
}

void NodeSlabs::abandon(ThreadHeap* h) {
  Slab* doomed = nullptr;  // empty slabs to give back once the lock is dropped, through `next`
  auto give = [this, &doomed](Slab* s) {
    if (give_to_node_locked(s)) {
      s->next = doomed;
      doomed = s;
    }
  };
  {
    page::LockGuard g(lock_);
    for (Slab* s = h->pending.exchange(nullptr, std::memory_order_relaxed); s; s = s->pending_next) s->queued = false;
    for (int c = 0; c < kClasses; ++c) {
      if (h->active[c] != &g_empty_slab) give(h->active[c]);
      h->set_active(c, &g_empty_slab);
      while (Slab* s = h->partial[c].pop()) give(s);
      while (Slab* s = h->full[c].pop()) give(s);
    }
  }
  while (doomed) {
    Slab* next = doomed->next;
    free_slab(doomed);
    doomed = next;
  }
}

std::size_t NodeSlabs::trim() {
  std::size_t freed = 0;
  page::LockGuard g(lock_);
  for (int c = 0; c < kClasses; ++c) {
    for (Slab* s = partial_[c].head; s;) {
      Slab* next = s->next;
      if (s->used == 0) {
        partial_[c].remove(s);
        freed += s->bytes();
        free_slab(s);
      }
      s = next;
    }
    empties_[c] = 0;
  }
  return freed;
}

Slab* new_slab(int c, int node, ThreadHeap* h) {
  std::size_t pages = slab_pages(c, h->made[c]);
  void* base = page::PageHeap::of_node(node).alloc(pages, 1, page::PageKind::Slab, static_cast<std::uint8_t>(c), nullptr);
  if (!base) return nullptr;
  if (h->made[c] < 255) ++h->made[c];
  Slab* s = format_slab(base, pages, c, node);
  s->owner.store(h, std::memory_order_relaxed);  // published to others only through its objects
  return s;
}

void free_slab(Slab* s) { page::PageHeap::of_node(s->node).free(s, s->pages); }

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
