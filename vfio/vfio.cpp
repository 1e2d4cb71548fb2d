// The VFIO ioctls (linux/vfio.h). vfio/ is its own layer: it talks to /dev/vfio directly; memory
// itself comes from the page layer (lib/page) through lib/os.
#include "hugemem/vfio/vfio.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hm::vfio {
namespace {

std::string errstr(int e) { return std::string(std::strerror(e)) + " (errno " + std::to_string(e) + ")"; }

[[noreturn]] void fail(const std::string& what) { throw Error("vfio: " + what); }

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::string link_name(const std::string& path) {
  char buf[512];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  buf[n] = 0;
  std::string s(buf);
  return s.substr(s.rfind('/') + 1);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string bind_howto(const std::string& bdf) {
  return "bind it to vfio-pci (as root): modprobe vfio-pci; echo vfio-pci > /sys/bus/pci/devices/" + bdf +
         "/driver_override; echo " + bdf + " > /sys/bus/pci/devices/" + bdf +
         "/driver/unbind (if bound); echo " + bdf + " > /sys/bus/pci/drivers_probe";
}

constexpr const char* kNoVfioHint =
    "this machine has no usable VFIO (no IOMMU, or the vfio-pci module is not loaded: modprobe vfio-pci "
    "as root with the IOMMU on, e.g. intel_iommu=on). Without such hardware, run scripts/vm: it boots a "
    "qemu guest with an emulated IOMMU and e1000 NICs bound to vfio-pci and runs the VFIO tests there";

}  // namespace

// ---- Bar -------------------------------------------------------------------------------------

Bar& Bar::operator=(Bar&& o) noexcept {
  if (this != &o) {
    this->~Bar();
    base_ = o.base_;
    size_ = o.size_;
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

Bar::~Bar() {
  if (base_) ::munmap(const_cast<std::uint8_t*>(base_), size_);
  base_ = nullptr;
}

bool RegionInfo::mmappable() const { return flags & VFIO_REGION_INFO_FLAG_MMAP; }

// ---- Container -------------------------------------------------------------------------------

Container::Container(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    if (e == ENOENT) fail(path + " does not exist: " + kNoVfioHint);
    if (e == EACCES || e == EPERM)
      fail("no permission to open " + path + " (" + errstr(e) +
           "): run as root, or give this user access to /dev/vfio/vfio and the group files");
    fail("cannot open " + path + ": " + errstr(e));
  }
  int v = ::ioctl(fd_, VFIO_GET_API_VERSION);
  if (v != VFIO_API_VERSION) {
    ::close(fd_);
    fail(path + ": VFIO API version " + std::to_string(v) + ", this code speaks " + std::to_string(VFIO_API_VERSION));
  }
  if (::ioctl(fd_, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) != 1) {
    ::close(fd_);
    fail(path + ": the kernel offers no type1 IOMMU (load vfio_iommu_type1; is the IOMMU on?)");
  }
  iova_ = std::make_unique<IovaAllocator>();
}

Container::~Container() {
  if (fd_ < 0) return;
  for (auto it = maps_.rbegin(); iommu_set_ && it != maps_.rend(); ++it) {
    vfio_iommu_type1_dma_unmap u{};
    u.argsz = sizeof u;
    u.flags = 0;
    u.iova = it->iova;
    u.size = it->len;
    ::ioctl(fd_, VFIO_IOMMU_UNMAP_DMA, &u);  // best effort: closing the fd drops them anyway
  }
  ::close(fd_);
}

void Container::group_left() {
  if (--groups_ > 0) return;
  iommu_set_ = false;  // the kernel released the IOMMU and its mappings with the last group
}

void Container::set_iommu() {
  if (iommu_set_) return;
  if (::ioctl(fd_, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0 && ::ioctl(fd_, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0)
    fail("VFIO_SET_IOMMU(type1) failed: " + errstr(errno));
  iommu_set_ = true;

  // Usable IOVA ranges from the IOMMU (they exclude e.g. the MSI window at 0xfee00000), clipped to
  // the default window; if that leaves nothing, the IOMMU's own ranges as they are.
  std::vector<char> buf(4096);
  auto* info = reinterpret_cast<vfio_iommu_type1_info*>(buf.data());
  info->argsz = buf.size();
  std::vector<IovaRange> usable;
  if (::ioctl(fd_, VFIO_IOMMU_GET_INFO, info) == 0 && (info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
    std::uint32_t off = info->cap_offset;
    while (off && off + sizeof(vfio_info_cap_header) <= buf.size()) {
      auto* h = reinterpret_cast<vfio_info_cap_header*>(buf.data() + off);
      if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
        auto* r = reinterpret_cast<vfio_iommu_type1_info_cap_iova_range*>(h);
        for (std::uint32_t i = 0; i < r->nr_iovas; ++i) {
          std::uint64_t end = r->iova_ranges[i].end == UINT64_MAX ? UINT64_MAX : r->iova_ranges[i].end + 1;
          usable.push_back({r->iova_ranges[i].start, end});
        }
      }
      off = h->next;
    }
  }
  if (usable.empty()) return;  // keep the default window
  std::vector<IovaRange> clipped;
  for (auto r : usable) {
    IovaRange c{std::max(r.start, kDefaultIovaBase), std::min(r.end, kDefaultIovaLimit)};
    if (c.end > c.start) clipped.push_back(c);
  }
  iova_ = std::make_unique<IovaAllocator>(clipped.empty() ? usable : clipped);
}

void Container::map_at(void* va, std::size_t len, std::uint64_t iova) {
  if (!iommu_set_) fail("DMA map before any group joined the container (attach a Group first)");
  vfio_iommu_type1_dma_map m{};
  m.argsz = sizeof m;
  m.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  m.vaddr = reinterpret_cast<std::uint64_t>(va);
  m.iova = iova;
  m.size = len;
  if (::ioctl(fd_, VFIO_IOMMU_MAP_DMA, &m) != 0) {
    int e = errno;
    std::ostringstream s;
    s << "VFIO_IOMMU_MAP_DMA of " << len << " bytes at va " << va << " -> iova 0x" << std::hex << iova
      << std::dec << " failed: " << errstr(e);
    if (e == ENOMEM) {
      rlimit rl{};
      ::getrlimit(RLIMIT_MEMLOCK, &rl);
      s << "; pinned DMA memory counts against RLIMIT_MEMLOCK (now "
        << (rl.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(rl.rlim_cur)) +
               " bytes): raise it (ulimit -l unlimited) or run as root";
    } else if (e == EEXIST) {
      s << "; that IOVA range is already mapped";
    } else if (e == EINVAL) {
      s << "; va, iova and size must be page aligned and the iova inside the IOMMU's address width";
    }
    fail(s.str());
  }
  maps_.push_back({iova, len, false});
}

void Container::unmap_at(std::uint64_t iova, std::size_t len) {
  auto it = std::find_if(maps_.begin(), maps_.end(), [&](const Map& m) { return m.iova == iova; });
  if (it == maps_.end() || it->len != len) fail("unmap of an IOVA range that is not one mapping (partial unmaps are refused)");
  vfio_iommu_type1_dma_unmap u{};
  u.argsz = sizeof u;
  u.flags = 0;  // the READ/WRITE bits mean something else here
  u.iova = iova;
  u.size = len;
  if (iommu_set_ && ::ioctl(fd_, VFIO_IOMMU_UNMAP_DMA, &u) != 0) fail("VFIO_IOMMU_UNMAP_DMA failed: " + errstr(errno));
  bool allocated = it->allocated;
  maps_.erase(it);
  if (allocated) iova_->free(iova, len);
}

std::uint64_t Container::map(void* va, std::size_t len) {
  if (!iommu_set_) fail("DMA map before any group joined the container (attach a Group first)");
  std::uint64_t iova = iova_->alloc(len, IovaAllocator::natural_align(len));
  if (!iova) fail("out of IOVA space for a mapping of " + std::to_string(len) + " bytes");
  try {
    map_at(va, len, iova);
  } catch (...) {
    iova_->free(iova, len);
    throw;
  }
  maps_.back().allocated = true;
  return iova;
}

void Container::unmap(std::uint64_t iova) {
  auto it = std::find_if(maps_.begin(), maps_.end(), [&](const Map& m) { return m.iova == iova; });
  if (it == maps_.end()) fail("unmap of an IOVA that was never mapped");
  unmap_at(iova, it->len);
}

// ---- Group -----------------------------------------------------------------------------------

int Group::number_of(const std::string& bdf) {
  std::string dev = "/sys/bus/pci/devices/" + bdf;
  if (!exists(dev)) fail("no PCI device " + bdf + " (lspci -D lists the addresses; the form is 0000:00:02.0)");
  std::string group = link_name(dev + "/iommu_group");
  if (group.empty())
    fail(bdf + " has no IOMMU group: the IOMMU is off or absent (boot with intel_iommu=on or amd_iommu=on; "
               "in qemu add -device intel-iommu). " + kNoVfioHint);
  std::string driver = link_name(dev + "/driver");
  if (!driver.empty() && driver != "vfio-pci")
    fail(bdf + " is bound to its kernel driver '" + driver + "', not vfio-pci: " + bind_howto(bdf));
  if (driver.empty() && !exists("/dev/vfio/" + group))
    fail(bdf + " is bound to no driver, so /dev/vfio/" + group + " does not exist: " + bind_howto(bdf));
  return std::stoi(group);
}

Group::Group(Container& c, int number) : c_(c), number_(number) {
  std::string path = "/dev/vfio/" + std::to_string(number);
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    if (e == ENOENT)
      fail(path + " does not exist: no device of IOMMU group " + std::to_string(number) +
           " is bound to vfio-pci (echo vfio-pci > /sys/bus/pci/devices/<bdf>/driver_override; echo <bdf> > "
           "/sys/bus/pci/drivers_probe)");
    if (e == EBUSY) fail(path + " is busy: another process (or another Group object) has the group open");
    if (e == EACCES || e == EPERM) fail("no permission to open " + path + ": run as root or chown the group file");
    fail("cannot open " + path + ": " + errstr(e));
  }
  vfio_group_status st{};
  st.argsz = sizeof st;
  if (::ioctl(fd_, VFIO_GROUP_GET_STATUS, &st) != 0) {
    int e = errno;
    ::close(fd_);
    fail("VFIO_GROUP_GET_STATUS on " + path + " failed: " + errstr(e));
  }
  if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
    std::string devs;
    std::string dir = "/sys/kernel/iommu_groups/" + std::to_string(number) + "/devices";
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* de = ::readdir(d)) {
        if (de->d_name[0] == '.') continue;
        std::string drv = link_name(dir + "/" + de->d_name + "/driver");
        devs += std::string(" ") + de->d_name + "(" + (drv.empty() ? "no driver" : drv) + ")";
      }
      ::closedir(d);
    }
    ::close(fd_);
    fail("IOMMU group " + std::to_string(number) + " is not viable: every device in it must be bound to vfio-pci "
         "(or to no driver), found:" + devs);
  }
  if (::ioctl(fd_, VFIO_GROUP_SET_CONTAINER, &c.fd_) != 0) {
    int e = errno;
    ::close(fd_);
    std::string hint = e == EPERM ? ": the kernel refuses devices without interrupt remapping (turn it on: "
                                    "intremap=on on qemu's intel-iommu, or vfio_iommu_type1 "
                                    "allow_unsafe_interrupts=1 if you accept the risk)"
                                  : "";
    fail("VFIO_GROUP_SET_CONTAINER for group " + std::to_string(number) + " failed: " + errstr(e) + hint);
  }
  try {
    c.set_iommu();
  } catch (...) {
    ::ioctl(fd_, VFIO_GROUP_UNSET_CONTAINER);
    ::close(fd_);
    throw;
  }
  ++c.groups_;
}

Group::~Group() {
  if (fd_ < 0) return;
  ::ioctl(fd_, VFIO_GROUP_UNSET_CONTAINER);
  ::close(fd_);
  c_.group_left();
}

// ---- Device ----------------------------------------------------------------------------------

Device::Device(Group& g, const std::string& bdf) : bdf_(bdf) {
  fd_ = ::ioctl(g.fd(), VFIO_GROUP_GET_DEVICE_FD, bdf.c_str());
  if (fd_ < 0)
    fail("VFIO_GROUP_GET_DEVICE_FD(" + bdf + ") on group " + std::to_string(g.number()) + " failed: " +
         errstr(errno) + " (is " + bdf + " in that group and bound to vfio-pci?)");
  vfio_device_info info{};
  info.argsz = sizeof info;
  if (::ioctl(fd_, VFIO_DEVICE_GET_INFO, &info) != 0) {
    int e = errno;
    ::close(fd_);
    fail("VFIO_DEVICE_GET_INFO(" + bdf + ") failed: " + errstr(e));
  }
  if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
    ::close(fd_);
    fail(bdf + " is not a PCI device");
  }
  num_regions_ = info.num_regions;
  flags_ = info.flags;
}

Device::~Device() {
  if (fd_ >= 0) ::close(fd_);
}

RegionInfo Device::region(std::uint32_t index) const {
  vfio_region_info r{};
  r.argsz = sizeof r;
  r.index = index;
  if (::ioctl(fd_, VFIO_DEVICE_GET_REGION_INFO, &r) != 0)
    fail("VFIO_DEVICE_GET_REGION_INFO(" + bdf_ + ", region " + std::to_string(index) + ") failed: " + errstr(errno));
  return {r.index, r.flags, r.size, r.offset};
}

Bar Device::map_bar(std::uint32_t index) const {
  if (index > VFIO_PCI_BAR5_REGION_INDEX) fail("BAR index " + std::to_string(index) + " out of range 0..5");
  RegionInfo r = region(index);
  if (r.size == 0) fail(bdf_ + " has no BAR" + std::to_string(index));
  if (!r.mmappable()) fail(bdf_ + " BAR" + std::to_string(index) + " cannot be mmap'ed (an I/O port BAR?)");
  void* p = ::mmap(nullptr, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(r.offset));
  if (p == MAP_FAILED) fail("mmap of " + bdf_ + " BAR" + std::to_string(index) + " failed: " + errstr(errno));
  return Bar(p, r.size);
}

std::uint16_t Device::config_read16(std::uint32_t off) const {
  RegionInfo r = region(VFIO_PCI_CONFIG_REGION_INDEX);
  std::uint16_t v = 0;
  if (::pread(fd_, &v, sizeof v, static_cast<off_t>(r.offset + off)) != sizeof v)
    fail("config space read of " + bdf_ + " at 0x" + std::to_string(off) + " failed: " + errstr(errno));
  return v;
}

void Device::config_write16(std::uint32_t off, std::uint16_t v) const {
  RegionInfo r = region(VFIO_PCI_CONFIG_REGION_INDEX);
  if (::pwrite(fd_, &v, sizeof v, static_cast<off_t>(r.offset + off)) != sizeof v)
    fail("config space write of " + bdf_ + " at 0x" + std::to_string(off) + " failed: " + errstr(errno));
}

void Device::enable_bus_master() const {
  constexpr std::uint32_t kCommand = 0x04;
  constexpr std::uint16_t kMemSpace = 1u << 1, kBusMaster = 1u << 2;
  std::uint16_t cmd = config_read16(kCommand);
  config_write16(kCommand, cmd | kMemSpace | kBusMaster);
  if (!(config_read16(kCommand) & kBusMaster)) fail(bdf_ + ": bus mastering did not stick in the PCI command register");
}

bool Device::reset() const {
  if (!(flags_ & VFIO_DEVICE_FLAGS_RESET)) return false;
  return ::ioctl(fd_, VFIO_DEVICE_RESET) == 0;
}

// ---- discovery -------------------------------------------------------------------------------

std::vector<std::string> find_pci(std::uint16_t vendor, std::uint16_t device, const std::string& sysfs) {
  std::vector<std::string> out;
  DIR* d = ::opendir(sysfs.c_str());
  if (!d) return out;
  while (dirent* de = ::readdir(d)) {
    if (de->d_name[0] == '.') continue;
    std::string base = sysfs + "/" + de->d_name;
    unsigned long v = std::strtoul(read_line(base + "/vendor").c_str(), nullptr, 16);
    unsigned long id = std::strtoul(read_line(base + "/device").c_str(), nullptr, 16);
    if (v == vendor && id == device) out.emplace_back(de->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

OpenDevice open_device(Container& c, const std::string& bdf) {
  OpenDevice o;
  o.group = std::make_unique<Group>(c, Group::number_of(bdf));
  o.device = std::make_unique<Device>(*o.group, bdf);
  return o;
}

}  // namespace hm::vfio
