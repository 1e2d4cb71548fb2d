// The burst paths: Mbuf::alloc_bulk (re-armed as copied out of the cache, or through the slow
// path) and Mbuf::free_bulk (segments gathered per pool, one put_bulk per pool's batch).
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "hugemem/pktpool/mbuf.h"
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::test::mbuf_config;

void dirty(Mbuf* m) {
  ASSERT_NE(m->append(300), nullptr);
  ASSERT_NE(m->adj(7), nullptr);
  m->port = 9;
  m->ol_flags = 0x5;
  m->packet_type = 7;
}

void expect_fresh(const Pool& p, Mbuf* m) {
  EXPECT_EQ(m->data_off, p.headroom());
  EXPECT_EQ(m->data_len, 0);
  EXPECT_EQ(m->pkt_len, 0u);
  EXPECT_EQ(m->refcnt_read(), 1);
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->port, kNoPort);
  EXPECT_EQ(m->ol_flags, 0u);
  EXPECT_EQ(m->packet_type, 0u);
  EXPECT_EQ(m->next, nullptr);
  EXPECT_EQ(m->pool, &p);
}

TEST(PktBurst, AllocBulkRearmsOnACacheHitAndThroughTheSlowPath) {
  auto p = Pool::create(mbuf_config(256, 32));
  ASSERT_TRUE(p);
  std::vector<Mbuf*> ms(200);
  // 200 > the cache: the slow path (straight from the ring), re-armed after.
  ASSERT_EQ(Mbuf::alloc_bulk(*p, ms.data(), 200), Status::Ok);
  for (Mbuf* m : ms) dirty(m);
  Mbuf::free_bulk(ms.data(), 200);
  EXPECT_EQ(p->stats().in_use, 0u);
  // Refill path (cache empty or short), then hits of 1, 5, 16 from what the cache holds.
  for (std::uint32_t n : {16u, 1u, 5u, 16u, 32u, 3u}) {
    ASSERT_EQ(Mbuf::alloc_bulk(*p, ms.data(), n), Status::Ok) << n;
    for (std::uint32_t i = 0; i < n; ++i) expect_fresh(*p, ms[i]);
    for (std::uint32_t i = 0; i < n; ++i) dirty(ms[i]);
    Mbuf::free_bulk(ms.data(), n);
  }
  ThreadStats t = p->thread_stats();
  EXPECT_EQ(t.get_objs, t.put_objs);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktBurst, AllocBulkIsAllOrNothing) {
  auto p = Pool::create(mbuf_config(40, 8));
  ASSERT_TRUE(p);
  std::vector<Mbuf*> ms(64, nullptr);
  EXPECT_EQ(Mbuf::alloc_bulk(*p, ms.data(), 41), Status::Invalid) << "more than the pool holds";
  ASSERT_EQ(Mbuf::alloc_bulk(*p, ms.data(), 30), Status::Ok);
  Mbuf* more[16] = {};
  EXPECT_EQ(Mbuf::alloc_bulk(*p, more, 11), Status::Exhausted);
  EXPECT_EQ(p->stats().in_use, 30u) << "a failed bulk takes nothing";
  EXPECT_EQ(Mbuf::alloc_bulk(*p, more, 0), Status::Ok);
  ASSERT_EQ(Mbuf::alloc_bulk(*p, more, 10), Status::Ok);
  Mbuf::free_bulk(ms.data(), 30);
  Mbuf::free_bulk(more, 10);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktBurst, FreeBulkOfMixedPoolsChainsSharedSegmentsAndNulls) {
  auto a = Pool::create(mbuf_config(64, 16));
  auto b = Pool::create(mbuf_config(64, 16));
  ASSERT_TRUE(a && b);
  Mbuf* a1 = Mbuf::alloc(*a);
  Mbuf* b1 = Mbuf::alloc(*b);
  // A chain across both pools: a2 -> b2 -> a3 -> b3.
  Mbuf* a2 = Mbuf::alloc(*a);
  Mbuf* b2 = Mbuf::alloc(*b);
  Mbuf* a3 = Mbuf::alloc(*a);
  Mbuf* b3 = Mbuf::alloc(*b);
  // A shared single segment, and a chain whose second segment is shared.
  Mbuf* shared = Mbuf::alloc(*a);
  Mbuf* head = Mbuf::alloc(*b);
  Mbuf* shared_seg = Mbuf::alloc(*a);
  ASSERT_TRUE(a1 && b1 && a2 && b2 && a3 && b3 && shared && head && shared_seg);
  ASSERT_TRUE(b2->chain(a3) && b2->chain(b3) && a2->chain(b2));
  EXPECT_EQ(a2->nb_segs, 4);
  shared->refcnt_update(1);
  shared_seg->refcnt_update(1);
  ASSERT_TRUE(head->chain(shared_seg));
  EXPECT_EQ(a->stats().in_use, 5u);
  EXPECT_EQ(b->stats().in_use, 4u);

  Mbuf* burst[] = {a1, nullptr, b1, a2, shared, head, nullptr};
  Mbuf::free_bulk(burst, 7);
  EXPECT_EQ(a->stats().in_use, 2u) << "shared and shared_seg keep one reference each";
  EXPECT_EQ(b->stats().in_use, 0u);
  EXPECT_EQ(shared->refcnt_read(), 1);
  EXPECT_EQ(shared_seg->refcnt_read(), 1);
  EXPECT_EQ(shared_seg->next, nullptr);
  // Each segment went back to its own pool, though the two pools' segments came interleaved.
  EXPECT_EQ(a->thread_stats().put_objs, 3u);
  EXPECT_EQ(b->thread_stats().put_objs, 4u);
  Mbuf* rest[] = {shared, shared_seg};
  Mbuf::free_bulk(rest, 2);
  EXPECT_EQ(a->stats().in_use, 0u);
  // Every element is back, each once, as a fresh single segment.
  for (Pool* p : {a.get(), b.get()}) {
    std::vector<Mbuf*> all(64);
    ASSERT_EQ(Mbuf::alloc_bulk(*p, all.data(), 64), Status::Ok);
    EXPECT_EQ(std::set<Mbuf*>(all.begin(), all.end()).size(), 64u);
    for (Mbuf* m : all) expect_fresh(*p, m);
    Mbuf::free_bulk(all.data(), 64);
  }
  Mbuf::free_bulk(nullptr, 0);
}

TEST(PktBurst, FreeBulkGathersManyPoolsAndBatchesBeyondItsLimits) {
  // Six pools (more than free_bulk gathers at once) and runs longer than a batch.
  constexpr int kPools = 6;
  std::vector<std::unique_ptr<Pool>> pools;
  for (int i = 0; i < kPools; ++i) {
    pools.push_back(Pool::create(mbuf_config(300, 0)));
    ASSERT_TRUE(pools.back());
  }
  std::vector<Mbuf*> ms;
  for (int round = 0; round < 200; ++round)
    for (int i = 0; i < kPools; ++i)
      if (i < 2 || round % 3 == 0) ms.push_back(Mbuf::alloc(*pools[i]));
  for (int i = 0; i < 150; ++i) ms.push_back(Mbuf::alloc(*pools[5]));  // a run of 150: 3 batches
  for (Mbuf* m : ms) ASSERT_NE(m, nullptr);
  std::uint64_t out = 0;
  for (auto& p : pools) out += p->stats().in_use;
  EXPECT_EQ(out, ms.size());
  Mbuf::free_bulk(ms.data(), static_cast<std::uint32_t>(ms.size()));
  for (auto& p : pools) {
    PoolStats s = p->stats();
    EXPECT_EQ(s.in_use, 0u) << p->name();
    EXPECT_EQ(s.in_ring, 300u);
  }
}

}  // namespace
