// The order in which the pool hands elements out: a get of n gives the top n of the thread's
// cache last in first out, as n single gets would (rte_mempool's order), and so the elements
// keep circulating in runs of neighbouring addresses, which the CPU's prefetchers follow. The
// cost of losing the runs is measured in pktpool/README.md ("Order"); these check the order.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

#include "hugemem/pktpool/mbuf.h"
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::test::mbuf_config;
using hm::pkt::test::raw_config;

// Sizes on both sides of the pair-copy threshold, even and odd.
constexpr std::uint32_t kSizes[] = {1, 2, 3, 4, 15, 16, 17, 32, 33, 64};

TEST(PktOrder, BulkGetsHandOutTheLastPutFirst) {
  auto p = Pool::create(raw_config(1024, 64, 128));
  ASSERT_TRUE(p);
  for (std::uint32_t n : kSizes) {
    std::vector<void*> in(n), out(n);
    ASSERT_EQ(p->get_bulk(in.data(), n), Status::Ok);
    ASSERT_EQ(p->put_bulk(in.data(), n), Status::Ok);
    ASSERT_EQ(p->get_bulk(out.data(), n), Status::Ok);  // a cache hit: the inline path
    for (std::uint32_t i = 0; i < n; ++i) EXPECT_EQ(out[i], in[n - 1 - i]) << "n " << n << " i " << i;
    ASSERT_EQ(p->put_bulk(out.data(), n), Status::Ok);
  }
}

#if defined(__x86_64__) && !defined(__AVX2__)
TEST(PktOrder, BothCopyWidthsMoveTheSamePointersInTheSameOrder) {
  // The copies take 32-byte moves when the CPU has AVX2 (detail::g_avx2), 16-byte ones when
  // not: both, on whichever this CPU runs, with every size on both sides of the threshold.
  const bool had = detail::g_avx2;
  for (bool wide : {false, true}) {
    if (wide && !__builtin_cpu_supports("avx2")) continue;
    detail::g_avx2 = wide;
    auto p = Pool::create(raw_config(1024, 64, 128));
    ASSERT_TRUE(p);
    for (std::uint32_t n = 1; n <= 128; ++n) {
      std::vector<void*> in(n), out(n);
      ASSERT_EQ(p->get_bulk(in.data(), n), Status::Ok);
      ASSERT_EQ(p->put_bulk(in.data(), n), Status::Ok);
      ASSERT_EQ(p->get_bulk(out.data(), n), Status::Ok);
      for (std::uint32_t i = 0; i < n; ++i) ASSERT_EQ(out[i], in[n - 1 - i]) << "wide " << wide << " n " << n;
      ASSERT_EQ(p->put_bulk(out.data(), n), Status::Ok);
    }
  }
  detail::g_avx2 = had;
}
#endif

TEST(PktOrder, ARefillHandsOutTheRingsLastElementsFirst) {
  // An uncached thread's put goes to the ring in order; a cached thread's miss refills from the
  // ring in ring order and gives the top of it out first.
  auto p = Pool::create(raw_config(64, 64, 16));
  ASSERT_TRUE(p);
  std::vector<void*> all(64), got(8);
  ASSERT_EQ(p->get_bulk(all.data(), 64), Status::Ok);  // more than the cache: straight from the ring
  p->flush_cache();
  ASSERT_EQ(p->put_bulk(all.data(), 64), Status::Ok);  // likewise to the ring, in this order
  ASSERT_EQ(p->get_bulk(got.data(), 8), Status::Ok);    // miss: refill 8 + 16 = 24 from the ring
  for (std::uint32_t i = 0; i < 8; ++i) EXPECT_EQ(got[i], all[23 - i]) << i;
}

TEST(PktOrder, AllocBulkHandsOutTheLastFreedFirst) {
  auto p = Pool::create(mbuf_config(1024, 128));
  ASSERT_TRUE(p);
  for (std::uint32_t n : kSizes) {
    std::vector<Mbuf*> in(n), out(n);
    ASSERT_EQ(Mbuf::alloc_bulk(*p, in.data(), n), Status::Ok);
    Mbuf::free_bulk(in.data(), n);
    ASSERT_EQ(Mbuf::alloc_bulk(*p, out.data(), n), Status::Ok);
    for (std::uint32_t i = 0; i < n; ++i) EXPECT_EQ(out[i], in[n - 1 - i]) << "n " << n << " i " << i;
    Mbuf::free_bulk(out.data(), n);
  }
}

// A driver's two cores: RX allocates bursts and queues them, TX frees them once its queue of
// kInFlight is full (it lags, as it does when RX runs ahead). The two threads take turns, so the
// run is deterministic. Returns the share of consecutive RX allocations that are neighbours in
// memory, over the last `measured` objects.
double neighbour_share(Pool& p, std::uint32_t burst, std::uint32_t objects, std::uint32_t measured) {
  constexpr std::uint32_t kInFlight = 2048;
  std::deque<Mbuf*> queue;
  std::atomic<int> turn{0};  // 1: RX's step, 2: TX's step, 0: the driver's
  std::atomic<bool> stop{false};
  std::uint32_t allocated = 0, neighbours = 0, pairs = 0;
  Mbuf* last = nullptr;
  auto wait_turn = [&](int me) {
    while (turn.load() != me && !stop.load()) std::this_thread::yield();
    return !stop.load();
  };
  std::thread rx([&] {
    std::vector<Mbuf*> ms(burst);
    while (wait_turn(1)) {
      if (queue.size() + burst <= kInFlight) {
        if (Mbuf::alloc_bulk(p, ms.data(), burst) != Status::Ok) {
          ADD_FAILURE() << "pool exhausted";
          stop.store(true);
          return;
        }
        for (Mbuf* m : ms) {
          if (last && allocated >= objects - measured) {
            auto d = reinterpret_cast<char*>(m) - reinterpret_cast<char*>(last);
            ++pairs;
            neighbours += d == static_cast<long>(p.elt_size()) || -d == static_cast<long>(p.elt_size());
          }
          last = m;
          queue.push_back(m);
          ++allocated;
        }
      }
      turn.store(0);
    }
  });
  std::thread tx([&] {
    std::vector<Mbuf*> ms(burst);
    while (wait_turn(2)) {
      if (queue.size() + burst > kInFlight) {
        for (Mbuf*& m : ms) {
          m = queue.front();
          queue.pop_front();
        }
        Mbuf::free_bulk(ms.data(), burst);
      }
      turn.store(0);
    }
  });
  while (allocated < objects && !stop.load()) {
    for (int side : {1, 2}) {
      turn.store(side);
      while (turn.load() != 0 && !stop.load()) std::this_thread::yield();
    }
  }
  stop.store(true);
  rx.join();
  tx.join();
  for (Mbuf* m : queue) Mbuf::free(m);
  return pairs ? static_cast<double>(neighbours) / pairs : 0.0;
}

TEST(PktOrder, ElementsKeepCirculatingInAddressRunsBetweenTwoThreads) {
  // Bursts of 32 and then of 1, as a driver's loops and a benchmark's run after one another:
  // each burst size in turn leaves the order the next one starts from. Copying a burst out of
  // the cache in address order left no neighbours at all in each of the three.
  auto p = Pool::create(mbuf_config(4095, 256));
  ASSERT_TRUE(p);
  EXPECT_GT(neighbour_share(*p, 32, 400000, 100000), 0.9);
  EXPECT_GT(neighbour_share(*p, 1, 40000, 20000), 0.9);
  EXPECT_GT(neighbour_share(*p, 4, 100000, 20000), 0.9);
}

}  // namespace
