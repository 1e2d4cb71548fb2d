// free / realloc / usable_size of pointers hugemem does not own as a live block: freed ones
// (small object, large block, direct mapping), foreign ones (stack, global, glibc's heap, a
// private mapping), interior and misaligned ones. Each must be reported and abort.
#include <sys/mman.h>

#include <cstdlib>

#include "hugemem/hugemem.h"
#include "report.h"

namespace {

using hm_misuse::hex;

constexpr std::size_t kLarge = std::size_t{1} << 20;         // arena pages
constexpr std::size_t kDirect = std::size_t{160} << 20;      // above 128 MiB: its own mapping
const std::string kInvalid = "hugemem: invalid pointer ";

char g_global[64];

TEST(DoubleFree, SmallObject) {
  void* p = hm_malloc(80);
  hm_free(p);
  EXPECT_REPORTED(hm_free(p), "hugemem: double free of " + hex(p) + " \\(size class 4, 80 bytes\\)");
}

TEST(DoubleFree, SmallObjectAfterOthersWereFreedOnTop) {
  void* p = hm_malloc(48);
  void* q = hm_malloc(48);
  hm_free(p);
  hm_free(q);  // p is no longer the freelist head
  EXPECT_REPORTED(hm_free(p), "hugemem: double free of " + hex(p) + " \\(size class 2, 48 bytes\\)");
}

TEST(DoubleFree, SmallObjectFreedByAnotherThread) {
  void* p = hm_malloc(80);
  std::thread([p] { hm_free(p); }).join();  // a remote free: p is on its slab's remote list
  EXPECT_REPORTED(hm_free(p), "hugemem: double free of " + hex(p) + " \\(size class 4, 80 bytes\\)");
}

TEST(DoubleFree, LargeBlock) {
  void* p = hm_malloc(kLarge);
  hm_free(p);
  EXPECT_REPORTED(hm_free(p), kInvalid + hex(p) + " passed to free: .*double free");
}

TEST(DoubleFree, DirectMapping) {
  void* p = hm_malloc(kDirect);
  ASSERT_NE(p, nullptr);
  hm_free(p);
  // The mapping is gone, and with it any record of it: reported as not hugemem's.
  EXPECT_REPORTED(hm_free(p), kInvalid + hex(p) + " passed to free: (not allocated by hugemem|.*double free)");
}

TEST(ForeignPointer, Stack) {
  int on_stack = 0;
  EXPECT_REPORTED(hm_free(&on_stack), kInvalid + hex(&on_stack) + " passed to free: not allocated by hugemem");
}

TEST(ForeignPointer, Global) {
  EXPECT_REPORTED(hm_free(g_global), kInvalid + hex(g_global) + " passed to free: not allocated by hugemem");
}

TEST(ForeignPointer, GlibcHeap) {
  void* small = std::malloc(64);
  void* mmapped = std::malloc(std::size_t{4} << 20);  // glibc serves this from its own mmap
  EXPECT_REPORTED(hm_free(small), kInvalid + hex(small) + " passed to free: not allocated by hugemem");
  EXPECT_REPORTED(hm_free(mmapped), kInvalid + hex(mmapped) + " passed to free: not allocated by hugemem");
  EXPECT_REPORTED(hm_realloc(small, 100), kInvalid + hex(small) + " passed to realloc: not allocated by hugemem");
  std::free(small);
  std::free(mmapped);
}

TEST(ForeignPointer, PrivateMapping) {
  void* m = ::mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_REPORTED(hm_free(m), kInvalid + hex(m) + " passed to free: not allocated by hugemem");
  EXPECT_REPORTED(hm_usable_size(m), kInvalid + hex(m) + " passed to malloc_usable_size: not allocated by hugemem");
  ::munmap(m, 1 << 16);
}

TEST(InteriorPointer, SmallObject) {
  auto* p = static_cast<char*>(hm_malloc(100));
  EXPECT_REPORTED(hm_free(p + 16),
                  kInvalid + hex(p + 16) + " passed to free: not the start of an object.* \\(size class 6, 112 bytes\\)");
  hm_free(p);
}

TEST(InteriorPointer, LargeBlockFirstPage) {
  auto* p = static_cast<char*>(hm_malloc(kLarge));
  EXPECT_REPORTED(hm_free(p + 64), kInvalid + hex(p + 64) + " passed to free: not the start of a block");
  hm_free(p);
}

TEST(InteriorPointer, LargeBlockLaterPage) {
  auto* p = static_cast<char*>(hm_malloc(kLarge));
  EXPECT_REPORTED(hm_free(p + 8192), kInvalid + hex(p + 8192) + " passed to free: not the start");
  hm_free(p);
}

TEST(InteriorPointer, DirectMapping) {
  auto* p = static_cast<char*>(hm_malloc(kDirect));
  ASSERT_NE(p, nullptr);
  EXPECT_REPORTED(hm_free(p + 4096), kInvalid + hex(p + 4096) + " passed to free: not the start");
  hm_free(p);
}

TEST(MisalignedPointer, SmallObject) {
  auto* p = static_cast<char*>(hm_malloc(32));
  EXPECT_REPORTED(hm_free(p + 1), kInvalid + hex(p + 1) + " passed to free: .*misaligned.* \\(size class 1, 32 bytes\\)");
  EXPECT_REPORTED(hm_free(p + 8), kInvalid + hex(p + 8) + " passed to free: .*misaligned.* \\(size class 1, 32 bytes\\)");
  hm_free(p);
}

TEST(MisalignedPointer, LargeBlock) {
  auto* p = static_cast<char*>(hm_malloc(kLarge));
  EXPECT_REPORTED(hm_free(p + 3), kInvalid + hex(p + 3) + " passed to free: not the start of a block");
  hm_free(p);
}

TEST(FreedPointer, Realloc) {
  void* small = hm_malloc(200);
  void* large = hm_malloc(kLarge);
  void* direct = hm_malloc(kDirect);
  ASSERT_TRUE(small && large && direct);
  hm_free(small);
  hm_free(large);
  hm_free(direct);
  EXPECT_REPORTED(hm_realloc(small, 300), "hugemem: .*" + hex(small) + ".* \\(size class 10, 224 bytes\\)");
  EXPECT_REPORTED(hm_realloc(large, 2 * kLarge), kInvalid + hex(large) + " passed to realloc: .*double free");
  EXPECT_REPORTED(hm_realloc(direct, 1), kInvalid + hex(direct) + " passed to realloc: ");
}

TEST(FreedPointer, UsableSize) {
  void* p = hm_malloc(24);
  hm_free(p);
  EXPECT_REPORTED(hm_usable_size(p), "hugemem: .*" + hex(p) + ".* \\(size class 1, 32 bytes\\)");
}

}  // namespace
