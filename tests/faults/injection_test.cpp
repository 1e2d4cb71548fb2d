// mmap / madvise failures injected at every layer (hm::os::fail_next_maps / fail_next_decommits):
// the call fails cleanly (NULL, errno ENOMEM), nothing leaks (mappings, statistics), existing
// blocks are untouched, and the same call succeeds once the injection stops.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "os/os.h"
#include "page/heap.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kArenaBlock = 128 * kMiB;  // the largest block an arena serves
constexpr std::size_t kDirect = 256 * kMiB;       // a mapping of its own
constexpr int kAll = 1 << 30;                     // fail every map() until switched off

hm_stats stats() {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

// Holds a baseline; at the end no mapping and no allocated byte may be left over.
class Injection : public ::testing::Test {
 protected:
  void SetUp() override {
    hm_free(hm_malloc(16));  // the thread's heap and the first arena exist before the baseline
    mappings_ = hm::os::live_mappings();
    allocated_ = stats().allocated;
  }
  void TearDown() override {
    hm::os::fail_next_maps(0);
    hm::os::fail_next_decommits(0);
    EXPECT_EQ(stats().allocated, allocated_) << "every byte allocated in the test was freed";
    hm_trim(0);
    EXPECT_LE(hm::os::live_mappings(), mappings_) << "a failed call left a mapping behind";
  }
  // Allocates blocks of n bytes until one fails; returns the ones that did not.
  static std::vector<void*> fill(std::size_t n, std::size_t limit) {
    std::vector<void*> got;
    errno = 0;
    while (got.size() < limit) {
      void* p = hm_malloc(n);
      if (!p) break;
      got.push_back(p);
    }
    return got;
  }
  static void free_all(std::vector<void*>& v) {
    for (void* p : v) hm_free(p);
    v.clear();
  }
  long mappings_ = 0;
  std::size_t allocated_ = 0;
};

TEST_F(Injection, LargeBlockNeedingANewArena) {
  hm::os::fail_next_maps(kAll);
  long live = hm::os::live_mappings();
  std::size_t arenas = stats().arenas;
  // The arenas there are fill up; the first block that needs a new one fails.
  std::vector<void*> blocks = fill(kArenaBlock, 64);
  ASSERT_LT(blocks.size(), 64u) << "no failure although no arena could be mapped";
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(hm::os::live_mappings(), live);
  EXPECT_EQ(stats().arenas, arenas);
  hm::os::fail_next_maps(0);
  void* p = hm_malloc(kArenaBlock);
  ASSERT_NE(p, nullptr) << "the next call succeeds once mapping works again";
  std::memset(p, 1, kMiB);
  hm_free(p);
  free_all(blocks);
}

TEST_F(Injection, NewSlabAndNewThreadHeap) {
  // Large blocks share the slabs' arenas for this test, so they can take every page a slab could.
  hm::page::Config saved = hm::page::config();
  hm::page::config().segregate = false;
  hm::os::fail_next_maps(kAll);
  long live = hm::os::live_mappings();
  std::vector<void*> big = fill(kArenaBlock, 64);
  std::vector<void*> mid = fill(256 * 1024, 1 << 16);  // 64 pages: what a 32 KiB slab needs
  std::vector<void*> objs = fill(32768, 1 << 16);
  EXPECT_LT(objs.size(), std::size_t{1} << 16) << "no failure although no slab could be made";
  EXPECT_EQ(errno, ENOMEM);
  for (void* o : objs) std::memset(o, 0x5A, 32768);  // the objects handed out are whole
  // A thread that starts now gets no heap (its metadata needs pages too) and says so cleanly.
  void* handed = objs.empty() ? nullptr : objs.back();
  std::thread([&] {
    errno = 0;
    void* p = hm_malloc(100);
    int e = errno;
    if (p) hm_free(p);  // with a page left somewhere, the thread did get memory: fine too
    else EXPECT_EQ(e, ENOMEM);
    if (handed) hm_free(handed);  // a free from a thread without a heap still works
  }).join();
  if (handed) objs.pop_back();
  EXPECT_EQ(hm::os::live_mappings(), live);
  free_all(objs);
  free_all(mid);
  free_all(big);
  hm::os::fail_next_maps(0);
  hm::page::config() = saved;
  void* p = hm_malloc(32768);
  EXPECT_NE(p, nullptr);
  hm_free(p);
}

TEST_F(Injection, DirectMapping) {
  long live = hm::os::live_mappings();
  hm::os::fail_next_maps(kAll);
  errno = 0;
  EXPECT_EQ(hm_malloc(kDirect), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(hm::os::live_mappings(), live);
  hm::os::fail_next_maps(0);
  void* p = hm_malloc(kDirect);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(hm::os::live_mappings(), live + 1);
  hm_free(p);
  EXPECT_EQ(hm::os::live_mappings(), live);
}

TEST_F(Injection, OneFailedMapFallsBackToTheNextBacking) {
  hm::os::fail_next_maps(1);  // the preferred backing fails; a smaller one still works
  void* p = hm_malloc(kDirect);
  EXPECT_NE(p, nullptr);
  hm_free(p);
}

TEST_F(Injection, Calloc) {
  hm::os::fail_next_maps(kAll);
  errno = 0;
  EXPECT_EQ(hm_calloc(1, kDirect), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  std::vector<void*> blocks;
  for (void* p; blocks.size() < 64 && (p = hm_calloc(kArenaBlock / 8, 8)) != nullptr;) blocks.push_back(p);
  EXPECT_LT(blocks.size(), 64u);
  EXPECT_EQ(errno, ENOMEM);
  hm::os::fail_next_maps(0);
  auto* p = static_cast<unsigned char*>(hm_calloc(kDirect / 16, 16));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[0] | p[kDirect / 2] | p[kDirect - 1], 0);
  hm_free(p);
  free_all(blocks);
}

TEST_F(Injection, ReallocGrowthKeepsTheOldBlock) {
  auto* small = static_cast<char*>(hm_malloc(100));
  auto* large = static_cast<char*>(hm_malloc(kMiB));
  std::memset(small, 's', 100);
  std::memset(large, 'l', kMiB);
  hm::os::fail_next_maps(kAll);
  errno = 0;
  EXPECT_EQ(hm_realloc(small, kDirect), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(hm_realloc(large, kDirect), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_TRUE(hm_owns(small) && hm_owns(large)) << "a failed realloc leaves the block allocated";
  EXPECT_EQ(small[99], 's');
  EXPECT_EQ(large[kMiB - 1], 'l');
  hm::os::fail_next_maps(0);
  small = static_cast<char*>(hm_realloc(small, kDirect));
  large = static_cast<char*>(hm_realloc(large, kDirect));
  ASSERT_TRUE(small && large);
  EXPECT_EQ(small[0], 's');
  EXPECT_EQ(small[99], 's');
  EXPECT_EQ(large[kMiB - 1], 'l');
  hm_free(small);
  hm_free(large);
}

TEST_F(Injection, AlignedAllocations) {
  hm::os::fail_next_maps(kAll);
  errno = 0;
  EXPECT_EQ(hm_aligned_alloc(256 * kMiB, 4096), nullptr);  // alignment beyond an arena block
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(hm_memalign(2 * kMiB, kDirect), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* out = nullptr;
  errno = EINTR;
  EXPECT_EQ(hm_posix_memalign(&out, 4096, kDirect), ENOMEM);
  EXPECT_EQ(errno, EINTR) << "posix_memalign reports through its result, not errno";
  EXPECT_EQ(out, nullptr);
  hm::os::fail_next_maps(0);
  void* a = hm_aligned_alloc(256 * kMiB, 4096);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % (256 * kMiB), 0u);
  ASSERT_EQ(hm_posix_memalign(&out, 4096, kDirect), 0);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(out) % 4096, 0u);
  hm_free(a);
  hm_free(out);
}

TEST_F(Injection, FailedDecommitsKeepMemoryAccountedUntilTrim) {
  // The first free of a block larger than any freed before is quarantined (api/secure.h, glibc's
  // threshold): one of 4 MiB first, so that the 4 MiB blocks below go back to the page heap.
  hm_free(hm_malloc(4 * kMiB));
  hm::os::fail_next_decommits(kAll);
  std::size_t released = stats().released;
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) blocks.push_back(hm_malloc(4 * kMiB));  // 256 MiB, above `high`
  for (void* p : blocks) ASSERT_NE(p, nullptr);
  free_all(blocks);
  hm_stats s = stats();
  EXPECT_EQ(s.released, released) << "nothing could be given back";
  EXPECT_GE(s.resident_free, 256 * kMiB) << "what could not be given back is still counted as resident";
  void* p = hm_malloc(4 * kMiB);  // the heap still works
  ASSERT_NE(p, nullptr);
  hm_free(p);
  hm::os::fail_next_decommits(0);
  EXPECT_EQ(hm_trim(0), 1);
  s = stats();
  EXPECT_GE(s.released, released + 256 * kMiB);
  EXPECT_LT(s.resident_free, 256 * kMiB);
}

}  // namespace
