// The free family (free, cfree, free_sized, free_aligned_sized) on every kind of block, errno
// preserved by every free, and calloc's zeroing of fresh and of reused memory.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "family.h"

namespace {

// One size per kind of block: small classes, large (arena pages), direct mapping.
const std::size_t kSizes[] = {0, 1, 8, 16, 100, 1000, 4096, kSmallMax, kSmallMax + 1, 300 * KiB, kDirect + 1};

TEST(SUITE(Free), NullIsANoOp) {
  errno = 77;
  F.free(nullptr);
  F.cfree(nullptr);
  F.free_sized(nullptr, 10);
  F.free_aligned_sized(nullptr, 64, 10);
  EXPECT_EQ(errno, 77);
  EXPECT_EQ(F.usable_size(nullptr), 0u);
}

// Every form really frees: after it, the next small request of that size gets the last freed
// object back (the freelist is LIFO), and large and direct blocks go without complaint.
TEST(SUITE(Free), EveryFormReleasesEveryKindOfBlock) {
  for (std::size_t n : kSizes) {
    for (int form = 0; form < 4; ++form) {
      std::vector<void*> live;
      for (int i = 0; i < (n > kSmallMax ? 3 : 200); ++i) {
        void* p = form == 3 ? F.aligned_alloc(64, n) : F.malloc(n);
        ASSERT_NE(p, nullptr);
        live.push_back(p);
      }
      for (void* p : live) {
        switch (form) {
          case 0: F.free(p); break;
          case 1: F.cfree(p); break;
          case 2: F.free_sized(p, n); break;
          case 3: F.free_aligned_sized(p, 64, n); break;
        }
      }
      if (n <= kSmallMax) {
        void* again = form == 3 ? F.aligned_alloc(64, n) : F.malloc(n);
        EXPECT_EQ(again, live.back()) << "form " << form << ", " << n << " B: the last freed object is reused first";
        F.free(again);
      }
    }
  }
}

// A thread's first call may be a free (of objects another thread allocated): its fast path then
// runs on the unready heap, which hands the free to the slow path; nothing is lost and the
// thread can allocate afterwards.
TEST(SUITE(Free), AThreadsFirstCallMayBeAFree) {
  std::vector<void*> blocks;
  for (int round = 0; round < 3; ++round)
    for (std::size_t n : kSizes) blocks.push_back(F.malloc(n));
  std::thread([&] {
    for (void* p : blocks) F.free(p);
    void* p = F.malloc(100);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, 100);
    F.free(p);
  }).join();
  for (std::size_t n : kSizes) {
    void* p = F.malloc(n);
    ASSERT_NE(p, nullptr);
    std::memset(p, 2, n);
    F.free(p);
  }
}

TEST(SUITE(Free), PreservesErrnoForEveryKindOfBlock) {
  for (std::size_t n : kSizes) {
    void* a = F.malloc(n);
    void* b = F.malloc(n);
    void* c = F.malloc(n);
    void* d = F.aligned_alloc(4096, n);
    errno = 1234;
    F.free(a);
    F.cfree(b);
    F.free_sized(c, n);
    F.free_aligned_sized(d, 4096, n);
    EXPECT_EQ(errno, 1234) << n << " B";
  }
  // After a trim, freeing more memory may hand pages back to the OS (munmap, madvise).
  F.trim(0);
  std::vector<void*> big;
  for (int i = 0; i < 40; ++i) big.push_back(F.malloc(4 * MiB));
  errno = 4321;
  for (void* p : big) F.free(p);
  F.trim(0);
  EXPECT_EQ(errno, 4321);
}

bool all_zero(const void* p, std::size_t n) {
  auto* c = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (c[i]) return false;
  return true;
}

TEST(SUITE(Calloc), ZeroesFreshAndReusedMemory) {
  for (std::size_t n : {1ul, 16ul, 24ul, 1000ul, 4096ul, kSmallMax, kSmallMax + 1, 3 * MiB, kDirect + 4096}) {
    // Dirty a block of the same size, free it, and calloc: the same memory comes back for small
    // objects (LIFO) and likely for pages, and must be zero either way.
    void* dirty = F.malloc(n);
    ASSERT_NE(dirty, nullptr);
    std::memset(dirty, 0xa5, F.usable_size(dirty));
    F.free(dirty);
    void* z = F.calloc(1, n);
    ASSERT_NE(z, nullptr) << n;
    if (n <= kSmallMax) {
      EXPECT_EQ(z, dirty) << "expected the freed object back";
    }
    EXPECT_TRUE(all_zero(z, n)) << n << " B";
    F.free(z);
    // count x size, not only 1 x n.
    void* z2 = F.calloc(n, 3);
    ASSERT_NE(z2, nullptr);
    EXPECT_TRUE(all_zero(z2, n * 3)) << n << " x 3";
    F.free(z2);
  }
}

TEST(SUITE(Calloc), ZeroesEveryObjectOfAReusedSlab) {
  std::vector<void*> ps;
  for (int i = 0; i < 1000; ++i) {
    void* p = F.malloc(48);
    std::memset(p, 0xff, 48);
    ps.push_back(p);
  }
  for (void* p : ps) F.free(p);
  for (int i = 0; i < 1000; ++i) {
    ps[i] = F.calloc(6, 8);
    ASSERT_TRUE(all_zero(ps[i], 48)) << i;
  }
  for (void* p : ps) F.free(p);
}

TEST(SUITE(UsableSize), CoversTheRequestAndIsWritable) {
  for (std::size_t n = 1; n < 3 * MiB; n = n * 3 / 2 + 1) {
    auto* p = static_cast<char*>(F.malloc(n));
    std::size_t u = F.usable_size(p);
    ASSERT_GE(u, n);
    std::memset(p, 1, u);
    F.free(p);
  }
}

}  // namespace
