#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "os/env.h"
#include "os/os.h"

namespace {

using hm::os::Backing;

TEST(Os, MapIsAlignedZeroedAndWritable) {
  constexpr std::size_t kAlign = std::size_t{1} << 26;
  auto m = hm::os::map(hm::os::k2M * 4, kAlign, Backing::Small, "hugemem-test");
  ASSERT_TRUE(m) << std::strerror(errno);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.addr) % kAlign, 0u);
  auto* p = static_cast<unsigned char*>(m.addr);
  for (std::size_t i = 0; i < m.size; i += 4096) ASSERT_EQ(p[i], 0);
  std::memset(p, 0xAB, m.size);
  ASSERT_TRUE(hm::os::decommit(p, m.size));
  EXPECT_EQ(p[12345], 0) << "decommitted memory must read back as zeros";
  EXPECT_TRUE(hm::os::unmap(m.addr, m.size));
}

TEST(Os, RejectsBadArguments) {
  errno = 0;
  EXPECT_FALSE(hm::os::map(4096, 3 * 4096, Backing::Small, nullptr));
  EXPECT_EQ(errno, EINVAL);
  EXPECT_FALSE(hm::os::map(4096, 4096, Backing::Huge2M, nullptr)) << "size not a multiple of 2 MiB";
}

TEST(Os, FaultInjectionFailsExactlyTheNextNMaps) {
  long live = hm::os::live_mappings();
  hm::os::fail_next_maps(2);
  for (int i = 0; i < 2; ++i) {
    errno = 0;
    EXPECT_FALSE(hm::os::map(4096, 4096, Backing::Small, nullptr));
    EXPECT_EQ(errno, ENOMEM);
  }
  auto m = hm::os::map(4096, 4096, Backing::Small, nullptr);
  ASSERT_TRUE(m);
  EXPECT_EQ(hm::os::live_mappings(), live + 1);
  hm::os::unmap(m.addr, m.size);
  EXPECT_EQ(hm::os::live_mappings(), live);
}

TEST(Os, ProbeReadsTheMachine) {
  const auto& m = hm::os::machine();
  EXPECT_GE(m.numa_nodes, 1);
  EXPECT_GE(m.cpus, 1);
  EXPECT_GE(m.huge2m.total, m.huge2m.free);
  int node = hm::os::current_node();
  EXPECT_TRUE(node >= 0 && node < m.numa_nodes);
  std::printf("THP %s, nodes %d, cpus %d, 2M pool %ld/%ld, 1G pool %ld/%ld\n", hm::os::thp_mode_name(m.thp),
              m.numa_nodes, m.cpus, m.huge2m.free, m.huge2m.total, m.huge1g.free, m.huge1g.total);
}

TEST(Os, EnvironmentOptionsParseWithoutAllocating) {
  ::setenv("HUGEMEM_TEST_SIZE", "64m", 1);
  ::setenv("HUGEMEM_TEST_FLAG", "0", 1);
  EXPECT_EQ(hm::os::env_size("HUGEMEM_TEST_SIZE", 1), std::size_t{64} << 20);
  EXPECT_EQ(hm::os::env_size("HUGEMEM_TEST_UNSET", 7), 7u);
  EXPECT_FALSE(hm::os::env_flag("HUGEMEM_TEST_FLAG", true));
  ::setenv("HUGEMEM_TEST_SIZE", "12x", 1);
  EXPECT_EQ(hm::os::env_size("HUGEMEM_TEST_SIZE", 5), 5u) << "malformed values fall back";
}

TEST(Os, MessageFormatsNumbers) {
  hm::os::Message m;
  m << "n=" << -42 << " u=" << 7u << ' ';
  m.hex(0xdeadbeef);
  EXPECT_STREQ(m.c_str(), "n=-42 u=7 0xdeadbeef");
}

}  // namespace
