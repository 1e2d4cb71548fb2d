// Slab mechanics with two thread heaps driven from one test thread: local alloc/free, remote
// frees collected by the owner, the notification of a full slab, thread exit (abandon) and
// adoption by another heap, and the freelist checks.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "slab/free.h"
#include "slab/node.h"
#include "slab/thread_heap.h"

namespace {

using namespace hm::slab;

constexpr int kClass = 4;  // 80-byte objects

class Slabs : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = acquire_heap(0);
    b_ = acquire_heap(0);
    ASSERT_TRUE(a_ && b_);
  }
  void TearDown() override {
    release_heap(a_);
    release_heap(b_);
  }
  ThreadHeap* a_ = nullptr;
  ThreadHeap* b_ = nullptr;
};

TEST_F(Slabs, FreshSlabHandsOutEveryObjectOnceInAddressOrder) {
  std::vector<char*> got;
  void* first = a_->alloc(kClass);
  ASSERT_NE(first, nullptr);
  Slab* s = a_->active[kClass];
  got.push_back(static_cast<char*>(first));
  for (std::uint32_t i = 1; i < s->capacity; ++i) got.push_back(static_cast<char*>(a_->alloc(kClass)));
  EXPECT_EQ(s->used, s->capacity);
  for (std::size_t i = 1; i < got.size(); ++i) ASSERT_EQ(got[i] - got[i - 1], 80);
  EXPECT_FALSE(s->has_free());
  for (char* p : got) a_->free(s, reinterpret_cast<FreeObj*>(p));
  EXPECT_EQ(s->used, 0u);
}

TEST_F(Slabs, RemoteFreesAreCollectedByTheOwner) {
  void* p = a_->alloc(kClass);
  void* q = a_->alloc(kClass);
  Slab* s = a_->active[kClass];
  b_->free(s, static_cast<FreeObj*>(p));  // b is not the owner: a remote push
  b_->free(s, static_cast<FreeObj*>(q));
  EXPECT_EQ(s->used, 2u) << "remote frees are not counted until collected";
  EXPECT_NE(s->remote.load(), 0u);
  EXPECT_EQ(collect_remote(s), 2u);
  EXPECT_EQ(s->used, 0u);
}

// A full slab that regains an object goes behind the partial slabs already listed: refills take
// slabs in the order they regained objects, so a slab freed into once is not taken next for that
// one object while others wait with more (taken first, a live set freed at random made most
// refills yield one or two objects).
TEST_F(Slabs, SlabsThatRegainObjectsAreRefilledFromInTheOrderTheyRegainedThem) {
  // Three full slabs: fill the active slab three times over.
  std::vector<Slab*> slabs;
  std::vector<std::vector<FreeObj*>> objs;
  for (int k = 0; k < 3; ++k) {
    void* p = a_->alloc(kClass);
    ASSERT_NE(p, nullptr);
    Slab* s = slab_of(p);
    slabs.push_back(s);
    objs.push_back({static_cast<FreeObj*>(p)});
    while (s->has_free() || s->fresh != s->begin + s->span) objs.back().push_back(static_cast<FreeObj*>(a_->alloc(kClass)));
    ASSERT_EQ(a_->active[kClass], s);
  }
  // Slab 0 and then slab 1 regain one object each, while slab 2 is still the active one.
  a_->free(slabs[0], objs[0][5]);
  a_->free(slabs[1], objs[1][7]);
  ASSERT_EQ(slabs[0]->state, SlabState::Partial);
  ASSERT_EQ(slabs[1]->state, SlabState::Partial);
  // The active slab has none: the next two allocations come from slab 0, then slab 1.
  EXPECT_EQ(a_->alloc(kClass), objs[0][5]);
  EXPECT_EQ(a_->alloc(kClass), objs[1][7]);
  for (std::size_t k = 0; k < 3; ++k)
    for (FreeObj* o : objs[k]) a_->free(slabs[k], o);
}

// R carries its list's length, so a list onto an empty freelist is taken whole (no walk through
// objects another thread wrote); onto a non-empty one it is walked and its length checked.
TEST_F(Slabs, ARemoteListCarriesItsLengthAndGoesWholeOntoAnEmptyFreelist) {
  std::vector<void*> objs;
  Slab* s = nullptr;
  do {
    objs.push_back(a_->alloc(kClass));
    s = a_->active[kClass];
  } while (s->has_free());
  for (int i = 0; i < 5; ++i) b_->free(s, static_cast<FreeObj*>(objs[i]));
  std::uintptr_t r = s->remote.load();
  EXPECT_EQ(list_length(r), 5u);
  EXPECT_EQ(list_head(r), objs[4]) << "the last push is the head";
  ASSERT_FALSE(s->has_free());
  EXPECT_EQ(collect_remote(s), 5u);
  EXPECT_EQ(s->free, objs[4]) << "the list became the freelist as it was";
  EXPECT_EQ(s->used, s->capacity - 5);
  for (int i = 5; i < 8; ++i) b_->free(s, static_cast<FreeObj*>(objs[i]));
  EXPECT_EQ(collect_remote(s), 3u) << "onto a non-empty freelist: walked";
  EXPECT_EQ(s->used, s->capacity - 8);
  for (std::size_t i = 8; i < objs.size(); ++i) a_->free(s, static_cast<FreeObj*>(objs[i]));
  EXPECT_EQ(s->used, 0u);
}

TEST_F(Slabs, ARemoteListWhoseLengthDisagreesWithItsLinksIsReported) {
  void* p = a_->alloc(kClass);
  void* q = a_->alloc(kClass);
  void* keep = a_->alloc(kClass);
  a_->free(a_->active[kClass], static_cast<FreeObj*>(keep));  // the freelist is not empty
  Slab* s = a_->active[kClass];
  b_->free(s, static_cast<FreeObj*>(p));
  b_->free(s, static_cast<FreeObj*>(q));
  // A stray write ends q's link early: q -> (end) instead of q -> p.
  static_cast<FreeObj*>(q)->link = encode(s->end, s);
  EXPECT_DEATH(collect_remote(s), "hugemem: corrupted freelist");
  static_cast<FreeObj*>(q)->link = encode(static_cast<FreeObj*>(p), s);  // repaired for the teardown
  EXPECT_EQ(collect_remote(s), 2u);
}

TEST_F(Slabs, ARemoteFreeIntoAFullSlabNotifiesItsOwner) {
  Slab* s = nullptr;
  std::vector<void*> objs;
  do {
    objs.push_back(a_->alloc(kClass));
    s = a_->active[kClass];
  } while (s->has_free());
  void* next = a_->alloc(kClass);  // retires s as full, starts another slab
  ASSERT_EQ(s->state, SlabState::Full);
  EXPECT_EQ(s->remote.load(), kNotify) << "a full slab is armed";
  b_->free(s, static_cast<FreeObj*>(objs[3]));
  EXPECT_EQ(a_->pending.load(), s) << "the first remote free queues the slab on its owner";
  a_->drain_pending();
  EXPECT_EQ(s->state, SlabState::Partial);
  EXPECT_EQ(s->used, s->capacity - 1);
  for (void* o : objs) {
    if (o != objs[3]) a_->free(s, static_cast<FreeObj*>(o));
  }
  a_->free(a_->active[kClass], static_cast<FreeObj*>(next));
}

// A full slab that a local free made partial again stays armed (disarming would be a locked
// instruction per full -> partial step): the next remote free into it is a notice, which
// disarms it, and its object reaches the owner through the pending list.
TEST_F(Slabs, APartialSlabStillArmedFromItsRetirementGetsItsRemoteFreesThroughANotice) {
  Slab* s = nullptr;
  std::vector<void*> objs;
  do {
    objs.push_back(a_->alloc(kClass));
    s = a_->active[kClass];
  } while (s->has_free());
  void* next = a_->alloc(kClass);
  ASSERT_EQ(s->state, SlabState::Full);
  a_->free(s, static_cast<FreeObj*>(objs[0]));
  EXPECT_EQ(s->state, SlabState::Partial);
  EXPECT_EQ(s->remote.load(), kNotify) << "leaving Full does not disarm";
  b_->free(s, static_cast<FreeObj*>(objs[1]));
  EXPECT_EQ(a_->pending.load(), s) << "the remote free was a notice";
  EXPECT_EQ(list_length(s->remote.load()), 1u) << "the notice's push replaced the flag: disarmed";
  b_->free(s, static_cast<FreeObj*>(objs[2]));
  EXPECT_EQ(list_length(s->remote.load()), 2u) << "later remote frees push without a notice";
  a_->drain_pending();
  EXPECT_EQ(s->remote.load(), 0u);
  EXPECT_EQ(s->used, s->capacity - 3);
  for (std::size_t i = 3; i < objs.size(); ++i) a_->free(s, static_cast<FreeObj*>(objs[i]));
  EXPECT_EQ(s->used, 0u);
  a_->free(a_->active[kClass], static_cast<FreeObj*>(next));
}

TEST_F(Slabs, AnExitingThreadsSlabsAreAdoptedNotLeaked) {
  std::vector<void*> objs;
  Slab* s = nullptr;
  do {
    objs.push_back(a_->alloc(kClass));
    s = a_->active[kClass];
  } while (s->has_free());
  a_->abandon_all();  // thread exit with every object of s still live
  EXPECT_EQ(s->owner.load(), nullptr);
  EXPECT_EQ(s->state, SlabState::Detached);
  g_orphan.free(s, static_cast<FreeObj*>(objs[0]));  // a free after its thread's exit: the node lists it
  EXPECT_EQ(s->state, SlabState::NodePartial);
  EXPECT_EQ(s->owner.load(), nullptr) << "the orphan adopts nothing";
  Slab* adopted = NodeSlabs::of(0).take(kClass, b_);
  ASSERT_EQ(adopted, s);
  EXPECT_EQ(s->owner.load(), b_);
  EXPECT_EQ(s->used, s->capacity - 1);
  for (std::size_t i = 1; i < objs.size(); ++i) b_->free(s, static_cast<FreeObj*>(objs[i]));
  EXPECT_EQ(s->used, 0u);
  b_->set_active(kClass, s);
  s->state = SlabState::Active;
}

// A thread freeing the objects of an exited one (larson's server threads) takes the slab over on
// its first free: the rest of its frees into it are local, and its allocations reuse it.
TEST_F(Slabs, AFreeIntoAnExitedThreadsSlabHandsItToTheFreeingThread) {
  std::vector<void*> objs;
  Slab* s = nullptr;
  do {
    objs.push_back(a_->alloc(kClass));
    s = a_->active[kClass];
  } while (s->has_free());
  a_->abandon_all();
  ASSERT_EQ(s->state, SlabState::Detached);
  b_->free(s, static_cast<FreeObj*>(objs[0]));
  EXPECT_EQ(s->owner.load(), b_);
  EXPECT_EQ(s->state, SlabState::Partial);
  EXPECT_EQ(s->remote.load(), 0u) << "an owned partial slab is disarmed: other threads push without the lock";
  EXPECT_EQ(b_->partial[kClass].head, s);
  EXPECT_EQ(s->free, static_cast<FreeObj*>(objs[0])) << "the freed object is on its local list";
  b_->free(s, static_cast<FreeObj*>(objs[1]));
  EXPECT_EQ(s->free, static_cast<FreeObj*>(objs[1])) << "the next free is local";
  for (std::size_t i = 2; i < objs.size(); ++i) b_->free(s, static_cast<FreeObj*>(objs[i]));
  EXPECT_EQ(s->used, 0u);
}

TEST_F(Slabs, DoubleFreeIsReported) {
  void* p = a_->alloc(kClass);
  Slab* s = a_->active[kClass];
  a_->free(s, static_cast<FreeObj*>(p));
  EXPECT_DEATH(a_->free(s, static_cast<FreeObj*>(p)), "hugemem: double free of 0x[0-9a-f]+ \\(size class 4, 80 bytes\\)");
}

TEST_F(Slabs, AnOverflowIntoAFreeObjectsLinkIsCaughtBeforeItIsHandedOut) {
  // Two neighbours: p, and q right after it.
  auto* p = static_cast<char*>(a_->alloc(kClass));
  auto* q = static_cast<char*>(a_->alloc(kClass));
  while (q != p + 80) {
    p = q;
    q = static_cast<char*>(a_->alloc(kClass));
  }
  Slab* s = a_->active[kClass];
  a_->free(s, reinterpret_cast<FreeObj*>(q));
  std::memset(p, 'A', 80 + 8);  // 8 bytes past p's end: q's link
  EXPECT_DEATH(
      {
        a_->alloc(kClass);  // hands out q, decoding its smashed link
        a_->alloc(kClass);
      },
      "hugemem: corrupted freelist");
}

TEST(SlabApi, InteriorAndForeignPointersAreReported) {
  auto* p = static_cast<char*>(hm_malloc(100));
  EXPECT_DEATH(hm_free(p + 16), "hugemem: invalid pointer 0x[0-9a-f]+ passed to free: not the start of an object");
  int on_stack = 0;
  EXPECT_DEATH(hm_free(&on_stack), "hugemem: invalid pointer .* not allocated by hugemem");
  hm_free(p);
}

}  // namespace
