#include "hugemem/vfio/nic.h"

#include <cstdio>

#include "e1000_regs.h"
#include "hugemem/vfio/e1000.h"

namespace hm::vfio {

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
    }
  } catch (...) {
    for (std::uint64_t iova : iovas_) dma.unmap(iova);
    throw;
  }
}

PoolDma::~PoolDma() {
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
