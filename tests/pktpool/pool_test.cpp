// The pool on one thread: layout, get/put semantics, cache thresholds, exhaustion, stats, IOVA.
#include "hugemem/pktpool/pktpool.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <set>
#include <thread>
#include <vector>

#include "os/os.h"  // the test reads the page layer (lib/ is a private include path here)
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::test::raw_config;

TEST(PktPool, RejectsBadConfigs) {
  errno = 0;
  EXPECT_FALSE(Pool::create(raw_config(0, 64, 0)));
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_FALSE(Pool::create(raw_config(10, 64, kMaxCacheSize + 1)));
  EXPECT_EQ(errno, EINVAL);
  Config big_mbuf = test::mbuf_config(10);
  big_mbuf.data_room = 65535;
  errno = 0;
  EXPECT_FALSE(Pool::create(big_mbuf)) << "headroom + data room must fit buf_len's 16 bits";
  EXPECT_EQ(errno, EINVAL);
}

TEST(PktPool, MapFailureIsAnErrorAndLeaksNothing) {
  long live = hm::os::live_mappings();
  hm::os::fail_next_maps(16);  // every backing of the fallback chain
  errno = 0;
  EXPECT_FALSE(Pool::create(raw_config(100, 64, 8)));
  EXPECT_EQ(errno, ENOMEM);
  hm::os::fail_next_maps(0);
  EXPECT_EQ(hm::os::live_mappings(), live);
}

TEST(PktPool, ElementsAreCacheLineAlignedDistinctAndIndexable) {
  auto p = Pool::create(raw_config(1000, 100, 0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->count(), 1000u);
  EXPECT_EQ(p->elt_size(), 128u) << "100 bytes round up to two cache lines";
  EXPECT_TRUE(p->backing() == Backing::THP || p->backing() == Backing::Small);
  std::set<void*> seen;
  p->for_each([&](void* e, std::size_t i) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(e) % kCacheLine, 0u);
    EXPECT_TRUE(p->contains(e));
    EXPECT_EQ(p->index_of(e), i);
    EXPECT_EQ(p->element(i), e);
    seen.insert(e);
  });
  EXPECT_EQ(seen.size(), 1000u);
  auto* first = static_cast<char*>(p->element(0));
  EXPECT_EQ(p->index_of(first + 8), Pool::npos) << "inside an element, not its start";
  EXPECT_EQ(p->index_of(first + 1000 * 128), Pool::npos) << "past the last element";
  int local = 0;
  EXPECT_EQ(p->index_of(&local), Pool::npos);
}

TEST(PktPool, UncachedBulkIsAllOrNothing) {
  auto p = Pool::create(raw_config(100, 64, 0));
  ASSERT_TRUE(p);
  std::vector<void*> a(60), b(41);
  ASSERT_EQ(p->get_bulk(a.data(), 60), Status::Ok);
  EXPECT_EQ(p->get_bulk(b.data(), 41), Status::Exhausted);
  EXPECT_EQ(p->stats().in_ring, 40u) << "a failed bulk takes nothing";
  ASSERT_EQ(p->get_bulk(b.data(), 40), Status::Ok);
  std::set<void*> all(a.begin(), a.end());
  all.insert(b.begin(), b.begin() + 40);
  EXPECT_EQ(all.size(), 100u) << "no element handed out twice";
  EXPECT_EQ(p->get_bulk(b.data(), 101), Status::Invalid) << "more than the pool holds";
}

TEST(PktPool, CachedBulkIsAllOrNothingAndCanTakeEverything) {
  auto p = Pool::create(raw_config(100, 64, 32));
  ASSERT_TRUE(p);
  std::vector<void*> a(30), b(71);
  ASSERT_EQ(p->get_bulk(a.data(), 30), Status::Ok);
  EXPECT_EQ(p->get_bulk(b.data(), 71), Status::Exhausted);
  PoolStats s = p->stats();
  EXPECT_EQ(s.in_ring + s.in_caches, 70u) << "a failed bulk takes nothing";
  EXPECT_EQ(s.in_use, 30u);
  ASSERT_EQ(p->get_bulk(b.data(), 70), Status::Ok) << "the ring and this thread's cache hold 70";
  std::set<void*> all(a.begin(), a.end());
  all.insert(b.begin(), b.begin() + 70);
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(p->put_bulk(a.data(), 30), Status::Ok);
  EXPECT_EQ(p->put_bulk(b.data(), 70), Status::Ok);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktPool, ExhaustionIsAnErrorAndThePoolRecovers) {
  auto p = Pool::create(raw_config(100, 64, 16));
  ASSERT_TRUE(p);
  std::vector<void*> got;
  void* o;
  while (p->get(&o) == Status::Ok) got.push_back(o);
  EXPECT_EQ(got.size(), 100u) << "a thread can have every element";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p->get(&o), Status::Exhausted);
  EXPECT_EQ(p->stats().get_fails, 6u);
  EXPECT_EQ(p->stats().in_use, 100u);
  ASSERT_EQ(p->put_bulk(got.data() + 90, 10), Status::Ok);
  std::vector<void*> again(10);
  EXPECT_EQ(p->get_bulk(again.data(), 10), Status::Ok);
  EXPECT_EQ(p->get(&o), Status::Exhausted);
}

// The documented policy, to the object: a miss of n refills to n + size (the request leaves the
// cache at size); a put that would pass flush_thresh = size * 3/2 flushes the whole cache and
// keeps the n put. With size 64: a get-only thread goes to the ring once per 65 single gets, a
// put-only thread once per 96 single puts.
TEST(PktPool, CacheRefillsAndFlushesInBulkAtTheThresholds) {
  auto p = Pool::create(raw_config(1000, 64, 64));
  ASSERT_TRUE(p);
  std::vector<void*> got(640);
  for (auto& o : got) ASSERT_EQ(p->get(&o), Status::Ok);
  ThreadStats t = p->thread_stats();
  EXPECT_EQ(t.get_objs, 640u);
  EXPECT_EQ(t.refills, 10u) << "ceil(640 / 65)";
  EXPECT_EQ(t.flushes, 0u);
  EXPECT_EQ(p->stats().in_caches, 10u) << "10 * 65 - 640 left in the cache";
  for (void* o : got) ASSERT_EQ(p->put(o), Status::Ok);
  t = p->thread_stats();
  EXPECT_EQ(t.put_objs, 640u);
  EXPECT_EQ(t.flushes, 6u) << "first at put 87 (10 + 86 = 96), then every 96";
  PoolStats s = p->stats();
  EXPECT_EQ(s.in_caches, 74u) << "1 after the flush at put 567, then 73 more";
  EXPECT_EQ(s.in_ring, 926u);
  EXPECT_EQ(s.refills, 10u);
  EXPECT_EQ(s.flushes, 6u);
}

// A thread that only allocates and one that only frees (an RX core and a TX core) move the
// largest bulks the cache allows: bursts of 32 with size 64 refill size + 32 = 96 objects at a
// time and flush the whole cache, flush_thresh = 96 objects, at a time.
TEST(PktPool, OneSidedThreadsMoveWholeCachesThroughTheRing) {
  auto p = Pool::create(raw_config(1000, 64, 64));
  ASSERT_TRUE(p);
  std::vector<void*> got(960);
  for (std::size_t i = 0; i < got.size(); i += 32) ASSERT_EQ(p->get_bulk(&got[i], 32), Status::Ok);
  ThreadStats t = p->thread_stats();
  EXPECT_EQ(t.refills, 10u) << "one per 96 objects: 3 bursts";
  EXPECT_EQ(p->stats().in_caches, 0u);
  EXPECT_EQ(p->stats().in_ring, 40u);
  std::thread freer([&] {
    for (std::size_t i = 0; i < got.size(); i += 32) ASSERT_EQ(p->put_bulk(&got[i], 32), Status::Ok);
    ThreadStats f = p->thread_stats();
    EXPECT_EQ(f.flushes, 9u) << "at bursts 4, 7, ... 28: 96 objects each";
    EXPECT_EQ(f.refills, 0u);
    EXPECT_EQ(p->stats().in_ring, 40u + 9 * 96) << "every flush moved the whole cache";
    EXPECT_EQ(p->stats().in_caches, 96u) << "bursts 29 and 30 after the last flush's 32";
  });
  freer.join();
  EXPECT_EQ(p->stats().in_ring, 1000u) << "the exiting thread's cache went back";
}

TEST(PktPool, RequestsBiggerThanTheCacheBypassIt) {
  auto p = Pool::create(raw_config(1000, 64, 64));
  ASSERT_TRUE(p);
  void* o;
  ASSERT_EQ(p->get(&o), Status::Ok);  // cache now holds 64
  ASSERT_EQ(p->stats().in_caches, 64u);
  std::vector<void*> big(100);
  ASSERT_EQ(p->get_bulk(big.data(), 100), Status::Ok);
  EXPECT_EQ(p->stats().in_caches, 64u);
  ASSERT_EQ(p->put_bulk(big.data(), 100), Status::Ok);
  EXPECT_EQ(p->stats().in_caches, 64u);
  EXPECT_EQ(p->thread_stats().refills, 1u);
  EXPECT_EQ(p->thread_stats().flushes, 0u);
}

TEST(PktPool, FlushCacheGivesEverythingBackToTheRing) {
  auto p = Pool::create(raw_config(100, 64, 16));
  ASSERT_TRUE(p);
  void* o;
  ASSERT_EQ(p->get(&o), Status::Ok);
  EXPECT_GT(p->stats().in_caches, 0u);
  p->flush_cache();
  PoolStats s = p->stats();
  EXPECT_EQ(s.in_caches, 0u);
  EXPECT_EQ(s.in_ring, 99u);
  p->put(o);
}

TEST(PktPool, ThreadStatsAreEachThreadsOwnAndThePoolSumsThem) {
  auto p = Pool::create(raw_config(100, 64, 16));
  ASSERT_TRUE(p);
  std::vector<void*> mine(3);
  ASSERT_EQ(p->get_bulk(mine.data(), 3), Status::Ok);
  std::atomic<int> step{0};
  std::thread other([&] {
    std::vector<void*> v(5);
    ASSERT_EQ(p->get_bulk(v.data(), 5), Status::Ok);
    ASSERT_EQ(p->put_bulk(v.data(), 4), Status::Ok);
    void* none[200];
    EXPECT_EQ(p->get_bulk(none, 200), Status::Invalid);
    ThreadStats t = p->thread_stats();
    EXPECT_EQ(t.get_objs, 5u);
    EXPECT_EQ(t.put_objs, 4u);
    EXPECT_EQ(t.get_fails, 1u);
    step = 1;
    while (step != 2) std::this_thread::yield();  // stay alive: the pool reads a live cache
    p->put(v[4]);
  });
  while (step != 1) std::this_thread::yield();
  ThreadStats t = p->thread_stats();
  EXPECT_EQ(t.get_objs, 3u) << "the other thread's counts are not this thread's";
  EXPECT_EQ(t.put_objs, 0u);
  EXPECT_EQ(t.get_fails, 0u);
  PoolStats s = p->stats();
  EXPECT_EQ(s.threads, 2u);
  EXPECT_EQ(s.get_objs, 8u);
  EXPECT_EQ(s.put_objs, 4u);
  EXPECT_EQ(s.get_fails, 1u);
  EXPECT_EQ(s.in_use, 4u);
  step = 2;
  other.join();
  EXPECT_EQ(p->put_bulk(mine.data(), 3), Status::Ok);
  s = p->stats();
  EXPECT_EQ(s.put_objs, 8u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.in_ring + s.in_caches, 100u);
}

TEST(PktPool, ExitingThreadGivesItsCacheBack) {
  auto p = Pool::create(raw_config(100, 64, 16));
  ASSERT_TRUE(p);
  std::thread([&] {
    std::vector<void*> v(10);
    ASSERT_EQ(p->get_bulk(v.data(), 10), Status::Ok);
    ASSERT_EQ(p->put_bulk(v.data(), 10), Status::Ok);
    EXPECT_EQ(p->stats().threads, 1u);
    EXPECT_GT(p->stats().in_caches, 0u);
  }).join();
  PoolStats s = p->stats();
  EXPECT_EQ(s.threads, 0u);
  EXPECT_EQ(s.in_ring, 100u);
  EXPECT_EQ(s.get_objs, 10u) << "an exited thread's counters stay in the pool's";
  EXPECT_EQ(s.put_objs, 10u);
}

TEST(PktPool, AThreadOutlivingItsPoolIsSafeAndDoesNotReuseStaleCaches) {
  auto p = Pool::create(raw_config(100, 64, 16));
  ASSERT_TRUE(p);
  std::unique_ptr<Pool> q;
  std::atomic<int> step{0};
  std::thread t([&] {
    void* o;
    ASSERT_EQ(p->get(&o), Status::Ok);
    p->put(o);
    step = 1;
    while (step != 2) std::this_thread::yield();
    // q may have p's id: its fast path must not take p's (freed) cache.
    ASSERT_EQ(q->get(&o), Status::Ok);
    EXPECT_TRUE(q->contains(o));
    q->put(o);
    EXPECT_EQ(q->thread_stats().get_objs, 1u);
  });
  while (step != 1) std::this_thread::yield();
  p.reset();
  q = Pool::create(raw_config(50, 64, 16));
  ASSERT_TRUE(q);
  step = 2;
  t.join();
  EXPECT_EQ(q->stats().in_ring, 50u);
}

// The fast path keeps the last pool's cache at hand (t_hot): switching pools, and a new pool
// at a destroyed one's address, must each get their own cache.
TEST(PktPool, AlternatingPoolsEachUseTheirOwnCache) {
  for (int round = 0; round < 3; ++round) {
    auto a = Pool::create(raw_config(64, 64, 8));
    auto b = Pool::create(raw_config(64, 64, 8));
    ASSERT_TRUE(a && b);
    std::vector<void*> from_a, from_b;
    for (int i = 0; i < 40; ++i) {
      void* o;
      ASSERT_EQ(a->get(&o), Status::Ok);
      EXPECT_TRUE(a->contains(o));
      from_a.push_back(o);
      ASSERT_EQ(b->get(&o), Status::Ok);
      EXPECT_TRUE(b->contains(o));
      from_b.push_back(o);
    }
    for (int i = 0; i < 40; ++i) {
      EXPECT_EQ(b->put(from_b[i]), Status::Ok);
      EXPECT_EQ(a->put(from_a[i]), Status::Ok);
    }
    EXPECT_EQ(a->thread_stats().get_objs, 40u);
    EXPECT_EQ(b->thread_stats().put_objs, 40u);
    EXPECT_EQ(a->stats().in_use, 0u);
    EXPECT_EQ(b->stats().in_use, 0u);
    std::vector<void*> all(64);
    ASSERT_EQ(a->get_bulk(all.data(), 64), Status::Ok) << "every element of a came back to a";
    EXPECT_EQ(std::set<void*>(all.begin(), all.end()).size(), 64u);
    for (void* o : all) EXPECT_TRUE(a->contains(o));
    ASSERT_EQ(a->put_bulk(all.data(), 64), Status::Ok);
  }
}

TEST(PktPool, PoolsBeyondTheCachedLimitWorkUncached) {
  std::vector<std::unique_ptr<Pool>> pools;
  int uncached = 0;
  for (std::uint32_t i = 0; i < kMaxCachedPools + 6; ++i) {
    pools.push_back(Pool::create(raw_config(8, 64, 4)));
    ASSERT_TRUE(pools.back());
    void* o;
    ASSERT_EQ(pools.back()->get(&o), Status::Ok);
    EXPECT_EQ(pools.back()->put(o), Status::Ok);
    if (pools.back()->thread_stats().get_objs == 0) ++uncached;
    EXPECT_EQ(pools.back()->cached(), pools.back()->thread_stats().get_objs == 1);
    EXPECT_EQ(pools.back()->stats().get_objs, 1u);
  }
  EXPECT_GE(uncached, 6);
  std::string why;
  {
    char* buf = nullptr;
    std::size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    pools.back()->dump(f);
    std::fclose(f);
    why.assign(buf, len);
    std::free(buf);
  }
  EXPECT_NE(why.find("cached-pool slots were taken"), std::string::npos) << why;
}

TEST(PktPool, VaModeIovaIsTheAddressUntilVfioRemapsAChunk) {
  auto p = Pool::create(raw_config(1000, 256, 0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->iova_mode(), IovaMode::VA);
  ASSERT_EQ(p->chunks().size(), 1u);
  const MemChunk& c = p->chunks()[0];
  EXPECT_EQ(c.va, p->element(0));
  EXPECT_GE(c.len, 1000u * 256);
  EXPECT_EQ(c.iova, reinterpret_cast<std::uintptr_t>(c.va));
  auto* e = static_cast<char*>(p->element(777));
  EXPECT_EQ(p->iova_of(e + 5), reinterpret_cast<std::uintptr_t>(e + 5));
  p->set_iova(0, 0x10000000);
  EXPECT_EQ(p->chunks()[0].iova, 0x10000000u);
  EXPECT_EQ(p->elt_size(), 320u) << "256 bytes are 4 lines: spread to 5";
  EXPECT_EQ(p->iova_of(e + 5), 0x10000000u + 777 * 320 + 5);
}

TEST(PktPool, StatusNames) {
  EXPECT_STREQ(status_name(Status::Ok), "ok");
  EXPECT_STREQ(status_name(Status::Exhausted), "exhausted");
  EXPECT_STREQ(status_name(Status::DoublePut), "double put");
}

}  // namespace
