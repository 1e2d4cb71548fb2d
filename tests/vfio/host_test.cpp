// What the vfio layer says on a machine without VFIO (the build machines): every failure is an
// hm::vfio::Error whose message says what to do.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "hugemem/vfio/vfio.h"

using hm::vfio::Error;

namespace {
std::string message_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(VfioHost, MissingContainerPointsAtScriptsVm) {
  std::string m = message_of([] { hm::vfio::Container c("/nonexistent/dev/vfio/vfio"); });
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
  EXPECT_NE(m.find("scripts/vm"), std::string::npos) << m;
  EXPECT_NE(m.find("modprobe vfio-pci"), std::string::npos) << m;
}

TEST(VfioHost, NotAVfioContainer) {
  // /dev/null opens but answers no VFIO ioctl.
  std::string m = message_of([] { hm::vfio::Container c("/dev/null"); });
  EXPECT_NE(m.find("API version"), std::string::npos) << m;
}

TEST(VfioHost, UnknownPciAddress) {
  std::string m = message_of([] { hm::vfio::Group::number_of("0000:ff:1f.7"); });
  EXPECT_NE(m.find("no PCI device 0000:ff:1f.7"), std::string::npos) << m;
  EXPECT_NE(m.find("lspci -D"), std::string::npos) << m;
}

TEST(VfioHost, DevicesOnThisMachineGetAClearDiagnosis) {
  // Any PCI device here: without an IOMMU it has no group; with one it is bound to its driver.
  auto all = hm::vfio::find_pci(0, 0);  // nothing matches vendor 0
  EXPECT_TRUE(all.empty());
  if (::access("/sys/bus/pci/devices", F_OK) != 0) GTEST_SKIP() << "no /sys/bus/pci on this machine";
  std::string bdf;
  for (const char* cand : {"0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:04.0"})
    if (::access((std::string("/sys/bus/pci/devices/") + cand).c_str(), F_OK) == 0) bdf = cand;
  if (bdf.empty()) GTEST_SKIP() << "no PCI device at 0000:00:0[0-4].0 to ask about";
  std::string m = message_of([&] { hm::vfio::Group::number_of(bdf); });
  bool no_group = m.find("has no IOMMU group") != std::string::npos && m.find("scripts/vm") != std::string::npos;
  bool bound = m.find("bound to its kernel driver") != std::string::npos && m.find("driver_override") != std::string::npos;
  bool unbound = m.find("bound to no driver") != std::string::npos;
  bool ok = m == "(no error)";  // already bound to vfio-pci: nothing to diagnose
  EXPECT_TRUE(no_group || bound || unbound || ok) << m;
}

TEST(VfioHost, MissingGroupFile) {
  // Group numbers far beyond any machine's: the file does not exist.
  if (::access("/dev/vfio/vfio", F_OK) != 0) {
    std::string m = message_of([] { hm::vfio::Container c; });
    EXPECT_NE(m.find("scripts/vm"), std::string::npos) << m;
    GTEST_SKIP() << "no /dev/vfio here (checked the message instead)";
  }
  hm::vfio::Container c;
  std::string m = message_of([&] { hm::vfio::Group g(c, 999999); });
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
  EXPECT_NE(m.find("vfio-pci"), std::string::npos) << m;
}

TEST(VfioHost, BarIsRaiiAndMovable) {
  hm::vfio::Bar b;
  EXPECT_FALSE(b);
  hm::vfio::Bar c = std::move(b);
  EXPECT_FALSE(c);
}
