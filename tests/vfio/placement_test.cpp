// The pool on its NIC's NUMA node (issue 12), on the host: place_on_device against a fake sysfs,
// page_node on this machine. The two-node guest (tests/vm, vm.devbind) checks real placement.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "hugemem/vfio/nic.h"

namespace {

namespace v = hm::vfio;

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hm-placement-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    device("0000:00:02.0", "0");
    device("0000:00:03.0", "-1");
    device("0000:00:04.0", "7");  // a node this machine (one node, or a few) does not have
    device("0000:00:05.0", "garbage");
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void device(const std::string& bdf, const std::string& node) {
    ASSERT_EQ(::mkdir((dir_ + "/" + bdf).c_str(), 0755), 0);
    std::ofstream(dir_ + "/" + bdf + "/numa_node") << node << "\n";
  }
  std::string dir_;
};

TEST_F(FakeSysfs, PciNumaNodeReadsSysfs) {
  EXPECT_EQ(v::pci_numa_node("0000:00:02.0", dir_), 0);
  EXPECT_EQ(v::pci_numa_node("0000:00:03.0", dir_), -1);
  EXPECT_EQ(v::pci_numa_node("0000:00:04.0", dir_), 7);
  EXPECT_EQ(v::pci_numa_node("0000:00:05.0", dir_), -1) << "unreadable: no node";
  EXPECT_EQ(v::pci_numa_node("0000:00:09.0", dir_), -1) << "no such device";
}

TEST_F(FakeSysfs, PlaceOnDeviceTakesTheNicsNodeUnlessTheCallerChoseOne) {
  hm::pkt::Config c;
  v::Placement p = v::place_on_device(c, "0000:00:02.0", dir_);
  EXPECT_EQ(p.node, 0);
  EXPECT_EQ(c.node, 0);
  EXPECT_EQ(p.why, "node 0: the NIC's node (sysfs numa_node of 0000:00:02.0)");

  hm::pkt::Config none;
  p = v::place_on_device(none, "0000:00:03.0", dir_);
  EXPECT_EQ(p.node, -1);
  EXPECT_EQ(none.node, -1);
  EXPECT_NE(p.why.find("reports none"), std::string::npos) << p.why;

  hm::pkt::Config far;
  p = v::place_on_device(far, "0000:00:04.0", dir_);
  EXPECT_EQ(p.node, -1) << "a node the machine lacks is not bound (Pool::create would refuse it)";
  EXPECT_EQ(far.node, -1);
  EXPECT_NE(p.why.find("says node 7, which this machine"), std::string::npos) << p.why;

  hm::pkt::Config chosen;
  chosen.node = 0;
  p = v::place_on_device(chosen, "0000:00:03.0", dir_);
  EXPECT_EQ(p.node, 0);
  EXPECT_EQ(p.why, "node 0: chosen by the caller");

  hm::pkt::Config missing;
  p = v::place_on_device(missing, "0000:00:09.0", dir_);
  EXPECT_EQ(missing.node, -1);
}

TEST(Placement, PageNodeSaysWhereAPageIsAndMinusOneBeforeItIsFaultedIn) {
  long page = ::sysconf(_SC_PAGESIZE);
  void* m = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* c = static_cast<char*>(m);
  c[0] = 1;
  EXPECT_GE(v::page_node(c), 0) << "a faulted-in page is on some node";
  EXPECT_EQ(v::page_node(c + page), -1) << "not faulted in";
  ::munmap(m, 2 * page);
}

}  // namespace
