// Pools on real hugetlb pages, reserved for the test and given back after, with IOVA-as-PA
// checked against /proc/self/pagemap (read here, not through the os layer the pool uses) and
// the backing against smaps. Needs root (to reserve pages and read PFNs); skips with the reason
// when the machine cannot give the pages. Runs under ctest's "hugepages" lock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hugemem/pktpool/mbuf.h"
#include "os/os.h"  // the test reads the page layer (lib/ is a private include path here)
#include "pool_helpers.h"
#include "proc_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::Backing;

// Raises the kernel's pool of `page`-sized hugepages by n for its lifetime and takes back what
// it added. `got` is what the kernel actually added (short, even 0, when physical memory is
// fragmented). Other programs on the machine may reserve pages too: both steps are relative to
// the count of the moment, never a restore of an old absolute value.
class Reservation {
 public:
  Reservation(std::size_t page, long n) : page_(page) {
    long before = hm::os::hugepage_pool(page).total;
    long now = hm::os::reserve_hugepages(page, before + n);
    got_ = now < before ? 0 : now - before;
  }
  ~Reservation() {
    if (got_) hm::os::reserve_hugepages(page_, hm::os::hugepage_pool(page_).total - got_);
  }
  long got() const { return got_; }
  long free() const { return hm::os::hugepage_pool(page_).free; }

 private:
  std::size_t page_;
  long got_ = 0;
};

Config pa_config(std::uint32_t count, Backing best) {
  Config cfg = test::mbuf_config(count);
  cfg.name = "pktpool-test-pa";
  cfg.best = best;
  cfg.iova = IovaMode::PA;
  return cfg;
}

TEST(PktHugepage, PaModeNeedsHugetlbPages) {
  errno = 0;
  EXPECT_FALSE(Pool::create(pa_config(16, Backing::THP)));
  EXPECT_EQ(errno, ENOTSUP);
}

// The reservation is checked too: the pool takes its page from the pool of free 1 GiB pages and
// gives it back when destroyed, and the test gives the kernel back the page it reserved.
TEST(PktHugepage, PoolOnAOneGigPageHasPhysicalIovas) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to reserve a 1 GiB page and read PFNs";
  long total_before = hm::os::hugepage_pool(hm::os::k1G).total;
  {
    Reservation r(hm::os::k1G, 1);
    if (r.got() < 1 || r.free() < 1)
      GTEST_SKIP() << "the kernel could not reserve a 1 GiB page (got " << r.got() << ")";
    long live = hm::os::live_mappings();
    long free_before = r.free();
    {
      auto p = Pool::create(pa_config(100000, Backing::Huge1G));
      ASSERT_TRUE(p) << std::strerror(errno);
      EXPECT_EQ(p->backing(), Backing::Huge1G);
      EXPECT_EQ(r.free(), free_before - 1) << "the pool holds one 1 GiB page";
      ASSERT_EQ(p->chunks().size(), 1u);
      const MemChunk& c = p->chunks()[0];
      test::Vma v = test::vma_of(c.va);
      EXPECT_TRUE(v.hugetlb);
      EXPECT_EQ(v.kernel_page, hm::os::k1G) << "smaps: the mapping is on 1 GiB pages";
      EXPECT_EQ(c.len, hm::os::k1G);
      EXPECT_EQ(c.iova, test::pagemap_pa(c.va));
      EXPECT_EQ(c.iova % hm::os::k1G, 0u) << "a 1 GiB page is 1 GiB aligned in physical memory too";
      for (std::size_t i = 0; i < p->count(); i += 997) {
        auto* m = static_cast<Mbuf*>(p->element(i));
        ASSERT_EQ(m->buf_iova, test::pagemap_pa(m->buf_addr)) << "element " << i;
        char* last = static_cast<char*>(m->buf_addr) + m->buf_len - 1;
        ASSERT_EQ(p->iova_of(last), test::pagemap_pa(last)) << "element " << i;
      }
      Mbuf* m = Mbuf::alloc(*p);
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(m->data_iova(), test::pagemap_pa(m->mtod()));
      Mbuf::free(m);
    }
    EXPECT_EQ(r.free(), free_before) << "the destroyed pool gave its page back";
    {
      Config va = pa_config(1000, Backing::Huge1G);
      va.iova = IovaMode::VA;
      auto p = Pool::create(va);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->backing(), Backing::Huge1G);
      EXPECT_EQ(test::vma_of(p->element(0)).kernel_page, hm::os::k1G);
      EXPECT_EQ(p->chunks()[0].iova, reinterpret_cast<std::uintptr_t>(p->chunks()[0].va));
    }
    EXPECT_EQ(hm::os::live_mappings(), live) << "the pools unmapped their pages";
  }
  EXPECT_EQ(hm::os::hugepage_pool(hm::os::k1G).total, total_before) << "the reserved page went back to the kernel";
}

// With no 1 GiB page free, a pool that asks for one gets 2 MiB pages and says so.
TEST(PktHugepage, FallsBackToTwoMegPagesAndSaysSo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to reserve 2 MiB pages";
  if (hm::os::hugepage_pool(hm::os::k1G).free > 0)
    GTEST_SKIP() << "another program holds free 1 GiB pages: the pool would take one";
  Reservation r(hm::os::k2M, 2);
  if (r.got() < 2 || r.free() < 2)
    GTEST_SKIP() << "the kernel could not reserve two 2 MiB pages (got " << r.got() << ")";
  Config cfg = test::raw_config(1000, 2048, 0);  // 2000 KiB: one 2 MiB page
  cfg.best = Backing::Huge1G;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p) << std::strerror(errno);
  EXPECT_EQ(p->backing(), Backing::Huge2M);
  test::Vma v = test::vma_of(p->element(0));
  EXPECT_TRUE(v.hugetlb);
  EXPECT_EQ(v.kernel_page, hm::os::k2M) << "smaps: the mapping is on 2 MiB pages";
}

TEST(PktHugepage, TwoMegPagesAreOneChunkEachAndNoElementStraddlesTwo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to reserve 2 MiB pages and read PFNs";
  Reservation r(hm::os::k2M, 4);
  if (r.got() < 4 || r.free() < 4)
    GTEST_SKIP() << "the kernel could not reserve four 2 MiB pages (got " << r.got() << ")";
  auto p = Pool::create(pa_config(3000, Backing::Huge2M));  // 885 mbufs of 37 lines a page: 4 pages
  ASSERT_TRUE(p) << std::strerror(errno);
  EXPECT_EQ(p->backing(), Backing::Huge2M);
  EXPECT_EQ(test::vma_of(p->element(0)).kernel_page, hm::os::k2M) << "smaps: the mapping is on 2 MiB pages";
  ASSERT_EQ(p->chunks().size(), 4u);
  for (const MemChunk& c : p->chunks()) {
    EXPECT_EQ(c.len, hm::os::k2M);
    EXPECT_EQ(c.iova, test::pagemap_pa(c.va));
  }
  auto chunk_of = [&](const void* a) {
    return static_cast<std::size_t>(static_cast<const char*>(a) - static_cast<const char*>(p->chunks()[0].va)) /
           hm::os::k2M;
  };
  p->for_each([&](void* e, std::size_t i) {
    auto* m = static_cast<Mbuf*>(e);
    char* last = static_cast<char*>(m->buf_addr) + m->buf_len - 1;
    ASSERT_EQ(chunk_of(e), chunk_of(last)) << "element " << i << " straddles two pages";
    ASSERT_EQ(m->buf_iova, test::pagemap_pa(m->buf_addr)) << "element " << i;
    ASSERT_EQ(p->iova_of(last), test::pagemap_pa(last)) << "element " << i;
  });
  // A VFIO remap of one chunk moves exactly that chunk's mbufs.
  p->set_iova(2, 0x40000000);
  const std::size_t per = hm::os::k2M / p->elt_size();
  auto* m = static_cast<Mbuf*>(p->element(2 * per + 5));
  EXPECT_EQ(m->buf_iova, 0x40000000u + (static_cast<char*>(m->buf_addr) - static_cast<char*>(p->chunks()[2].va)));
  auto* before = static_cast<Mbuf*>(p->element(2 * per - 1));
  EXPECT_EQ(before->buf_iova, test::pagemap_pa(before->buf_addr));
}

}  // namespace
