// Arenas on real hugetlb pages: reserves them (root only), checks the arena got them and that
// the memory works, and gives the reservation back. Without root or pages: SKIPPED, with why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "page/arena.h"

namespace {

using hm::os::Backing;
using namespace hm::page;

class Reservation {
 public:
  Reservation(std::size_t page_size, long extra) : size_(page_size) {
    before_ = hm::os::hugepage_pool(page_size).total;
    got_ = hm::os::reserve_hugepages(page_size, before_ + extra) - before_;
  }
  ~Reservation() { hm::os::reserve_hugepages(size_, before_); }
  long got() const { return got_; }

 private:
  std::size_t size_;
  long before_ = 0;
  long got_ = 0;
};

// Pages neither faulted in nor promised to a mapping: hugetlb mappings reserve their pages at
// mmap time (HugePages_Rsvd) and take them from HugePages_Free as they fault in.
long unpromised(std::size_t page_size) {
  char path[128];
  std::snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/hugepages-%zukB/resv_hugepages", page_size >> 10);
  long resv = 0;
  if (FILE* f = std::fopen(path, "r")) {
    if (std::fscanf(f, "%ld", &resv) != 1) resv = 0;
    std::fclose(f);
  }
  return hm::os::hugepage_pool(page_size).free - resv;
}

void check_arena_on(Backing kind, std::size_t page_size, long pages_needed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to reserve hugepages";
  Reservation r(page_size, pages_needed);
  if (r.got() < pages_needed)
    GTEST_SKIP() << "the kernel reserved " << r.got() << " of " << pages_needed << " "
                 << (page_size >> 20) << " MiB pages (memory too fragmented)";
  long free_before = unpromised(page_size);
  Arena* a = Arena::create(kind, -1, nullptr);
  ASSERT_NE(a, nullptr) << std::strerror(errno);
  EXPECT_EQ(a->backing(), kind);
  EXPECT_EQ(unpromised(page_size), free_before - pages_needed)
      << "the arena holds (reserved or faulted) all its hugepages";
  std::uint32_t idx = a->alloc_pages(4096, 0, nullptr);  // 16 MiB
  ASSERT_NE(idx, kNil);
  auto* p = static_cast<unsigned char*>(a->page(idx));
  std::memset(p, 0xC3, std::size_t{16} << 20);
  EXPECT_EQ(p[(std::size_t{16} << 20) - 1], 0xC3);
  a->free_pages(idx, 4096, true);
  a->destroy();
  EXPECT_EQ(unpromised(page_size), free_before) << "unmapping returns the pages";
}

TEST(Hugepages, ArenaOnOneGiBPages) { check_arena_on(Backing::Huge1G, hm::os::k1G, 1); }
TEST(Hugepages, ArenaOnTwoMiBPages) { check_arena_on(Backing::Huge2M, hm::os::k2M, 512); }

}  // namespace
