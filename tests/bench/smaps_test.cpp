// The smaps reader the TLB workload uses to say how much of its heap is in huge pages.
#include "smaps.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace {

const char* kSample =
    "55d4a0000000-55d4a0021000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "Rss:                  12 kB\n"
    "AnonHugePages:         0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "7f0000000000-7f0040000000 rw-p 00000000 00:00 0                          [anon:hugemem]\n"
    "Size:            1048576 kB\n"
    "Rss:               10240 kB\n"
    "AnonHugePages:      8192 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "7f0040000000-7f0080000000 rw-p 00000000 00:0f 123                        /anon_hugepage (deleted)\n"
    "Rss:                   0 kB\n"
    "AnonHugePages:         0 kB\n"
    "Shared_Hugetlb:     2048 kB\n"
    "Private_Hugetlb:    4096 kB\n"
    "VmFlags: rd wr mr mw me ac ht\n";

TEST(SmapsTest, ParsesEveryMappingAndItsCounters) {
  std::istringstream in(kSample);
  const auto v = wl::parse_smaps(in);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].start, 0x55d4a0000000u);
  EXPECT_EQ(v[0].end, 0x55d4a0021000u);
  EXPECT_EQ(v[0].rss_kib, 12u);
  EXPECT_EQ(v[1].rss_kib, 10240u);
  EXPECT_EQ(v[1].anon_huge_kib, 8192u);
  EXPECT_EQ(v[2].hugetlb_kib, 6144u);  // shared and private hugetlb both count
}

TEST(SmapsTest, HugeShareCountsOnlyMappingsHoldingAnObject) {
  std::istringstream in(kSample);
  const auto v = wl::parse_smaps(in);
  // Objects in the THP mapping only: 8 of its 10 MiB are huge.
  auto s = wl::huge_share(v, {0x7f0000001000, 0x7f0000200000});
  EXPECT_EQ(s.huge_kib, 8192u);
  EXPECT_EQ(s.total_kib, 10240u);
  EXPECT_DOUBLE_EQ(s.percent(), 80.0);
  // Add one in the hugetlb mapping, whose pages smaps keeps outside Rss.
  s = wl::huge_share(v, {0x7f0000001000, 0x7f0040000000});
  EXPECT_EQ(s.huge_kib, 8192u + 6144u);
  EXPECT_EQ(s.total_kib, 10240u + 6144u);
  // An address in no mapping, or past the end of one, counts nothing.
  s = wl::huge_share(v, {0x55d4a0021000, 0x7f0080000000});
  EXPECT_EQ(s.total_kib, 0u);
  EXPECT_EQ(s.percent(), 0.0);
}

TEST(SmapsTest, ReadsThisProcessesResidentMemory) {
  constexpr std::size_t kSize = 8 << 20;
  void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, kSize);
  std::ifstream f("/proc/self/smaps");
  const auto s = wl::huge_share(wl::parse_smaps(f), {reinterpret_cast<std::uintptr_t>(p)});
  EXPECT_GE(s.total_kib, kSize / 1024);
  EXPECT_LE(s.huge_kib, s.total_kib);
  munmap(p, kSize);
}

}  // namespace
