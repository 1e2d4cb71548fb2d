// Zero sizes, impossible sizes and bad alignments: what each function returns and what it does
// to errno (ENOMEM on every allocation failure, EINVAL for bad alignments; posix_memalign
// returns its error and leaves errno alone).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "family.h"

namespace {

// Beyond any address space: no policy (overcommit, free memory) can make these succeed.
constexpr std::size_t kImpossible = std::size_t{1} << 47;
constexpr std::size_t kMax = SIZE_MAX;

TEST(SUITE(ZeroSize), MallocAndCallocGiveDistinctFreeableBlocks) {
  void* a = F.malloc(0);
  void* b = F.malloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  F.free(a);
  F.free(b);
  for (auto [count, size] : {std::pair{0ul, 0ul}, std::pair{0ul, 5ul}, std::pair{5ul, 0ul}}) {
    void* c = F.calloc(count, size);
    ASSERT_NE(c, nullptr) << count << " x " << size;
    F.free(c);
  }
}

TEST(SUITE(ZeroSize), AlignedFunctionsGiveAlignedFreeableBlocks) {
  void* m = F.memalign(64, 0);
  void* a = F.aligned_alloc(4096, 0);
  void* v = F.valloc(0);
  void* pv = F.pvalloc(0);
  void* pm = nullptr;
  ASSERT_EQ(F.posix_memalign(&pm, 256, 0), 0);
  for (void* p : {m, a, v, pv, pm}) ASSERT_NE(p, nullptr);
  EXPECT_TRUE(is_aligned(m, 64));
  EXPECT_TRUE(is_aligned(a, 4096));
  EXPECT_TRUE(is_aligned(v, 4096));
  EXPECT_TRUE(is_aligned(pv, 4096));
  EXPECT_TRUE(is_aligned(pm, 256));
  for (void* p : {m, a, v, pv, pm}) F.free(p);
}

// glibc's behaviour, which programs depend on: realloc(NULL, 0) is malloc(0); realloc(p, 0)
// frees p and returns NULL.
TEST(SUITE(ZeroSize), ReallocToZeroFreesAndNullReallocAllocates) {
  void* p = F.realloc(nullptr, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(F.realloc(p, 0), nullptr);
  void* q = F.reallocarray(nullptr, 0, 8);
  ASSERT_NE(q, nullptr);
  F.free(q);
}

// Each call fails with NULL and errno ENOMEM.
void expect_enomem(const char* what, void* (*call)()) {
  errno = 0;
  void* p = call();
  EXPECT_EQ(p, nullptr) << what;
  EXPECT_EQ(errno, ENOMEM) << what << ": " << std::strerror(errno);
}

TEST(SUITE(Overflow), ImpossibleSizesFailWithEnomem) {
  expect_enomem("malloc(SIZE_MAX)", [] { return F.malloc(kMax); });
  expect_enomem("malloc(PTRDIFF_MAX + 1)", [] { return F.malloc(std::size_t{PTRDIFF_MAX} + 1); });
  expect_enomem("malloc(2^47)", [] { return F.malloc(kImpossible); });
  expect_enomem("calloc(1, 2^47)", [] { return F.calloc(1, kImpossible); });
  expect_enomem("memalign(64, SIZE_MAX)", [] { return F.memalign(64, kMax); });
  expect_enomem("memalign(2^30, 2^47)", [] { return F.memalign(GiB, kImpossible); });
  expect_enomem("aligned_alloc(4096, SIZE_MAX)", [] { return F.aligned_alloc(4096, kMax); });
  expect_enomem("aligned_alloc(16, 2^47)", [] { return F.aligned_alloc(16, kImpossible); });
  expect_enomem("valloc(SIZE_MAX)", [] { return F.valloc(kMax); });
  expect_enomem("pvalloc(SIZE_MAX)", [] { return F.pvalloc(kMax); });
  expect_enomem("pvalloc(SIZE_MAX - 4095)", [] { return F.pvalloc(kMax - 4095); });
  expect_enomem("realloc(NULL, SIZE_MAX)", [] { return F.realloc(nullptr, kMax); });
}

TEST(SUITE(Overflow), CallocAndReallocarrayCheckTheProduct) {
  expect_enomem("calloc(SIZE_MAX/2, 3)", [] { return F.calloc(kMax / 2, 3); });
  expect_enomem("calloc(2^32, 2^32)", [] { return F.calloc(std::size_t{1} << 32, std::size_t{1} << 32); });
  expect_enomem("calloc(3, SIZE_MAX/2)", [] { return F.calloc(3, kMax / 2); });
  expect_enomem("reallocarray(NULL, 2^33, 2^31)",
                [] { return F.reallocarray(nullptr, std::size_t{1} << 33, std::size_t{1} << 31); });
}

// A failed realloc leaves the old block allocated and intact.
TEST(SUITE(Overflow), FailedReallocKeepsTheBlock) {
  for (std::size_t n : {24ul, 5000ul, 100 * KiB, kDirect + 1}) {
    auto* p = static_cast<unsigned char*>(F.malloc(n));
    ASSERT_NE(p, nullptr);
    for (std::size_t i = 0; i < 4096 && i < n; ++i) p[i] = static_cast<unsigned char>(i * 7);
    errno = 0;
    EXPECT_EQ(F.realloc(p, kMax), nullptr) << n;
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_EQ(F.realloc(p, kImpossible), nullptr) << n;
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_EQ(F.reallocarray(p, kMax / 2, 3), nullptr) << n;
    EXPECT_EQ(errno, ENOMEM);
    for (std::size_t i = 0; i < 4096 && i < n; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(i * 7)) << n << " at " << i;
    F.free(p);
  }
}

TEST(SUITE(BadAlignment), AlignedAllocRejectsNonPowersOfTwo) {
  for (std::size_t a : {0ul, 3ul, 24ul, 100ul, 4097ul}) {
    errno = 0;
    EXPECT_EQ(F.aligned_alloc(a, 64), nullptr) << a;
    EXPECT_EQ(errno, EINVAL) << a;
  }
}

TEST(SUITE(BadAlignment), MemalignRejectsAlignmentsThatCannotBeRoundedUp) {
  errno = 0;
  EXPECT_EQ(F.memalign(kMax, 16), nullptr);
  EXPECT_EQ(errno, EINVAL);
  // One that rounds up to 2^63 is valid but cannot be served: ENOMEM, as glibc says.
  errno = 0;
  EXPECT_EQ(F.memalign((std::size_t{1} << 62) + 1, 100), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// posix_memalign returns EINVAL or ENOMEM, never touches errno, never writes *out on failure.
TEST(SUITE(BadAlignment), PosixMemalignReturnsItsErrorAndLeavesErrnoAndOutAlone) {
  void* const sentinel = reinterpret_cast<void*>(0x1234);
  struct Case {
    std::size_t align, size;
    int expected;
  };
  for (Case c : {Case{0, 16, EINVAL}, Case{1, 16, EINVAL}, Case{2, 16, EINVAL}, Case{4, 16, EINVAL},
                 Case{24, 16, EINVAL}, Case{sizeof(void*) * 3, 16, EINVAL}, Case{4097, 16, EINVAL},
                 Case{64, kMax, ENOMEM}, Case{4096, kImpossible, ENOMEM}, Case{GiB, kImpossible, ENOMEM},
                 Case{sizeof(void*), kMax - 4096, ENOMEM}}) {
    void* out = sentinel;
    errno = 4242;
    EXPECT_EQ(F.posix_memalign(&out, c.align, c.size), c.expected) << c.align << ", " << c.size;
    EXPECT_EQ(errno, 4242) << c.align << ", " << c.size;
    EXPECT_EQ(out, sentinel) << c.align << ", " << c.size;
  }
}

// A failed request leaves the allocator working.
TEST(SUITE(Overflow), AllocationWorksAfterAFailure) {
  EXPECT_EQ(F.malloc(kImpossible), nullptr);
  void* p = F.malloc(100);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 100);
  F.free(p);
}

}  // namespace
