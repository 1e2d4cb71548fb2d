// Alignment and usable size of every size class, of large and directly mapped blocks, and of
// every alignment request (memalign, posix_memalign, aligned_alloc, valloc, pvalloc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "family.h"

namespace {

// The header's promise: 16-byte alignment (alignof(max_align_t)), 8 for requests of <= 8 B.
std::size_t promised_alignment(std::size_t n) { return n <= 8 ? 8 : 16; }

// The first and last usable bytes really are writable (a short block would fault or corrupt a
// neighbour that a later check sees).
void touch_ends(void* p, std::size_t usable) {
  if (usable == 0) return;
  static_cast<volatile char*>(p)[0] = 1;
  static_cast<volatile char*>(p)[usable - 1] = 1;
}

TEST(SUITE(Alignment), EverySmallSizeIsAlignedAndUsable) {
  std::set<std::size_t> classes;
  for (std::size_t n = 0; n <= kSmallMax + 64; ++n) {
    void* p = F.malloc(n);
    ASSERT_NE(p, nullptr) << n;
    ASSERT_TRUE(is_aligned(p, promised_alignment(n))) << n << " B at " << p;
    std::size_t u = F.usable_size(p);
    ASSERT_GE(u, n);
    std::memset(p, 0x5a, u);
    if (n <= kSmallMax) classes.insert(u);
    F.free(p);
  }
  // 16 B .. 32 KiB, four classes per doubling above 128 B.
  EXPECT_EQ(*classes.begin(), 16u);
  EXPECT_EQ(*classes.rbegin(), kSmallMax);
  EXPECT_EQ(classes.size(), 40u);
}

// Many objects of every class at once: beyond the first object of a slab and across slabs,
// each aligned, none overlapping another.
TEST(SUITE(Alignment), EveryObjectOfEveryClassIsAlignedAndDisjoint) {
  std::set<std::size_t> classes;
  for (std::size_t n = 1; n <= kSmallMax; ++n) {
    void* p = F.malloc(n);
    classes.insert(F.usable_size(p));
    F.free(p);
  }
  for (std::size_t size : classes) {
    std::size_t count = std::max<std::size_t>(64, 512 * KiB / size);
    std::vector<char*> ps;
    for (std::size_t i = 0; i < count; ++i) {
      auto* p = static_cast<char*>(F.malloc(size));
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(is_aligned(p, 16)) << "class " << size << " object " << i << " at " << static_cast<void*>(p);
      ASSERT_EQ(F.usable_size(p), size);
      std::memset(p, static_cast<int>(i), size);
      ps.push_back(p);
    }
    std::sort(ps.begin(), ps.end());
    for (std::size_t i = 1; i < ps.size(); ++i) ASSERT_GE(ps[i] - ps[i - 1], static_cast<std::ptrdiff_t>(size));
    for (char* p : ps) F.free(p);
  }
}

TEST(SUITE(Alignment), LargeAndDirectBlocksAreAlignedAndUsable) {
  for (std::size_t n : {kSmallMax + 1, 36 * KiB, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB - 1, MiB, MiB + 1,
                        2 * MiB + 3, 100 * MiB, kDirect, kDirect + 1, 200 * MiB, GiB + 5}) {
    void* p = F.malloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(is_aligned(p, 16)) << n << " B at " << p;
    std::size_t u = F.usable_size(p);
    EXPECT_GE(u, n);
    touch_ends(p, u);
    F.free(p);
  }
}

// Sizes around an alignment: below, at, above and several times it.
std::vector<std::size_t> sizes_around(std::size_t a) {
  std::vector<std::size_t> v = {0, 1, a / 2 + 1, a, a + 1, 3 * a};
  if (a > 1) v.push_back(a - 1);
  return v;
}

constexpr std::size_t kMaxAlignment = 256 * MiB;  // beyond the direct threshold

TEST(SUITE(Alignment), MemalignHonoursEveryPowerOfTwo) {
  for (std::size_t a = 1; a <= kMaxAlignment; a *= 2) {
    for (std::size_t n : sizes_around(a)) {
      void* p = F.memalign(a, n);
      ASSERT_NE(p, nullptr) << n << " @ " << a;
      EXPECT_TRUE(is_aligned(p, std::max(a, promised_alignment(n)))) << n << " @ " << a << ": " << p;
      std::size_t u = F.usable_size(p);
      EXPECT_GE(u, n);
      touch_ends(p, u);
      F.free(p);
    }
  }
}

TEST(SUITE(Alignment), AlignedAllocHonoursEveryPowerOfTwo) {
  for (std::size_t a = 1; a <= kMaxAlignment; a *= 2) {
    for (std::size_t n : sizes_around(a)) {
      void* p = F.aligned_alloc(a, n);
      ASSERT_NE(p, nullptr) << n << " @ " << a;
      EXPECT_TRUE(is_aligned(p, a)) << n << " @ " << a << ": " << p;
      std::size_t u = F.usable_size(p);
      EXPECT_GE(u, n);
      touch_ends(p, u);
      F.free_aligned_sized(p, a, n);
    }
  }
}

TEST(SUITE(Alignment), PosixMemalignHonoursEveryPowerOfTwo) {
  for (std::size_t a = sizeof(void*); a <= kMaxAlignment; a *= 2) {
    for (std::size_t n : sizes_around(a)) {
      void* p = nullptr;
      ASSERT_EQ(F.posix_memalign(&p, a, n), 0) << n << " @ " << a;
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(is_aligned(p, a)) << n << " @ " << a << ": " << p;
      std::size_t u = F.usable_size(p);
      EXPECT_GE(u, n);
      touch_ends(p, u);
      F.free(p);
    }
  }
}

TEST(SUITE(Alignment), VallocAndPvallocArePageAligned) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, 4095ul, 4096ul, 4097ul, 100000ul, 200 * MiB}) {
    void* v = F.valloc(n);
    ASSERT_NE(v, nullptr) << n;
    EXPECT_TRUE(is_aligned(v, 4096)) << n << ": " << v;
    EXPECT_GE(F.usable_size(v), n);
    touch_ends(v, F.usable_size(v));
    F.free(v);

    // pvalloc rounds the size up to whole pages (at least one).
    void* pv = F.pvalloc(n);
    ASSERT_NE(pv, nullptr) << n;
    EXPECT_TRUE(is_aligned(pv, 4096)) << n << ": " << pv;
    std::size_t pages = std::max<std::size_t>(1, (n + 4095) / 4096);
    EXPECT_GE(F.usable_size(pv), pages * 4096) << n;
    touch_ends(pv, pages * 4096);
    F.free(pv);
  }
}

// glibc's memalign rounds an alignment that is not a power of two up to the next one.
TEST(SUITE(Alignment), MemalignRoundsOtherAlignmentsUp) {
  for (std::size_t a : {3ul, 24ul, 48ul, 100ul, 3000ul, 5000ul, 3 * MiB}) {
    void* p = F.memalign(a, 100);
    ASSERT_NE(p, nullptr) << a;
    std::size_t pow2 = std::size_t{1} << (64 - __builtin_clzll(a));
    EXPECT_TRUE(is_aligned(p, pow2)) << a << ": " << p;
    F.free(p);
  }
}

// glibc serves alignments up to 16, 0 included, as plain malloc.
TEST(SUITE(Alignment), MemalignOfZeroIsMalloc) {
  volatile std::size_t zero = 0;  // not a constant the compiler could fold
  for (std::size_t n : {0ul, 1ul, 100ul, 5000ul}) {
    void* p = F.memalign(zero, n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(is_aligned(p, promised_alignment(n)));
    EXPECT_GE(F.usable_size(p), n);
    F.free(p);
  }
}

}  // namespace
