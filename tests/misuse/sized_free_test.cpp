// free_sized / free_aligned_sized told a size (or alignment) the block was not allocated with:
// reported with both sizes, then abort. Sizes within the block's class are legitimate (the
// class is all a small object records), so the wrong sizes here lie outside it.
#include "hugemem/hugemem.h"
#include "report.h"

namespace {

using hm_misuse::hex;

const std::string kMismatch = "hugemem: size mismatch freeing ";

TEST(SizedFree, RightSizesAreAccepted) {
  for (std::size_t n : {1ul, 16ul, 100ul, 4000ul, 32768ul, 40000ul, std::size_t{1} << 20, std::size_t{200} << 20}) {
    void* p = hm_malloc(n);
    ASSERT_NE(p, nullptr);
    hm_free_sized(p, n);
  }
  void* a = hm_aligned_alloc(256, 300);
  hm_free_aligned_sized(a, 256, 300);
}

TEST(SizedFree, SmallObjectWrongClass) {
  void* p = hm_malloc(100);
  EXPECT_REPORTED(hm_free_sized(p, 200),
                  kMismatch + hex(p) + ": given 200 bytes, block holds 112 \\(size class 6, 112 bytes\\)");
  EXPECT_REPORTED(hm_free_sized(p, 64), kMismatch + hex(p) + ": given 64 bytes, block holds 112");
  EXPECT_REPORTED(hm_free_sized(p, std::size_t{1} << 20), kMismatch + hex(p) + ": given 1048576 bytes");
  hm_free_sized(p, 100);
}

TEST(SizedFree, LargeBlockWrongSize) {
  void* p = hm_malloc(std::size_t{1} << 20);
  EXPECT_REPORTED(hm_free_sized(p, std::size_t{2} << 20), kMismatch + hex(p) + ": given 2097152 bytes, block holds 1048576");
  EXPECT_REPORTED(hm_free_sized(p, 100), kMismatch + hex(p) + ": given 100 bytes, block holds 1048576");
  hm_free_sized(p, std::size_t{1} << 20);
}

TEST(SizedFree, DirectMappingTooLarge) {
  std::size_t n = std::size_t{200} << 20;
  void* p = hm_malloc(n);
  ASSERT_NE(p, nullptr);
  EXPECT_REPORTED(hm_free_sized(p, 2 * n), kMismatch + hex(p) + ": given 419430400 bytes");
  hm_free_sized(p, n);
}

// A direct mapping records only its rounded length (a multiple of 2 MiB), so any size more than
// one 2 MiB granule below it cannot be the size it was allocated with.
TEST(SizedFree, DirectMappingTooSmall) {
  std::size_t n = std::size_t{200} << 20;
  void* p = hm_malloc(n);
  ASSERT_NE(p, nullptr);
  EXPECT_REPORTED(hm_free_sized(p, 1), kMismatch + hex(p) + ": given 1 bytes");
  EXPECT_REPORTED(hm_free_sized(p, n / 2), kMismatch + hex(p) + ": given 104857600 bytes");
  hm_free_sized(p, n);
}

TEST(SizedFree, AlignedWrongAlignment) {
  void* p = hm_aligned_alloc(4096, 64);  // a 4096-byte class: 64 bytes at 4096 alignment
  EXPECT_REPORTED(hm_free_aligned_sized(p, 64, 64), kMismatch + hex(p) + ": given 64 bytes, block holds 4096");
  hm_free_aligned_sized(p, 4096, 64);
}

TEST(SizedFree, OfAFreedPointer) {
  void* p = hm_malloc(100);
  hm_free(p);
  EXPECT_REPORTED(hm_free_sized(p, 100), "hugemem: double free of " + hex(p) + " \\(size class 6, 112 bytes\\)");
}

}  // namespace
