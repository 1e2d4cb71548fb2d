#include <gtest/gtest.h>

#include <random>

#include "hugemem/vfio/iova.h"

using hm::vfio::IovaAllocator;
using hm::vfio::IovaRange;

constexpr std::uint64_t kK4 = 4096, kM2 = 1ull << 21, kG1 = 1ull << 30;

TEST(Iova, DefaultWindowIsAbovePhysicalMemoryAndBelow39Bits) {
  IovaAllocator a;
  std::uint64_t i = a.alloc(kG1, kG1);
  EXPECT_EQ(i, hm::vfio::kDefaultIovaBase);
  EXPECT_LE(i + kG1, 1ull << 39);
  EXPECT_EQ(a.free_bytes(), (1ull << 39) - (1ull << 36) - kG1);
}

TEST(Iova, NeverHandsOutZero) {
  IovaAllocator a({{0, 1ull << 20}});
  std::uint64_t i = a.alloc(kK4, kK4);
  EXPECT_NE(i, 0u);
  EXPECT_EQ(i, kK4);
}

TEST(Iova, AlignsAndRoundsUp) {
  IovaAllocator a({{0x1000, 0x100000000ull}});
  std::uint64_t small = a.alloc(100, kK4);
  EXPECT_EQ(small, 0x1000u);
  std::uint64_t big = a.alloc(kM2, kM2);
  EXPECT_EQ(big % kM2, 0u);
  EXPECT_EQ(big, kM2);
  std::uint64_t next = a.alloc(kK4, kK4);
  EXPECT_EQ(next, 0x2000u);  // the gap below the aligned block is still used
}

TEST(Iova, NaturalAlignment) {
  EXPECT_EQ(IovaAllocator::natural_align(kG1 * 2), kG1);
  EXPECT_EQ(IovaAllocator::natural_align(kG1), kG1);
  EXPECT_EQ(IovaAllocator::natural_align(kM2 * 3), kM2);
  EXPECT_EQ(IovaAllocator::natural_align(kK4 * 3), kK4);
}

TEST(Iova, RejectsBadArgumentsAndExhaustion) {
  IovaAllocator a({{0x10000, 0x20000}});
  EXPECT_EQ(a.alloc(0, kK4), 0u);
  EXPECT_EQ(a.alloc(kK4, 3000), 0u);
  EXPECT_EQ(a.alloc(0x20000, kK4), 0u);
  EXPECT_EQ(a.alloc(0x10000, kK4), 0x10000u);
  EXPECT_EQ(a.alloc(kK4, kK4), 0u);
}

TEST(Iova, FreeChecksAndCoalesces) {
  IovaAllocator a({{0x10000, 0x20000}});
  std::uint64_t x = a.alloc(0x4000, kK4), y = a.alloc(0x4000, kK4), z = a.alloc(0x8000, kK4);
  ASSERT_TRUE(x && y && z);
  EXPECT_FALSE(a.free(y + kK4, kK4));    // not an allocation
  EXPECT_FALSE(a.free(y, 0x2000));       // partial
  EXPECT_TRUE(a.free(y, 0x4000));
  EXPECT_FALSE(a.free(y, 0x4000));       // double free
  EXPECT_TRUE(a.free(x, 0x4000));
  EXPECT_TRUE(a.free(z, 0x8000));
  EXPECT_EQ(a.live(), 0u);
  EXPECT_EQ(a.alloc(0x10000, kK4), 0x10000u);  // all one range again
}

TEST(Iova, SkipsHolesBetweenRanges) {
  // e.g. the MSI window 0xfee00000-0xfeefffff excluded by the IOMMU
  IovaAllocator a({{0xfe000000, 0xfee00000}, {0xfef00000, 0x200000000ull}});
  std::uint64_t i = a.alloc(kG1, kG1);
  EXPECT_EQ(i, 0x100000000ull);
  std::uint64_t j = a.alloc(0xe00000, kM2);
  EXPECT_EQ(j, 0xfe000000u);
  std::uint64_t k = a.alloc(kM2, kM2);
  EXPECT_EQ(k, 0xff000000u);  // not inside the hole
}

TEST(Iova, RandomWalkKeepsRangesDisjoint) {
  IovaAllocator a({{kK4, 1ull << 30}});
  std::mt19937_64 rng(7);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
  for (int step = 0; step < 5000; ++step) {
    if (live.empty() || rng() % 3) {
      std::uint64_t len = (rng() % 64 + 1) * kK4;
      std::uint64_t al = 1ull << (12 + rng() % 6);
      std::uint64_t i = a.alloc(len, al);
      if (!i) continue;
      ASSERT_EQ(i % al, 0u);
      for (auto& [s, l] : live) ASSERT_TRUE(i + len <= s || s + l <= i) << "overlap at step " << step;
      live.push_back({i, len});
    } else {
      std::size_t k = rng() % live.size();
      ASSERT_TRUE(a.free(live[k].first, live[k].second));
      live.erase(live.begin() + static_cast<long>(k));
    }
  }
  for (auto& [s, l] : live) ASSERT_TRUE(a.free(s, l));
  EXPECT_EQ(a.free_bytes(), (1ull << 30) - kK4);
}
