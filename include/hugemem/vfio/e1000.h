// Poll-mode driver for the Intel 8254x family's 82540EM (PCI 8086:100e, QEMU's "e1000"), written
// from the public 8254x Software Developer's Manual. Legacy descriptors, one RX and one TX queue,
// no interrupts (masked), no offloads.
//
// Bring-up (SDM 14.3-14.5): mask interrupts, global reset (CTRL.RST), set link up (CTRL.SLU),
// MAC from the EEPROM (EERD), receive address 0 and an empty multicast table, clear the
// statistics, receive ring filled with pool mbufs, transmit ring empty, TCTL/TIPG, and RCTL
// written once, last (QEMU's model holds received frames for a second after every RCTL write).
#pragma once

#include <memory>
#include <vector>

#include "hugemem/vfio/nic.h"

namespace hm::vfio {

namespace e1000 {
struct RxDesc;
struct TxDesc;
}  // namespace e1000

class E1000 final : public Nic {
 public:
  // Brings the NIC up on `regs` (BAR0) with rings from o.dma_heap (or, without one, in memory
  // mapped through `dma`); RX buffers come
  // from `pool`, which must be an mbuf pool already mapped in `dma` (PoolDma) with at least
  // 2048 bytes of data room and more mbufs than rx_ring. Throws Error (link never came up, no
  // EEPROM answer, pool too small, ...). The NIC must have bus mastering on.
  E1000(RegIo& regs, DmaSpace& dma, pkt::Pool& pool, const NicOptions& o = {});
  ~E1000() override;  // stops RX/TX DMA, resets the NIC, frees ring mbufs, then the rings

  const char* driver() const override { return "e1000"; }
  MacAddr mac() const override { return mac_; }
  bool link_up() const override;
  std::uint16_t rx_burst(pkt::Mbuf** out, std::uint16_t n) override;
  std::uint16_t tx_burst(pkt::Mbuf** pkts, std::uint16_t n) override;
  NicStats stats() override;

  // Ring state, for tests: descriptors the NIC has not yet completed on TX.
  std::uint16_t tx_in_flight() const { return static_cast<std::uint16_t>((tx_tail_ - tx_clean_) & tx_mask_); }
  std::uint64_t ring_iova() const { return ring_iova_; }
  // The rings' memory (RX descriptors, then TX): a block of NicOptions::dma_heap when given.
  const void* ring_memory() const { return const_cast<const e1000::RxDesc*>(rx_); }
  // For tests of the IOMMU: the RX descriptor the NIC fills next (once rx_burst drained the ring)
  // and re-aiming a descriptor's buffer at another device address.
  std::uint16_t rx_next() const { return rx_next_; }
  std::uint64_t rx_desc_addr(std::uint16_t i) const;
  void set_rx_desc_addr(std::uint16_t i, std::uint64_t iova);

 private:
  void reset();
  void read_mac();
  void init_rx();
  void init_tx();
  void tx_clean();
  void read_hw_stats();
  void release_rings();
  std::uint16_t phy_read(std::uint32_t reg);
  void phy_write(std::uint32_t reg, std::uint16_t v);

  RegIo& regs_;
  DmaSpace& dma_;
  pkt::Pool& pool_;
  NicOptions opt_;
  MacAddr mac_{};

  struct RingMem;                     // the rings' memory: a DMA heap block or a region (e1000.cpp)
  std::unique_ptr<RingMem> ring_mem_;  // RX descriptors, then TX descriptors
  std::uint64_t ring_iova_ = 0;
  volatile e1000::RxDesc* rx_ = nullptr;
  volatile e1000::TxDesc* tx_ = nullptr;
  std::vector<pkt::Mbuf*> rx_bufs_;  // the mbuf behind each RX descriptor
  std::vector<pkt::Mbuf*> tx_bufs_;  // each packet until sent, at its last (EOP) descriptor
  std::uint16_t rx_mask_ = 0, tx_mask_ = 0;
  std::uint16_t rx_next_ = 0;   // next RX descriptor to look at
  std::uint16_t tx_tail_ = 0;   // next free TX descriptor (what TDT is set to)
  std::uint16_t tx_clean_ = 0;  // oldest TX descriptor not yet reclaimed
  NicStats st_;
};

}  // namespace hm::vfio
