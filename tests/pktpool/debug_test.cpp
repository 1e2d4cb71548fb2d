// Debug mode: double puts and foreign objects are caught, reported, and kept out of the pool.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "hugemem/pktpool/mbuf.h"
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using testing::HasSubstr;

std::unique_ptr<Pool> debug_pool(Debug mode, std::uint32_t cache_size = 8) {
  Config cfg = test::raw_config(32, 64, cache_size);
  cfg.name = "dbg";
  cfg.debug = mode;
  return Pool::create(cfg);
}

// After the catches the pool must still hold each element once: take them all, check, give back.
void expect_intact(Pool& p) {
  std::vector<void*> all(p.count());
  ASSERT_EQ(p.get_bulk(all.data(), p.count()), Status::Ok);
  EXPECT_EQ(std::set<void*>(all.begin(), all.end()).size(), p.count());
  void* extra;
  EXPECT_EQ(p.get(&extra), Status::Exhausted) << "a caught double put must not add a copy";
  EXPECT_EQ(p.put_bulk(all.data(), p.count()), Status::Ok);
}

TEST(PktDebug, DoublePutIsReportedAndLeftOut) {
  for (std::uint32_t cache : {0u, 8u}) {
    auto p = debug_pool(Debug::Report, cache);
    ASSERT_TRUE(p);
    void* o;
    ASSERT_EQ(p->get(&o), Status::Ok);
    ASSERT_EQ(p->put(o), Status::Ok);
    testing::internal::CaptureStderr();
    EXPECT_EQ(p->put(o), Status::DoublePut);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("hugemem pktpool: double put of"));
    EXPECT_THAT(err, HasSubstr("in pool 'dbg'"));
    EXPECT_EQ(p->stats().debug_errors, 1u);
    expect_intact(*p);
  }
}

TEST(PktDebug, ForeignObjectsAreReportedAndLeftOut) {
  auto p = debug_pool(Debug::Report);
  auto other = debug_pool(Debug::Report);
  ASSERT_TRUE(p && other);
  void* mine;
  void* theirs;
  ASSERT_EQ(p->get(&mine), Status::Ok);
  ASSERT_EQ(other->get(&theirs), Status::Ok);
  int on_stack;
  testing::internal::CaptureStderr();
  EXPECT_EQ(p->put(&on_stack), Status::Foreign);
  EXPECT_EQ(p->put(static_cast<char*>(mine) + 8), Status::Foreign) << "inside an element";
  EXPECT_EQ(p->put(theirs), Status::Foreign) << "another pool's element";
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("hugemem pktpool: foreign object"));
  EXPECT_EQ(p->stats().debug_errors, 3u);
  EXPECT_EQ(p->put(mine), Status::Ok);
  expect_intact(*p);
}

TEST(PktDebug, ABulkPutWithABadObjectPutsTheGoodOnes) {
  auto p = debug_pool(Debug::Report);
  ASSERT_TRUE(p);
  void* objs[4];
  ASSERT_EQ(p->get_bulk(objs, 3), Status::Ok);
  objs[3] = objs[1];  // the same object twice in one bulk
  testing::internal::CaptureStderr();
  EXPECT_EQ(p->put_bulk(objs, 4), Status::DoublePut);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("double put of"));
  EXPECT_EQ(p->stats().in_use, 0u);
  expect_intact(*p);
}

TEST(PktDebug, MbufDoubleFreeIsCaught) {
  Config cfg = test::mbuf_config(8);
  cfg.debug = Debug::Report;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  Mbuf::free(m);
  testing::internal::CaptureStderr();
  Mbuf::free(m);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("hugemem pktpool: double put of"));
  EXPECT_EQ(p->stats().debug_errors, 1u);
}

TEST(PktDebug, OffModeDoesNotCheck) {
  auto p = debug_pool(Debug::Off);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->debug(), Debug::Off);
  void* o;
  ASSERT_EQ(p->get(&o), Status::Ok);
  EXPECT_EQ(p->put(o), Status::Ok);
  EXPECT_EQ(p->stats().debug_errors, 0u);
}

TEST(PktDebugDeathTest, AbortModeAbortsOnDoublePut) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto p = debug_pool(Debug::Abort);
  ASSERT_TRUE(p);
  void* o;
  ASSERT_EQ(p->get(&o), Status::Ok);
  ASSERT_EQ(p->put(o), Status::Ok);
  EXPECT_DEATH(p->put(o), "hugemem pktpool: double put of 0x[0-9a-f]+ \\(element [0-9]+\\) in pool 'dbg'");
}

TEST(PktDebugDeathTest, AbortModeAbortsOnForeignObject) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto p = debug_pool(Debug::Abort);
  ASSERT_TRUE(p);
  int x;
  EXPECT_DEATH(p->put(&x), "hugemem pktpool: foreign object");
}

}  // namespace
