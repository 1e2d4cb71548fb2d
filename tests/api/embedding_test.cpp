// libhugemem.a beside glibc: the hm_* functions own their memory, the C library's malloc is
// untouched, and the statistics follow what the program holds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "family.h"
#include "hugemem/hugemem.h"

namespace {

TEST(Embedding, HmBlocksAreHugememsAndMallocIsStillGlibcs) {
  for (std::size_t n : {1ul, 100ul, 5000ul, 100 * KiB, kDirect + 1}) {
    void* h = hm_malloc(n);
    void* g = std::malloc(n);
    EXPECT_TRUE(hm_owns(h)) << n;
    EXPECT_FALSE(hm_owns(g)) << n << " B from glibc's malloc";
    std::free(g);
    hm_free(h);
    if (n <= kSmallMax) {
      EXPECT_FALSE(hm_owns(h)) << "freed";
    }
  }
}

TEST(Embedding, AllocatedFollowsLiveBlocks) {
  hm_stats before, during, after;
  hm_get_stats(&before);
  std::vector<void*> ps;
  std::size_t usable = 0;
  for (std::size_t n : {10ul, 1000ul, 20 * KiB, 200 * KiB, kDirect + 1}) {
    ps.push_back(hm_malloc(n));
    usable += hm_usable_size(ps.back());
  }
  hm_get_stats(&during);
  EXPECT_EQ(during.allocated - before.allocated, usable);
  EXPECT_GE(during.mapped, kDirect + 1);
  for (void* p : ps) hm_free(p);
  hm_get_stats(&after);
  EXPECT_EQ(after.allocated, before.allocated);
}

}  // namespace
