// The slab ownership protocol (lib/slab/slab.h): the notice window, slabs of exited threads, and
// a model test that drives several heaps through random interleavings of alloc, local and
// remote free, thread exit, adoption and trim, checking after every step that no freed slab is
// reachable and every object is counted exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "page/lookup.h"
#include "slab/free.h"
#include "slab/node.h"
#include "slab/thread_heap.h"

namespace {

using namespace hm::slab;
using Clock = std::chrono::steady_clock;

// Fills heap h's active slab of class c and retires it: returns the full slab and its objects.
Slab* fill_one_slab(ThreadHeap* h, int c, std::vector<void*>& objs) {
  Slab* s = nullptr;
  do {
    objs.push_back(h->alloc(c));
    s = h->active[c];
  } while (s->has_free() || s->fresh != s->begin + s->span);
  objs.push_back(h->alloc(c));  // retires s as full and starts another slab
  void* extra = objs.back();
  objs.pop_back();
  h->free(h->active[c], static_cast<FreeObj*>(extra));
  return s;
}

// The hook parks the freeing thread right after its notice claimed the slab, and records whether
// the owner's exit could finish meanwhile (it must not: the exit would free or re-own the slab
// under the parked thread's feet, the use-after-free the protocol exists to prevent).
std::atomic<bool> g_parked{false};
std::atomic<bool> g_exit_done{false};
std::atomic<bool> g_exit_finished_while_parked{false};

void park_notice(Slab*) {
  g_parked = true;
  auto until = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < until) {
    if (g_exit_done) {
      g_exit_finished_while_parked = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(NoticeWindow, AnOwnerCannotExitWhileAFreeIsDeliveringItsNotice) {
  constexpr int kClass = 20;  // 640 B
  ThreadHeap* owner = acquire_heap(0);
  ASSERT_NE(owner, nullptr);
  std::vector<void*> objs;
  Slab* s = fill_one_slab(owner, kClass, objs);
  ASSERT_EQ(s->state, SlabState::Full);
  ASSERT_EQ(s->remote.load(), kNotify);

  g_notice_hook = park_notice;
  std::thread freer([&] { g_orphan.free(s, static_cast<FreeObj*>(objs[0])); });
  while (!g_parked) std::this_thread::yield();
  std::thread exiter([&] {
    release_heap(owner);
    g_exit_done = true;
  });
  freer.join();
  exiter.join();
  g_notice_hook = nullptr;
  EXPECT_FALSE(g_exit_finished_while_parked) << "the owner exited while a remote free was between its push and its notice";

  // The exit collected the free and gave the slab to the node, which lists it.
  EXPECT_EQ(s->owner.load(), nullptr);
  EXPECT_EQ(s->state, SlabState::NodePartial);
  EXPECT_EQ(s->used, s->capacity - 1);
  EXPECT_EQ(s->remote.load(), kNotify) << "node-owned slabs stay armed";
  for (std::size_t i = 1; i < objs.size(); ++i) g_orphan.free(s, static_cast<FreeObj*>(objs[i]));
  // Emptied by remote frees alone, with no malloc_trim: back to the page layer, or kept as the
  // node's one reserve slab of its class.
  bool freed = slab_of(objs[1]) != s;
  EXPECT_TRUE(freed || (s->used == 0 && s->state == SlabState::NodePartial));
}

TEST(NoticeWindow, ANoticeQueuedBeforeAnExitDoesNotSilenceTheNextOwner) {
  constexpr int kClass = 21;
  ThreadHeap* a = acquire_heap(0);
  ThreadHeap* b = acquire_heap(0);
  std::vector<void*> objs;
  Slab* s = fill_one_slab(a, kClass, objs);
  g_orphan.free(s, static_cast<FreeObj*>(objs[0]));  // notice: queued on a
  ASSERT_EQ(a->pending.load(), s);
  release_heap(a);  // a exits with s still queued
  EXPECT_EQ(b->pending.load(), nullptr);
  // b adopts s, fills it, retires it; the next remote free must reach b.
  ASSERT_EQ(NodeSlabs::of(0).take(kClass, b), s) << "the last slab the node listed is adopted first";
  b->set_active(kClass, s);
  objs[0] = b->alloc(kClass);
  ASSERT_FALSE(s->has_free());
  void* next = b->alloc(kClass);  // retires s, armed
  ASSERT_EQ(s->state, SlabState::Full);
  g_orphan.free(s, static_cast<FreeObj*>(objs[1]));
  EXPECT_EQ(b->pending.load(), s) << "a stale mark from the old owner's queue swallowed the notice";
  b->drain_pending();
  EXPECT_EQ(s->state, SlabState::Partial);
  b->free(b->active[kClass], static_cast<FreeObj*>(next));
  for (std::size_t i = 0; i < objs.size(); ++i) {
    if (i != 1) b->free(s, static_cast<FreeObj*>(objs[i]));
  }
  release_heap(b);
}

// ---- the model test ------------------------------------------------------------------------

struct Model {
  static constexpr int kHeaps = 3;
  static constexpr int kClassesUsed[] = {24, 30, 36};  // 1 KiB, 3 KiB, 10 KiB: few objects a slab
  ThreadHeap* heaps[kHeaps];
  std::map<void*, Slab*> live;  // object -> the slab it came from
  std::mt19937_64 rng;

  explicit Model(std::uint64_t seed) : rng(seed) {
    for (auto& h : heaps) h = acquire_heap(0);
  }

  void step() {
    int op = static_cast<int>(rng() % 100);
    ThreadHeap* h = heaps[rng() % kHeaps];
    if (op < 45 || live.empty()) {
      int c = kClassesUsed[rng() % 3];
      void* p = h->alloc(c);
      ASSERT_NE(p, nullptr);
      Slab* s = slab_of(p);
      ASSERT_NE(s, nullptr);
      ASSERT_TRUE(s->contains_object(p));
      ASSERT_TRUE(live.emplace(p, s).second) << "object handed out twice";
    } else if (op < 90) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      // Sometimes through the orphan (a thread after its exit).
      ThreadHeap* by = rng() % 8 == 0 ? &g_orphan : h;
      by->free(it->second, static_cast<FreeObj*>(it->first));
      live.erase(it);
    } else if (op < 95) {
      h->drain_pending();
    } else if (op < 98) {
      int i = static_cast<int>(rng() % kHeaps);
      release_heap(heaps[i]);  // thread exit
      heaps[i] = acquire_heap(0);
    } else {
      NodeSlabs::of(0).trim();
    }
  }

  static std::size_t walk(Slab* s, FreeObj* head, std::set<void*>& seen) {
    std::size_t n = 0;
    for (FreeObj* p = head; p != s->end; p = decode(p->link, s)) {
      if (!s->contains_object(p)) {
        ADD_FAILURE() << "a list leaves its slab";
        break;
      }
      EXPECT_TRUE(seen.insert(p).second) << "an object is on two lists (or twice on one)";
      if (++n > s->capacity) break;
    }
    return n;
  }

  // Every slab reachable from a heap or the node, and every slab holding a live object, is a
  // live slab of the page layer; its objects are each in exactly one place.
  void check() {
    std::set<Slab*> slabs;
    for (ThreadHeap* h : heaps) {
      for (int c : kClassesUsed) {
        if (h->active[c] != &g_empty_slab) slabs.insert(h->active[c]);
        for (Slab* s = h->partial[c].head; s; s = s->next) slabs.insert(s);
        for (Slab* s = h->full[c].head; s; s = s->next) slabs.insert(s);
      }
      for (Slab* s = h->pending.load(); s; s = s->pending_next) slabs.insert(s);
    }
    for (int c : kClassesUsed) {
      for (Slab* s = NodeSlabs::of(0).partial(c).head; s; s = s->next) {
        EXPECT_EQ(s->owner.load(), nullptr);
        slabs.insert(s);
      }
    }
    std::map<Slab*, std::size_t> live_in;
    for (auto& [p, s] : live) {
      ++live_in[s];
      slabs.insert(s);
    }
    for (Slab* s : slabs) {
      ASSERT_EQ(slab_of(s->begin), s) << "a reachable slab was given back to the page layer";
      std::set<void*> seen;
      std::size_t on_free = walk(s, s->free, seen);
      std::uintptr_t r = s->remote.load();
      std::size_t on_remote = r > kNotify ? walk(s, list_head(r), seen) : 0;
      EXPECT_EQ(on_remote, list_length(r)) << "R's length is not its list's";
      auto fresh = static_cast<std::size_t>((s->begin + s->span - s->fresh) / s->size);
      for (auto& [p, ps] : live) {
        if (ps == s) EXPECT_FALSE(seen.count(p)) << "a live object is also on a free list";
      }
      EXPECT_EQ(on_free + on_remote + fresh + live_in[s], s->capacity) << "objects lost or counted twice";
      EXPECT_EQ(s->used, s->capacity - on_free - fresh) << "used counts what is not on the local list";
      if (s->owner.load() == nullptr) {
        EXPECT_TRUE(r == kNotify) << "a node-owned slab is armed with no list";
      }
    }
  }
};

TEST(SlabModel, RandomInterleavingsKeepEveryObjectOnceAndNoFreedSlabReachable) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Model m(seed);
    for (int i = 0; i < 4000; ++i) {
      m.step();
      if (i % 7 == 0) m.check();
      if (::testing::Test::HasFailure()) FAIL() << "seed " << seed << " step " << i;
    }
    for (auto& [p, s] : m.live) m.heaps[0]->free(s, static_cast<FreeObj*>(p));
    m.live.clear();
    m.check();
    for (ThreadHeap* h : m.heaps) release_heap(h);
  }
}

}  // namespace
