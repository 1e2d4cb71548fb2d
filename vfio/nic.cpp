#include "hugemem/vfio/nic.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "e1000_regs.h"
#include "hugemem/vfio/e1000.h"
#include "os/os.h"
#include "page/iova_map.h"

namespace hm::vfio {

int pci_numa_node(const std::string& bdf, const std::string& sysfs) {
  std::ifstream f(sysfs + "/" + bdf + "/numa_node");
  int node = -1;
  if (!(f >> node)) return -1;
  return node < 0 ? -1 : node;
}

Placement place_on_device(pkt::Config& cfg, const std::string& bdf, const std::string& sysfs) {
  Placement p;
  if (cfg.node >= 0) {
    p.node = cfg.node;
    p.why = "node " + std::to_string(cfg.node) + ": chosen by the caller";
    return p;
  }
  int dev = pci_numa_node(bdf, sysfs);
  int nodes = os::machine().numa_nodes;
  if (dev < 0) {
    p.why = "no node: " + bdf + " reports none (sysfs numa_node -1), so the memory is not bound";
  } else if (dev >= nodes) {
    p.why = "no node: " + bdf + " says node " + std::to_string(dev) + ", which this machine (" +
            std::to_string(nodes) + " node(s)) does not have";
  } else {
    cfg.node = p.node = dev;
    p.why = "node " + std::to_string(dev) + ": the NIC's node (sysfs numa_node of " + bdf + ")";
  }
  return p;
}

int page_node(const void* p) {
  void* pages[1] = {const_cast<void*>(p)};
  int status[1] = {-1};
  if (::syscall(SYS_move_pages, 0, 1UL, pages, nullptr, status, 0) != 0) return -1;
  return status[0] < 0 ? -1 : status[0];
}

std::string mac_string(const MacAddr& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

PoolDma::PoolDma(DmaSpace& dma, pkt::Pool& pool) : dma_(dma) {
  auto chunks = pool.chunks();
  try {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      std::uint64_t iova = dma.map(chunks[i].va, chunks[i].len);
      iovas_.push_back(iova);
      pool.set_iova(i, iova);
      // hm_iova_of answers for the pool's elements too.
      if (!page::iova_map_set(chunks[i].va, chunks[i].len, iova)) throw Error("vfio: no memory for the IOVA tables");
      ranges_.push_back({chunks[i].va, chunks[i].len});
    }
  } catch (...) {
    for (auto& [va, len] : ranges_) page::iova_map_clear(va, len);
    for (std::uint64_t iova : iovas_) dma.unmap(iova);
    throw;
  }
}

PoolDma::~PoolDma() {
  for (auto& [va, len] : ranges_) page::iova_map_clear(va, len);
  for (std::uint64_t iova : iovas_) {
    try {
      dma_.unmap(iova);
    } catch (const Error& e) {
      std::fprintf(stderr, "hugemem vfio: %s\n", e.what());
    }
  }
}

const std::vector<NicId>& supported_nics() {
  static const std::vector<NicId> ids = {{e1000::kVendorIntel, e1000::kDev82540EM, "Intel 82540EM (e1000)"}};
  return ids;
}

std::unique_ptr<NicPort> open_nic(Container& c, const Device& dev, pkt::Pool& pool, const NicOptions& o) {
  auto p = std::make_unique<NicPort>();
  const std::string& bdf = dev.bdf();
  std::uint16_t vendor = dev.vendor(), device = dev.device_id();
  dev.enable_bus_master();
  p->bar = dev.map_bar(0);
  p->io = std::make_unique<BarIo>(p->bar);
  if (vendor == e1000::kVendorIntel && device == e1000::kDev82540EM) {
    p->nic = std::make_unique<E1000>(*p->io, c, pool, o);
    return p;
  }
  char id[16];
  std::snprintf(id, sizeof id, "%04x:%04x", vendor, device);
  std::string known;
  for (auto& n : supported_nics()) {
    char k[16];
    std::snprintf(k, sizeof k, "%04x:%04x", n.vendor, n.device);
    known += std::string(" ") + k + " " + n.name;
  }
  throw Error("vfio: no driver for " + bdf + " (PCI id " + id + "); supported:" + known);
}

}  // namespace hm::vfio
