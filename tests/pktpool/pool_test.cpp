#include "hugemem/pktpool/pktpool.h"

#include <gtest/gtest.h>

#include "hugemem/pktpool/mbuf.h"

namespace {

using namespace hm::pkt;

TEST(Pool, RawPoolHandsOutEveryElementOnce) {
  Config cfg;
  cfg.name = "test-raw";
  cfg.count = 1000;
  cfg.elt_size = 100;
  cfg.best = hm::os::Backing::THP;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->elt_size(), 128u);
  std::vector<void*> got(1000);
  ASSERT_EQ(p->get_bulk(got.data(), 1000), Status::Ok);
  void* one;
  EXPECT_EQ(p->get(&one), Status::Exhausted);
  EXPECT_EQ(p->put_bulk(got.data(), 1000), Status::Ok);
}

TEST(Mbuf, AllocFree) {
  Config cfg;
  cfg.count = 64;
  cfg.best = hm::os::Backing::THP;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->headroom(), 128);
  EXPECT_EQ(m->tailroom(), 2048);
  Mbuf::free(m);
}

}  // namespace
