// Where a pool's memory is: the backing it reports is the one the kernel shows in smaps, and its
// pages are on the NUMA node it was asked for. (Hugetlb backings: hugepage_test.cpp.)
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "hugemem/pktpool/pktpool.h"
#include "os/os.h"  // the test reads the page layer (lib/ is a private include path here)
#include "pool_helpers.h"
#include "proc_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::Backing;

TEST(PktPlacement, ReportedBackingIsWhatTheKernelShows) {
  for (Backing best : {Backing::THP, Backing::Small}) {
    Config cfg = test::raw_config(10000, 256, 0);
    cfg.best = best;
    auto p = Pool::create(cfg);
    ASSERT_TRUE(p);
    test::Vma v = test::vma_of(p->element(0));
    ASSERT_TRUE(v.found) << "no smaps entry for the pool";
    EXPECT_FALSE(v.hugetlb);
    EXPECT_EQ(v.kernel_page, 4096u);
    EXPECT_EQ(p->backing(), best);
    EXPECT_EQ(v.thp_advised, best == Backing::THP) << "THP backing means an MADV_HUGEPAGE mapping";
  }
}

TEST(PktPlacement, RejectsANodeTheMachineLacks) {
  Config cfg = test::raw_config(100, 64, 0);
  cfg.node = hm::os::machine().numa_nodes;
  errno = 0;
  EXPECT_FALSE(Pool::create(cfg));
  EXPECT_EQ(errno, EINVAL);
  cfg.node = -2;
  errno = 0;
  EXPECT_FALSE(Pool::create(cfg));
  EXPECT_EQ(errno, EINVAL);
}

// On a one-node machine only node 0 is checked; the two-node qemu guest (tests/vm) checks both.
TEST(PktPlacement, PagesAreOnTheChosenNode) {
  for (int node = 0; node < hm::os::machine().numa_nodes; ++node) {
    Config cfg = test::raw_config(4096, 1024, 0);  // 4 MiB
    cfg.node = node;
    auto p = Pool::create(cfg);
    ASSERT_TRUE(p) << std::strerror(errno);
    EXPECT_EQ(p->node(), node);
    int off_node = 0, pages = 0;
    p->for_each([&](void* e, std::size_t i) {
      std::memset(e, 1, p->elt_size());  // fault it in, as its first user would
      if (i % 4 == 0) {                  // one element per 4 KiB page
        ++pages;
        off_node += test::node_of(e) != node;
      }
    });
    EXPECT_EQ(off_node, 0) << off_node << " of " << pages << " pages not on node " << node;
  }
}

}  // namespace
