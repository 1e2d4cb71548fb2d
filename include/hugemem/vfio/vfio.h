// VFIO: a PCI device driven from user space, its DMA confined by the IOMMU.
//
//   Container  /dev/vfio/vfio: one IOMMU address space (type1). Owns the DMA mappings and the
//              IOVA allocator; every group attached to it sees the same mappings.
//   Group      /dev/vfio/<n>: the unit the IOMMU isolates. Must be viable (every device in it
//              bound to vfio-pci or to no driver) before it can join a container.
//   Device     one PCI function of a group: BARs (mmap-able register windows), config space.
//
// Lifetime: a Container must outlive its Groups, a Group its Devices, and a Bar its Device.
// Errors: setup failures throw hm::vfio::Error whose message says what failed, why (errno) and what
// to do about it (bind vfio-pci, run scripts/vm, raise RLIMIT_MEMLOCK, ...). The data path
// (register access through a Bar) never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hugemem/dma.h"
#include "hugemem/vfio/iova.h"

namespace hm::vfio {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where device addresses come from: the IOMMU (Container) in production, a fake in tests.
class DmaSpace {
 public:
  virtual ~DmaSpace() = default;
  // Makes [va, va+len) reachable by devices for reading and writing; returns its IOVA. `va` and
  // `len` must be 4 KiB aligned. Throws Error on failure.
  virtual std::uint64_t map(void* va, std::size_t len) = 0;
  // Removes one earlier map() (by the IOVA it returned). Throws Error when it is not one.
  virtual void unmap(std::uint64_t iova) = 0;
};

// A DMA heap's mapper (hugemem/dma.h) over `space` (a Container): the heap's arenas are mapped
// into the container, at IOVAs from its allocator, when the heap makes them. `space` must
// outlive the heap, and keep a group attached until the heap is destroyed (the kernel drops a
// container's mappings when its last group leaves). A failure is written to stderr (the mapper
// interface carries no message) and makes the heap's allocation fail.
hm_dma_mapper dma_mapper(DmaSpace& space);

// A device's register window, mapped into this process. Accesses are 32-bit, volatile, in order.
class Bar {
 public:
  Bar() = default;
  Bar(void* base, std::size_t size) : base_(static_cast<volatile std::uint8_t*>(base)), size_(size) {}
  Bar(Bar&& o) noexcept : base_(o.base_), size_(o.size_) { o.base_ = nullptr; o.size_ = 0; }
  Bar& operator=(Bar&& o) noexcept;
  Bar(const Bar&) = delete;
  Bar& operator=(const Bar&) = delete;
  ~Bar();

  std::uint32_t read32(std::uint32_t off) const {
    return *reinterpret_cast<volatile const std::uint32_t*>(base_ + off);
  }
  void write32(std::uint32_t off, std::uint32_t v) const {
    *reinterpret_cast<volatile std::uint32_t*>(base_ + off) = v;
  }
  std::size_t size() const { return size_; }
  explicit operator bool() const { return base_ != nullptr; }

 private:
  volatile std::uint8_t* base_ = nullptr;
  std::size_t size_ = 0;
};

struct RegionInfo {
  std::uint32_t index = 0;
  std::uint32_t flags = 0;  // VFIO_REGION_INFO_FLAG_{READ,WRITE,MMAP}
  std::uint64_t size = 0;
  std::uint64_t offset = 0;  // of the region in the device fd
  bool mmappable() const;
};

class Container : public DmaSpace {
 public:
  // Opens /dev/vfio/vfio (`path` for tests) and checks the API version and type1 support.
  explicit Container(const std::string& path = "/dev/vfio/vfio");
  ~Container() override;
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  int fd() const { return fd_; }
  bool iommu_set() const { return iommu_set_; }

  // DmaSpace: allocates an IOVA (naturally aligned, from the IOMMU's usable ranges) and maps.
  std::uint64_t map(void* va, std::size_t len) override;
  void unmap(std::uint64_t iova) override;
  // Maps at a caller-chosen IOVA (tests); the allocator is not involved.
  void map_at(void* va, std::size_t len, std::uint64_t iova);
  void unmap_at(std::uint64_t iova, std::size_t len);

  std::size_t mappings() const { return maps_.size(); }
  // Groups attached now. When the last one leaves, the kernel drops the IOMMU and every mapping
  // with it; unmap() then only forgets its records.
  int groups() const { return groups_; }
  const IovaAllocator& iovas() const { return *iova_; }

 private:
  friend class Group;
  void set_iommu();  // called by the first Group that joins
  struct Map {
    std::uint64_t iova, len;
    bool allocated;
  };
  void group_left();
  int fd_ = -1;
  bool iommu_set_ = false;
  int groups_ = 0;
  std::unique_ptr<IovaAllocator> iova_;
  std::vector<Map> maps_;
};

class Device;

class Group {
 public:
  // Opens /dev/vfio/<number>, checks it is viable and attaches it to `c`.
  Group(Container& c, int number);
  // The group of a PCI device by address ("0000:00:02.0"); diagnoses sysfs first (no such device,
  // no IOMMU group, still bound to a kernel driver) with a message saying how to fix it.
  static int number_of(const std::string& bdf);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int fd() const { return fd_; }
  int number() const { return number_; }

 private:
  Container& c_;
  int fd_ = -1;
  int number_ = -1;
};

class Device {
 public:
  Device(Group& g, const std::string& bdf);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& bdf() const { return bdf_; }
  int fd() const { return fd_; }
  std::uint32_t num_regions() const { return num_regions_; }
  RegionInfo region(std::uint32_t index) const;
  // Maps a memory BAR (0..5) read/write.
  Bar map_bar(std::uint32_t index) const;

  std::uint16_t vendor() const { return config_read16(0x00); }
  std::uint16_t device_id() const { return config_read16(0x02); }
  std::uint16_t config_read16(std::uint32_t off) const;
  void config_write16(std::uint32_t off, std::uint16_t v) const;
  // Sets Memory Space Enable and Bus Master Enable in the PCI command register: without bus
  // mastering the device cannot DMA at all.
  void enable_bus_master() const;
  // VFIO_DEVICE_RESET when the device supports it; returns whether it did.
  bool reset() const;

 private:
  std::string bdf_;
  int fd_ = -1;
  std::uint32_t num_regions_ = 0;
  std::uint32_t flags_ = 0;
};

// PCI functions with this vendor:device id, sorted by address ("0000:00:02.0", ...), from sysfs.
std::vector<std::string> find_pci(std::uint16_t vendor, std::uint16_t device,
                                  const std::string& sysfs = "/sys/bus/pci/devices");

// One opened device with its own group, all in one container: what a driver needs.
struct OpenDevice {
  std::unique_ptr<Group> group;
  std::unique_ptr<Device> device;
};
OpenDevice open_device(Container& c, const std::string& bdf);

}  // namespace hm::vfio
