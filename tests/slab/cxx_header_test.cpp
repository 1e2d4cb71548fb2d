// The C++ header: containers on hm::allocator use hugemem memory and give it back.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "hugemem/hugemem.hpp"

namespace {

TEST(CxxHeader, ContainersAllocateFromHugememAndGiveItBack) {
  std::size_t before = hm::stats().allocated;
  {
    std::vector<int, hm::allocator<int>> v;
    for (int i = 0; i < 100000; ++i) v.push_back(i);
    EXPECT_TRUE(hm_owns(v.data()));
    std::map<int, int, std::less<int>, hm::allocator<std::pair<const int, int>>> m;
    for (int i = 0; i < 1000; ++i) m[i] = i;
    EXPECT_GT(hm::stats().allocated, before + 400000);
  }
  EXPECT_EQ(hm::stats().allocated, before);
  auto buf = hm::make_buffer<char>(1 << 20);
  ASSERT_TRUE(buf);
  EXPECT_GE(hm_usable_size(buf.get()), std::size_t{1} << 20);
}

}  // namespace
