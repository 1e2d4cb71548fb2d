// The mbuf: layout, alloc/free, the data operations' bounds, chains, reference counts.
#include "hugemem/pktpool/mbuf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::test::mbuf_config;

TEST(PktMbuf, HeaderIsTwoCacheLinesFollowedByItsBuffer) {
  auto p = Pool::create(mbuf_config(64));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_mbuf_pool());
  EXPECT_EQ(p->buf_len(), 128 + 2048);
  EXPECT_EQ(p->elt_size(), 128u + 2176u + 64u) << "36 lines: one more, to an odd number (spread)";
  p->for_each([&](void* e, std::size_t) {
    auto* m = static_cast<Mbuf*>(e);
    EXPECT_EQ(m->buf_addr, static_cast<char*>(e) + 128);
    EXPECT_EQ(m->buf_iova, p->iova_of(m->buf_addr));
    EXPECT_EQ(m->buf_len, 2176);
    EXPECT_EQ(m->pool, p.get());
    EXPECT_EQ(m->refcnt_read(), 1);
    EXPECT_EQ(m->next, nullptr);
  });
}

TEST(PktMbuf, AllocGivesAFreshPacketWithTheConfiguredHeadroom) {
  Config cfg = mbuf_config(8);
  cfg.headroom = 64;
  cfg.data_room = 1000;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->headroom(), 64);
  EXPECT_EQ(m->tailroom(), 1000);
  EXPECT_EQ(m->data_len, 0);
  EXPECT_EQ(m->pkt_len, 0u);
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->port, kNoPort);
  EXPECT_EQ(m->mtod(), static_cast<char*>(m->buf_addr) + 64);
  EXPECT_EQ(m->data_iova(3), m->buf_iova + 64 + 3);
  // Dirty it; the next alloc of the same mbuf must not show it.
  ASSERT_NE(m->append(500), nullptr);
  ASSERT_NE(m->adj(10), nullptr);
  m->port = 3;
  m->ol_flags = 0xff;
  Mbuf::free(m);
  std::vector<Mbuf*> all(8);
  ASSERT_EQ(Mbuf::alloc_bulk(*p, all.data(), 8), Status::Ok);
  for (Mbuf* x : all) {
    EXPECT_EQ(x->headroom(), 64);
    EXPECT_EQ(x->data_len, 0);
    EXPECT_EQ(x->pkt_len, 0u);
    EXPECT_EQ(x->port, kNoPort);
    EXPECT_EQ(x->ol_flags, 0u);
  }
  EXPECT_EQ(Mbuf::alloc(*p), nullptr) << "exhausted: nullptr, not a crash";
  EXPECT_EQ(Mbuf::alloc_bulk(*p, all.data(), 1), Status::Exhausted);
  for (Mbuf* x : all) Mbuf::free(x);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktMbuf, PrependAppendAdjTrimStayInsideTheBuffer) {
  auto p = Pool::create(mbuf_config(4));
  ASSERT_TRUE(p);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->prepend(129), nullptr) << "past the headroom";
  EXPECT_EQ(m->headroom(), 128) << "a failed prepend changes nothing";
  char* front = m->prepend(128);
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(front, m->buf_addr);
  EXPECT_EQ(m->prepend(1), nullptr);
  EXPECT_EQ(m->data_len, 128);
  EXPECT_EQ(m->pkt_len, 128u);

  EXPECT_EQ(m->append(2049), nullptr) << "past the tailroom";
  char* tail = m->append(2048);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(tail, static_cast<char*>(m->buf_addr) + 128);
  std::memset(m->mtod(), 0x5a, m->data_len);  // the whole buffer is writable
  EXPECT_EQ(m->tailroom(), 0);
  EXPECT_EQ(m->append(1), nullptr);
  EXPECT_EQ(m->pkt_len, 2176u);

  EXPECT_EQ(m->adj(2177), nullptr) << "more than the data";
  ASSERT_NE(m->adj(100), nullptr);
  EXPECT_EQ(m->headroom(), 100);
  EXPECT_FALSE(m->trim(2077));
  EXPECT_TRUE(m->trim(2076));
  EXPECT_EQ(m->data_len, 0);
  EXPECT_EQ(m->pkt_len, 0u);
  EXPECT_FALSE(m->trim(1));
  Mbuf::free(m);
}

TEST(PktMbuf, ChainsGrowAtTheLastSegmentAndAreFreedWhole) {
  auto p = Pool::create(mbuf_config(8, 0));
  ASSERT_TRUE(p);
  Mbuf* a = Mbuf::alloc(*p);
  Mbuf* b = Mbuf::alloc(*p);
  Mbuf* c = Mbuf::alloc(*p);
  ASSERT_TRUE(a && b && c);
  ASSERT_NE(a->append(2048), nullptr);
  ASSERT_NE(b->append(100), nullptr);
  ASSERT_NE(c->append(10), nullptr);
  ASSERT_TRUE(b->chain(c));
  ASSERT_TRUE(a->chain(b));
  EXPECT_EQ(a->nb_segs, 3);
  EXPECT_EQ(a->pkt_len, 2158u);
  EXPECT_EQ(a->last_seg(), c);
  char* more = a->append(5);  // goes to c
  EXPECT_EQ(more, c->mtod(10));
  EXPECT_EQ(c->data_len, 15);
  EXPECT_EQ(a->pkt_len, 2163u);
  EXPECT_TRUE(a->trim(15));
  EXPECT_EQ(c->data_len, 0);
  EXPECT_EQ(p->stats().in_use, 3u);
  Mbuf::free(a);
  EXPECT_EQ(p->stats().in_use, 0u) << "the whole chain went back";
  // Back in the pool, each segment is a fresh single segment again.
  std::vector<Mbuf*> all(8);
  ASSERT_EQ(Mbuf::alloc_bulk(*p, all.data(), 8), Status::Ok);
  for (Mbuf* x : all) {
    EXPECT_EQ(x->next, nullptr);
    EXPECT_EQ(x->nb_segs, 1);
  }
  for (Mbuf* x : all) Mbuf::free(x);
}

TEST(PktMbuf, SharedSegmentsGoBackWhenTheLastReferenceIsDropped) {
  auto p = Pool::create(mbuf_config(4, 0));
  ASSERT_TRUE(p);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->refcnt_update(2), 3);
  Mbuf::free(m);
  Mbuf::free(m);
  EXPECT_EQ(m->refcnt_read(), 1);
  EXPECT_EQ(p->stats().in_use, 1u) << "one reference left";
  Mbuf::free(m);
  EXPECT_EQ(p->stats().in_use, 0u);
  Mbuf::free(nullptr);
}

TEST(PktMbuf, SharedSegmentInsideAChainOutlivesTheChain) {
  auto p = Pool::create(mbuf_config(4, 0));
  ASSERT_TRUE(p);
  Mbuf* head = Mbuf::alloc(*p);
  Mbuf* shared = Mbuf::alloc(*p);
  ASSERT_TRUE(head && shared);
  shared->refcnt_update(1);
  ASSERT_TRUE(head->chain(shared));
  Mbuf::free(head);
  EXPECT_EQ(p->stats().in_use, 1u);
  EXPECT_EQ(shared->refcnt_read(), 1);
  EXPECT_EQ(shared->next, nullptr);
  Mbuf::free(shared);
  EXPECT_EQ(p->stats().in_use, 0u);
}

}  // namespace
