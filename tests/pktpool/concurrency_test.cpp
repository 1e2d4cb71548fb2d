// Several threads at once: nothing lost, nothing duplicated, no element in two hands.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/ring.h"
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;

TEST(PktConcurrency, RingPassesEveryTokenOnceAndKeepsEachProducersOrder) {
  constexpr std::uintptr_t kPerProducer = 200000;
  constexpr int kProducers = 2, kConsumers = 2;
  Ring ring(64);
  ASSERT_TRUE(ring);
  std::atomic<std::uintptr_t> consumed{0};
  std::vector<std::vector<std::uintptr_t>> seen(kConsumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p)
    threads.emplace_back([&, p] {
      std::mt19937 rng(p);
      std::uintptr_t next = 0;
      void* batch[16];
      while (next < kPerProducer) {
        std::uint32_t n = std::min<std::uintptr_t>(1 + rng() % 16, kPerProducer - next);
        for (std::uint32_t i = 0; i < n; ++i)
          batch[i] = reinterpret_cast<void*>((p + 1) * kPerProducer * 2 + next + i);
        std::uint32_t done = (rng() & 1) ? ring.enqueue_bulk(batch, n) : ring.enqueue_burst(batch, n);
        if (done == 0) std::this_thread::yield();
        next += done;
      }
    });
  for (int c = 0; c < kConsumers; ++c)
    threads.emplace_back([&, c] {
      std::mt19937 rng(100 + c);
      void* batch[16];
      while (consumed.load() < kPerProducer * kProducers) {
        std::uint32_t n = 1 + rng() % 16;
        std::uint32_t got = (rng() & 1) ? ring.dequeue_bulk(batch, n) : ring.dequeue_burst(batch, n);
        if (got == 0) std::this_thread::yield();
        for (std::uint32_t i = 0; i < got; ++i) seen[c].push_back(reinterpret_cast<std::uintptr_t>(batch[i]));
        consumed += got;
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::uintptr_t> all;
  for (auto& v : seen) {
    std::uintptr_t last[kProducers + 1] = {};
    for (std::uintptr_t tok : v) {
      int p = static_cast<int>(tok / (kPerProducer * 2));
      EXPECT_GT(tok + 1, last[p] + 1) << "a consumer saw producer " << p << " out of order";
      last[p] = tok;
      all.insert(tok);
    }
  }
  EXPECT_EQ(all.size(), kPerProducer * kProducers) << "every token exactly once";
  EXPECT_EQ(consumed.load(), kPerProducer * kProducers);
  EXPECT_EQ(ring.count(), 0u);
}

// Producers allocate mbufs, stamp them, and pass them through a ring to consumers, which check
// the stamp and free them (consumer 0 a burst at a time with free_bulk, consumer 1 one by one).
// Every third burst goes as indirect clones instead: the producer frees its direct mbufs at
// once, so the consumer's free of a clone is what gives the direct one back, on another thread.
// At the end every element is back, exactly once.
void pass_mbufs(Debug debug) {
  constexpr int kPackets = 100000;
  constexpr int kProducers = 2, kConsumers = 2;
  Config cfg = test::mbuf_config(2048, 64);
  cfg.debug = debug;
  auto pool = Pool::create(cfg);
  ASSERT_TRUE(pool);
  Ring wire(512);
  std::atomic<int> delivered{0};
  std::atomic<int> bad{0};
  std::atomic<std::uint64_t> clones{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p)
    threads.emplace_back([&, p] {
      Mbuf* burst[8];
      for (int sent = 0; sent < kPackets;) {
        std::uint32_t n = std::min(1 + (sent % 8), kPackets - sent);
        if (Mbuf::alloc_bulk(*pool, burst, n) != Status::Ok) {
          std::this_thread::yield();
          continue;
        }
        for (std::uint32_t i = 0; i < n; ++i) {
          Mbuf* m = burst[i];
          char* d = m->append(sizeof(Mbuf*) + 1);
          std::memcpy(d, &m, sizeof m);  // its own address: a duplicate would be overwritten
          d[sizeof m] = static_cast<char>(p);
        }
        if (sent % 3 == 1) {
          Mbuf* cl[8];
          std::uint32_t k = 0;
          for (; k < n && (cl[k] = Mbuf::clone(burst[k], *pool)); ++k) {
          }
          if (k < n) {  // the pool ran short: keep the clones made, send the rest direct
            clones += k;
            for (std::uint32_t i = 0; i < k; ++i) Mbuf::free(std::exchange(burst[i], cl[i]));
          } else {
            clones += n;
            Mbuf::free_bulk(burst, n);  // the clones hold them now
            std::memcpy(burst, cl, sizeof(Mbuf*) * n);
          }
        }
        std::uint32_t off = 0;
        while (off < n) {
          off += wire.enqueue_burst(reinterpret_cast<void**>(burst) + off, n - off);
          if (off < n) std::this_thread::yield();
        }
        sent += n;
      }
    });
  for (int c = 0; c < kConsumers; ++c)
    threads.emplace_back([&, c] {
      void* got[8];
      while (delivered.load() < kPackets * kProducers) {
        std::uint32_t n = wire.dequeue_burst(got, 8);
        if (n == 0) std::this_thread::yield();
        for (std::uint32_t i = 0; i < n; ++i) {
          auto* m = static_cast<Mbuf*>(got[i]);
          Mbuf* stamp;
          std::memcpy(&stamp, m->mtod(), sizeof stamp);
          Mbuf* owner = m->is_indirect() ? m->direct() : m;
          if (stamp != owner || m->data_len != sizeof(Mbuf*) + 1 || m->pool != pool.get()) ++bad;
          if (c == 1) Mbuf::free(m);
        }
        if (c == 0) Mbuf::free_bulk(reinterpret_cast<Mbuf* const*>(got), n);
        delivered += n;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(delivered.load(), kPackets * kProducers);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.in_ring, 2048u) << "the exited threads' caches came back";
  EXPECT_EQ(s.threads, 0u);
  EXPECT_EQ(s.debug_errors, 0u);
  EXPECT_GT(clones.load(), std::uint64_t{kPackets} / 10) << "clones went through too";
  EXPECT_EQ(s.get_objs, std::uint64_t{kPackets} * kProducers + clones.load());
  EXPECT_EQ(s.put_objs, std::uint64_t{kPackets} * kProducers + clones.load());
  // Every element accounted for: this thread can take all of them, each once.
  std::vector<void*> all(2048);
  ASSERT_EQ(pool->get_bulk(all.data(), 2048), Status::Ok);
  std::set<std::size_t> idx;
  for (void* e : all) idx.insert(pool->index_of(e));
  EXPECT_EQ(idx.size(), 2048u);
  EXPECT_EQ(*idx.rbegin(), 2047u);
  EXPECT_EQ(pool->put_bulk(all.data(), 2048), Status::Ok);
}

TEST(PktConcurrency, ProducersAndConsumersPassMbufsAndLoseNone) { pass_mbufs(Debug::Off); }
TEST(PktConcurrency, DebugModeHasNoFalseAlarmsUnderConcurrency) { pass_mbufs(Debug::Report); }

// Threads that hold objects for a while, with bulk sizes around the cache size, on a pool small
// enough to run dry often. Each stamps what it holds with its id and checks the stamp before
// giving it back: an element handed to two threads at once would show.
TEST(PktConcurrency, ContendedGetPutNeverHandsOneElementToTwoThreads) {
  constexpr int kThreads = 4;
  // 128 elements: one thread holding up to 64 + 47 plus its cache can already run it dry.
  auto pool = Pool::create(test::raw_config(128, 64, 16));
  ASSERT_TRUE(pool);
  std::atomic<int> clashes{0}, exhausted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<void*> held;
      void* batch[48];
      for (int round = 0; round < 200000; ++round) {
        std::uint32_t n = 1 + rng() % 48;
        if (held.size() < 64 && (rng() & 1)) {
          if (pool->get_bulk(batch, n) != Status::Ok) {
            ++exhausted;
            continue;
          }
          for (std::uint32_t i = 0; i < n; ++i) {
            std::memcpy(batch[i], &t, sizeof t);
            held.push_back(batch[i]);
          }
        } else {
          n = std::min<std::uint32_t>(n, static_cast<std::uint32_t>(held.size()));
          for (std::uint32_t i = 0; i < n; ++i) {
            int owner;
            std::memcpy(&owner, held[held.size() - n + i], sizeof owner);
            if (owner != t) ++clashes;
          }
          EXPECT_EQ(pool->put_bulk(held.data() + held.size() - n, n), Status::Ok);
          held.resize(held.size() - n);
        }
      }
      pool->put_bulk(held.data(), static_cast<std::uint32_t>(held.size()));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(clashes.load(), 0);
  EXPECT_GT(exhausted.load(), 0) << "the pool should have run dry at times";
  PoolStats s = pool->stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.in_ring, 128u);
}

}  // namespace
