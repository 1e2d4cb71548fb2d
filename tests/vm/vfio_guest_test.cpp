// VFIO on a real (emulated) IOMMU: runs inside the qemu guest that tests/vm boots, where two e1000
// NICs (8086:100e) are bound to vfio-pci and 1 GiB hugepages are reserved.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>

#include "hugemem/vfio/vfio.h"
#include "page/region.h"

namespace v = hm::vfio;

namespace {
std::vector<std::string> nics() { return v::find_pci(0x8086, 0x100e); }

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const v::Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(VfioGuest, TwoE1000BoundToVfioPci) {
  auto n = nics();
  ASSERT_EQ(n.size(), 2u);
  for (auto& bdf : n) EXPECT_GE(v::Group::number_of(bdf), 0) << bdf;
}

TEST(VfioGuest, DeviceConfigAndBar0) {
  v::Container c;
  auto d = v::open_device(c, nics().at(0));
  EXPECT_TRUE(c.iommu_set());
  EXPECT_EQ(d.device->vendor(), 0x8086);
  EXPECT_EQ(d.device->device_id(), 0x100e);
  v::RegionInfo r = d.device->region(0);
  EXPECT_EQ(r.size, 128u * 1024);
  EXPECT_TRUE(r.mmappable());
  d.device->enable_bus_master();
  EXPECT_TRUE(d.device->config_read16(0x04) & 0x4);
  v::Bar bar = d.device->map_bar(0);
  ASSERT_TRUE(bar);
  std::uint32_t status = bar.read32(0x0008);
  EXPECT_TRUE(status & 0x2) << "STATUS.LU " << std::hex << status;
}

TEST(VfioGuest, BothNicsShareOneContainer) {
  v::Container c;
  auto a = v::open_device(c, nics().at(0));
  auto b = v::open_device(c, nics().at(1));
  EXPECT_NE(a.group->number(), b.group->number());
}

TEST(VfioGuest, Maps1GiBHugepageAtAnAlignedIova) {
  auto r = hm::page::Region::create(std::size_t{1} << 30, hm::os::Backing::Huge1G, -1, "vfio-test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.backing(), hm::os::Backing::Huge1G) << "the guest boots with hugepagesz=1G hugepages=2";
  v::Container c;
  auto d = v::open_device(c, nics().at(0));
  std::uint64_t iova = c.map(r.base(), r.size());
  EXPECT_EQ(iova % (1ull << 30), 0u);
  EXPECT_GE(iova, v::kDefaultIovaBase);
  EXPECT_LT(iova + r.size(), 1ull << 39);
  EXPECT_EQ(c.mappings(), 1u);
  c.unmap(iova);
  EXPECT_EQ(c.mappings(), 0u);
  EXPECT_EQ(c.iovas().live(), 0u);
}

TEST(VfioGuest, ErrorsSayWhatToDo) {
  v::Container c;
  // DMA before a group joined: the container has no IOMMU yet.
  static char page[4096] __attribute__((aligned(4096)));
  std::string m = message_of([&] { c.map(page, sizeof page); });
  EXPECT_NE(m.find("attach a Group first"), std::string::npos) << m;

  auto d = v::open_device(c, nics().at(0));
  // The same group twice: busy.
  m = message_of([&] { v::Group g(c, d.group->number()); });
  EXPECT_NE(m.find("busy"), std::string::npos) << m;
  // Unmapping what was never mapped; a partial unmap.
  m = message_of([&] { c.unmap(0x123000); });
  EXPECT_NE(m.find("never mapped"), std::string::npos) << m;
  std::uint64_t iova = c.map(page, sizeof page);
  m = message_of([&] { c.unmap_at(iova, 2 * sizeof page); });
  EXPECT_NE(m.find("partial"), std::string::npos) << m;
  // An IOVA beyond the IOMMU's 39-bit address width.
  m = message_of([&] { c.map_at(page, sizeof page, 1ull << 45); });
  EXPECT_NE(m.find("VFIO_IOMMU_MAP_DMA"), std::string::npos) << m;
  c.unmap(iova);
}

TEST(VfioGuest, DeviceBoundToKernelDriverIsDiagnosed) {
  // Unbind the second NIC from vfio-pci: its group file disappears and the message says how to bind.
  std::string bdf = nics().at(1);
  std::string dev = "/sys/bus/pci/devices/" + bdf;
  FILE* f = std::fopen((dev + "/driver/unbind").c_str(), "w");
  ASSERT_TRUE(f);
  std::fputs(bdf.c_str(), f);
  std::fclose(f);
  std::string m = message_of([&] { v::Group::number_of(bdf); });
  EXPECT_NE(m.find("bound to no driver"), std::string::npos) << m;
  EXPECT_NE(m.find("drivers_probe"), std::string::npos) << m;
  // Bind it again for the programs that follow.
  f = std::fopen("/sys/bus/pci/drivers_probe", "w");
  ASSERT_TRUE(f);
  std::fputs(bdf.c_str(), f);
  std::fclose(f);
  EXPECT_GE(v::Group::number_of(bdf), 0);
}
