// A poll-mode NIC driven from user space: the interface every driver implements (e1000 is the
// first, see e1000.h), and the pieces around it: register access, DMA mapping of a packet pool.
//
// Ownership of packets (hm::pkt::Mbuf):
//  - rx_burst hands out mbufs of the driver's pool, one segment each, data_len = pkt_len = the
//    frame's bytes without the Ethernet CRC; the caller frees them (Mbuf::free).
//  - tx_burst takes packets (chains allowed) and owns the ones it accepted: it frees each segment
//    once the NIC reports it sent. The ones it did not accept (ring full) stay the caller's.
// Threads: one thread per Nic for rx and tx alike (no locks in the data path).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hugemem/dma.h"
#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/pktpool.h"
#include "hugemem/vfio/vfio.h"

namespace hm::vfio {

using MacAddr = std::array<std::uint8_t, 6>;
std::string mac_string(const MacAddr& m);

struct NicStats {
  // Counted by the driver.
  std::uint64_t rx_packets = 0, rx_bytes = 0;  // handed out by rx_burst
  std::uint64_t tx_packets = 0, tx_bytes = 0;  // accepted by tx_burst
  std::uint64_t rx_errors = 0;                 // frames the NIC flagged bad, or split frames: dropped
  std::uint64_t rx_nombuf = 0;                 // rx_burst stopped: no mbuf to refill the ring
  // Read from the NIC's own statistics registers (accumulated; they clear on read).
  std::uint64_t hw_rx_good = 0, hw_rx_bytes = 0;  // good packets / octets received
  std::uint64_t hw_tx_good = 0, hw_tx_bytes = 0;  // good packets / octets sent
  std::uint64_t hw_rx_missed = 0;                 // dropped: no room in the NIC's FIFO
  std::uint64_t hw_rx_no_buf = 0;                 // times the receive ring ran out of descriptors
  std::uint64_t hw_crc_errors = 0;
};

class Nic {
 public:
  virtual ~Nic() = default;
  virtual const char* driver() const = 0;
  virtual MacAddr mac() const = 0;
  virtual bool link_up() const = 0;
  // Up to n received frames into out[0..k); returns k (0 when none is waiting). Never blocks.
  virtual std::uint16_t rx_burst(pkt::Mbuf** out, std::uint16_t n) = 0;
  // Queues pkts[0..k) for sending and returns k <= n (fewer when the ring is full). Never blocks.
  virtual std::uint16_t tx_burst(pkt::Mbuf** pkts, std::uint16_t n) = 0;
  virtual NicStats stats() = 0;
};

// 32-bit register access: a mapped BAR in production, a fake register file in host tests.
class RegIo {
 public:
  virtual ~RegIo() = default;
  virtual std::uint32_t read32(std::uint32_t off) = 0;
  virtual void write32(std::uint32_t off, std::uint32_t v) = 0;
};

class BarIo final : public RegIo {
 public:
  explicit BarIo(const Bar& b) : bar_(b) {}
  std::uint32_t read32(std::uint32_t off) override { return bar_.read32(off); }
  void write32(std::uint32_t off, std::uint32_t v) override { bar_.write32(off, v); }

 private:
  const Bar& bar_;
};

// Maps every chunk of `pool` for device DMA and points the pool's IOVAs (iova_of, the mbufs'
// buf_iova) at the device addresses; unmaps on destruction. The pool must outlive it, and no
// device may still be using the pool's memory when it goes.
// ---- NUMA placement: a pool on its NIC's node ----
// The NUMA node of a PCI device from sysfs (its numa_node file); -1 when the platform does not
// say (one-node machines, or firmware without proximity data) or the device is not there.
int pci_numa_node(const std::string& bdf, const std::string& sysfs = "/sys/bus/pci/devices");
// Where place_on_device put a pool, and why (for the caller to report).
struct Placement {
  int node = -1;    // the Config::node now set; -1: not bound to a node
  std::string why;  // e.g. "node 1: the NIC's node (sysfs numa_node of 0000:41:00.0)"
};
// Fills cfg.node from the device `bdf` unless the caller chose one (cfg.node >= 0): the node the
// device sits on when the machine has it, else none.
Placement place_on_device(pkt::Config& cfg, const std::string& bdf,
                          const std::string& sysfs = "/sys/bus/pci/devices");
// The node the page holding `p` is on now (move_pages); -1 when not known (not faulted in).
int page_node(const void* p);

class PoolDma {
 public:
  PoolDma(DmaSpace& dma, pkt::Pool& pool);
  ~PoolDma();
  PoolDma(const PoolDma&) = delete;
  PoolDma& operator=(const PoolDma&) = delete;
  const std::vector<std::uint64_t>& iovas() const { return iovas_; }

 private:
  DmaSpace& dma_;
  std::vector<std::uint64_t> iovas_;
  std::vector<std::pair<void*, std::size_t>> ranges_;  // recorded for hm_iova_of
};

// A user-space NIC on an opened VFIO device: bus mastering on, BAR0 mapped, and the driver for
// its vendor:device id. Destroyed in reverse (the driver stops the NIC's DMA first). The device
// (and its group) must outlive it, and `pool` must already be mapped in the container (PoolDma).
// Teardown order that keeps every unmap valid: NicPort, then PoolDma, then the OpenDevice (when
// the last group leaves a container, the kernel drops the container's IOMMU and its mappings).
struct NicPort {
  Bar bar;
  std::unique_ptr<BarIo> io;
  std::unique_ptr<Nic> nic;
  ~NicPort() { nic.reset(); }
};
struct NicOptions {
  std::uint16_t rx_ring = 256;  // descriptors, a multiple of 8
  std::uint16_t tx_ring = 256;
  bool promiscuous = false;
  // The PHY sends every transmitted frame back to this NIC's own receive path (MII control
  // register loopback bit): one NIC can run the loopback check alone.
  bool phy_loopback = false;
  // The heap the driver allocates its descriptor rings (and any other buffer that is not an
  // mbuf) from; it must map its arenas into the NIC's container (dma_mapper). Null: the rings
  // get a region of their own, mapped into the container on its own (tests without hugepages).
  hm_dma_heap* dma_heap = nullptr;
};
// Typical use: Container c; auto d = open_device(c, bdf); PoolDma dma(c, pool);
//              auto port = open_nic(c, *d.device, pool);
std::unique_ptr<NicPort> open_nic(Container& c, const Device& dev, pkt::Pool& pool, const NicOptions& o = {});
// The PCI ids some driver here supports (for find_pci and messages).
struct NicId {
  std::uint16_t vendor, device;
  const char* name;
};
const std::vector<NicId>& supported_nics();

}  // namespace hm::vfio
