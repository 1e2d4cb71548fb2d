#include "hugemem/vfio/e1000.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <thread>

#include "e1000_regs.h"
#include "page/region.h"

namespace hm::vfio {

using namespace e1000;
using Clock = std::chrono::steady_clock;

namespace {

// Descriptors are written by the device: every access goes through volatile, and the fences
// order descriptor memory against the MMIO tail writes (x86 keeps stores in order; the compiler
// must too).
inline void dma_wmb() { std::atomic_thread_fence(std::memory_order_release); }
inline void dma_rmb() { std::atomic_thread_fence(std::memory_order_acquire); }

bool pow2_in(std::uint16_t v, std::uint16_t lo, std::uint16_t hi) { return v >= lo && v <= hi && (v & (v - 1)) == 0; }

template <class F>
bool wait_for(F&& done, std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace

// The rings' memory: a block of the DMA heap the caller gave (NicOptions::dma_heap), whose
// arena is already mapped for the device; or, without one, a region mapped here on its own.
struct E1000::RingMem {
  void* block = nullptr;
  page::Region region;
};

E1000::E1000(RegIo& regs, DmaSpace& dma, pkt::Pool& pool, const NicOptions& o)
    : regs_(regs), dma_(dma), pool_(pool), opt_(o) {
  if (!pow2_in(o.rx_ring, 8, 4096) || !pow2_in(o.tx_ring, 8, 4096))
    throw Error("e1000: ring sizes must be powers of two in [8, 4096] (got rx " + std::to_string(o.rx_ring) +
                ", tx " + std::to_string(o.tx_ring) + ")");
  if (!pool.is_mbuf_pool()) throw Error("e1000: the pool '" + pool.name() + "' is not an mbuf pool");
  if (pool.buf_len() - pool.headroom() < 2048)
    throw Error("e1000: mbufs of pool '" + pool.name() + "' have " + std::to_string(pool.buf_len() - pool.headroom()) +
                " bytes of data room; the receive buffers are 2048 bytes (Config::data_room >= 2048)");
  if (pool.count() <= o.rx_ring)
    throw Error("e1000: pool '" + pool.name() + "' has " + std::to_string(pool.count()) +
                " mbufs, fewer than the receive ring needs (" + std::to_string(o.rx_ring) + " + some to receive into)");
  rx_mask_ = static_cast<std::uint16_t>(o.rx_ring - 1);
  tx_mask_ = static_cast<std::uint16_t>(o.tx_ring - 1);

  std::size_t rx_bytes = std::size_t{o.rx_ring} * sizeof(RxDesc);
  std::size_t tx_bytes = std::size_t{o.tx_ring} * sizeof(TxDesc);
  ring_mem_ = std::make_unique<RingMem>();
  void* rings;
  if (o.dma_heap) {
    // 4 KiB aligned (the SDM asks 16 bytes; a page keeps each ring inside one IOMMU page).
    rings = ring_mem_->block = hm_dma_memalign(o.dma_heap, os::kPageSize, rx_bytes + tx_bytes);
    if (!rings)
      throw Error("e1000: no " + std::to_string(rx_bytes + tx_bytes) + " bytes for the rings from DMA heap '" +
                  hm_dma_heap_name(o.dma_heap) + "': " + std::strerror(errno));
    ring_iova_ = hm_iova_of(rings);
  } else {
    page::Region& mem = ring_mem_->region;
    mem = page::Region::create(rx_bytes + tx_bytes, os::Backing::Small, -1, "hugemem-e1000-rings");
    if (!mem) throw Error("e1000: cannot map " + std::to_string(rx_bytes + tx_bytes) + " bytes for the rings");
    ring_iova_ = dma_.map(mem.base(), mem.size());  // throws; page aligned >= 128-byte alignment
    rings = mem.base();
  }
  rx_ = static_cast<volatile RxDesc*>(rings);
  tx_ = reinterpret_cast<volatile TxDesc*>(static_cast<char*>(rings) + rx_bytes);
  rx_bufs_.assign(o.rx_ring, nullptr);
  tx_bufs_.assign(o.tx_ring, nullptr);

  try {
    reset();
    // Set or clear the PHY loopback bit explicitly: a device reset need not reset the PHY (QEMU's
    // does not), so an earlier user's loopback would otherwise keep frames off the wire.
    std::uint16_t bmcr = phy_read(PHY_CTRL);
    std::uint16_t want = o.phy_loopback ? (bmcr | PHY_CTRL_LOOPBACK) : (bmcr & ~PHY_CTRL_LOOPBACK);
    if (want != bmcr) phy_write(PHY_CTRL, want);
    read_mac();
    init_tx();
    init_rx();  // writes RCTL: last
  } catch (...) {
    for (auto*& m : rx_bufs_) pkt::Mbuf::free(std::exchange(m, nullptr));
    release_rings();
    throw;
  }
}

E1000::~E1000() {
  regs_.write32(RCTL, 0);
  regs_.write32(TCTL, 0);
  if (opt_.phy_loopback) {
    try {
      phy_write(PHY_CTRL, phy_read(PHY_CTRL) & ~PHY_CTRL_LOOPBACK);
    } catch (const Error&) {
    }
  }
  regs_.write32(IMC, ~0u);
  regs_.write32(CTRL, regs_.read32(CTRL) | CTRL_RST);  // the NIC forgets the rings: no more DMA
  wait_for([&] { return !(regs_.read32(CTRL) & CTRL_RST); }, std::chrono::milliseconds(100));
  pkt::Mbuf::free_bulk(rx_bufs_.data(), static_cast<std::uint32_t>(rx_bufs_.size()));
  rx_bufs_.assign(rx_bufs_.size(), nullptr);
  pkt::Mbuf::free_bulk(tx_bufs_.data(), static_cast<std::uint32_t>(tx_bufs_.size()));  // heads of chains
  tx_bufs_.assign(tx_bufs_.size(), nullptr);
  try {
    release_rings();
  } catch (const Error& e) {
    std::fprintf(stderr, "hugemem e1000: %s\n", e.what());  // a destructor must not throw
  }
}

// Once the NIC no longer uses them (reset, or never started).
void E1000::release_rings() {
  if (ring_mem_->block) hm_dma_free(ring_mem_->block);
  else dma_.unmap(ring_iova_);
}

void E1000::reset() {
  regs_.write32(IMC, ~0u);  // poll mode: no interrupts
  regs_.write32(RCTL, 0);
  regs_.write32(TCTL, 0);
  regs_.write32(CTRL, regs_.read32(CTRL) | CTRL_RST);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));  // SDM: wait before touching registers
  if (!wait_for([&] { return !(regs_.read32(CTRL) & CTRL_RST); }, std::chrono::milliseconds(500)))
    throw Error("e1000: CTRL.RST did not clear within 500 ms after a device reset");
  regs_.write32(IMC, ~0u);  // the reset unmasked nothing, but be sure
  (void)regs_.read32(ICR);
  std::uint32_t ctrl = regs_.read32(CTRL);
  ctrl |= CTRL_SLU | CTRL_ASDE;
  ctrl &= ~(CTRL_LRST | CTRL_PHY_RST | CTRL_ILOS | CTRL_VME);
  regs_.write32(CTRL, ctrl);
  if (!wait_for([&] { return link_up(); }, std::chrono::milliseconds(3000)))
    throw Error("e1000: link did not come up within 3 s (STATUS=0x" + [&] {
      char b[16];
      std::snprintf(b, sizeof b, "%08x", regs_.read32(STATUS));
      return std::string(b);
    }() + "); is a cable (qemu: -netdev) attached?");
  for (int i = 0; i < kMtaEntries; ++i) regs_.write32(MTA + 4 * i, 0);
  read_hw_stats();  // clear-on-read: start from zero
  st_ = {};
}

std::uint16_t E1000::phy_read(std::uint32_t reg) {
  regs_.write32(MDIC, (reg << MDIC_REG_SHIFT) | (kPhyAddr << MDIC_PHY_SHIFT) | MDIC_OP_READ);
  std::uint32_t v = 0;
  if (!wait_for([&] { return (v = regs_.read32(MDIC)) & MDIC_READY; }, std::chrono::milliseconds(100)) ||
      (v & MDIC_ERROR))
    throw Error("e1000: PHY register " + std::to_string(reg) + " read failed (MDIC)");
  return static_cast<std::uint16_t>(v);
}

void E1000::phy_write(std::uint32_t reg, std::uint16_t val) {
  regs_.write32(MDIC, val | (reg << MDIC_REG_SHIFT) | (kPhyAddr << MDIC_PHY_SHIFT) | MDIC_OP_WRITE);
  std::uint32_t v = 0;
  if (!wait_for([&] { return (v = regs_.read32(MDIC)) & MDIC_READY; }, std::chrono::milliseconds(100)) ||
      (v & MDIC_ERROR))
    throw Error("e1000: PHY register " + std::to_string(reg) + " write failed (MDIC)");
}

bool E1000::link_up() const { return regs_.read32(STATUS) & STATUS_LU; }

void E1000::read_mac() {
  bool ok = true;
  for (std::uint32_t word = 0; word < 3 && ok; ++word) {
    regs_.write32(EERD, EERD_START | (word << EERD_ADDR_SHIFT));
    std::uint32_t v = 0;
    ok = wait_for([&] { return (v = regs_.read32(EERD)) & EERD_DONE; }, std::chrono::milliseconds(10));
    mac_[2 * word] = static_cast<std::uint8_t>(v >> EERD_DATA_SHIFT);
    mac_[2 * word + 1] = static_cast<std::uint8_t>(v >> (EERD_DATA_SHIFT + 8));
  }
  if (!ok) {  // no EEPROM answer: the receive address the NIC loaded at reset
    std::uint32_t lo = regs_.read32(RAL0), hi = regs_.read32(RAH0);
    if (!(hi & RAH_AV)) throw Error("e1000: no MAC address (EEPROM did not answer and RAH0 is not valid)");
    for (int i = 0; i < 4; ++i) mac_[i] = static_cast<std::uint8_t>(lo >> (8 * i));
    mac_[4] = static_cast<std::uint8_t>(hi);
    mac_[5] = static_cast<std::uint8_t>(hi >> 8);
  }
  regs_.write32(RAL0, mac_[0] | mac_[1] << 8 | mac_[2] << 16 | static_cast<std::uint32_t>(mac_[3]) << 24);
  regs_.write32(RAH0, mac_[4] | mac_[5] << 8 | RAH_AV);
}

void E1000::init_rx() {
  std::vector<pkt::Mbuf*> bufs(opt_.rx_ring);
  if (pkt::Mbuf::alloc_bulk(pool_, bufs.data(), opt_.rx_ring) != pkt::Status::Ok)
    throw Error("e1000: pool '" + pool_.name() + "' has no " + std::to_string(opt_.rx_ring) + " free mbufs for the receive ring");
  for (std::uint16_t i = 0; i < opt_.rx_ring; ++i) {
    rx_bufs_[i] = bufs[i];
    rx_[i].addr = bufs[i]->data_iova();
    rx_[i].length = 0;
    rx_[i].status = 0;
    rx_[i].errors = 0;
  }
  rx_next_ = 0;
  dma_wmb();
  regs_.write32(RDBAL, static_cast<std::uint32_t>(ring_iova_));
  regs_.write32(RDBAH, static_cast<std::uint32_t>(ring_iova_ >> 32));
  regs_.write32(RDLEN, opt_.rx_ring * sizeof(RxDesc));
  regs_.write32(RDH, 0);
  regs_.write32(RDT, rx_mask_);  // all but one descriptor belong to the NIC
  regs_.write32(RDTR, 0);
  std::uint32_t rctl = RCTL_EN | RCTL_BAM | RCTL_SECRC | RCTL_BSIZE_2048;
  if (opt_.promiscuous) rctl |= RCTL_UPE | RCTL_MPE;
  regs_.write32(RCTL, rctl);  // once
}

void E1000::init_tx() {
  std::uint64_t base = ring_iova_ + std::uint64_t{opt_.rx_ring} * sizeof(RxDesc);
  for (std::uint16_t i = 0; i < opt_.tx_ring; ++i) {
    tx_[i].addr = 0;
    tx_[i].cmd = 0;
    tx_[i].status = TXD_STAT_DD;  // free
  }
  tx_tail_ = tx_clean_ = 0;
  dma_wmb();
  regs_.write32(TDBAL, static_cast<std::uint32_t>(base));
  regs_.write32(TDBAH, static_cast<std::uint32_t>(base >> 32));
  regs_.write32(TDLEN, opt_.tx_ring * sizeof(TxDesc));
  regs_.write32(TDH, 0);
  regs_.write32(TDT, 0);
  regs_.write32(TIPG, TIPG_82540);
  regs_.write32(TCTL, TCTL_EN | TCTL_PSP | (0x0Fu << TCTL_CT_SHIFT) | (0x40u << TCTL_COLD_SHIFT) | TCTL_RTLC);
}

std::uint16_t E1000::rx_burst(pkt::Mbuf** out, std::uint16_t n) {
  constexpr std::uint16_t kChunk = 64;  // descriptors replaced per bulk allocation
  std::uint16_t got = 0;
  bool moved = false;
  while (got < n) {
    // Completed descriptors waiting (at most a chunk): one bulk allocation refills them all.
    std::uint16_t want = static_cast<std::uint16_t>(std::min<int>(kChunk, n - got));
    std::uint16_t ready = 0;
    while (ready < want && (rx_[(rx_next_ + ready) & rx_mask_].status & RXD_STAT_DD)) ++ready;
    if (!ready) break;
    dma_rmb();  // the descriptors' other fields and the data after their DD bits
    pkt::Mbuf* fresh[kChunk];
    if (pkt::Mbuf::alloc_bulk(pool_, fresh, ready) != pkt::Status::Ok) {
      std::uint16_t k = 0;  // the pool is short: take what there is
      while (k < ready && (fresh[k] = pkt::Mbuf::alloc(pool_))) ++k;
      if (!k) {
        ++st_.rx_nombuf;  // frames stay in the ring; the caller frees some and calls again
        break;
      }
      ready = k;
    }
    std::uint16_t used = 0;
    for (std::uint16_t i = 0; i < ready; ++i) {
      volatile RxDesc& d = rx_[rx_next_];
      std::uint8_t status = d.status, errors = d.errors;
      std::uint16_t len = d.length;
      pkt::Mbuf* m = rx_bufs_[rx_next_];
      if ((status & RXD_STAT_EOP) && !(errors & RXD_ERR_FRAME)) {
        m->data_len = len;
        m->pkt_len = len;
        out[got++] = m;
        ++st_.rx_packets;
        st_.rx_bytes += len;
        rx_bufs_[rx_next_] = m = fresh[used++];
      } else {
        ++st_.rx_errors;  // a bad or split frame: dropped, its buffer re-armed
      }
      d.addr = m->data_iova();
      d.errors = 0;
      d.status = 0;
      rx_next_ = static_cast<std::uint16_t>((rx_next_ + 1) & rx_mask_);
      moved = true;
    }
    pkt::Mbuf::free_bulk(fresh + used, ready - used);
  }
  if (moved) {
    dma_wmb();
    regs_.write32(RDT, static_cast<std::uint16_t>((rx_next_ - 1) & rx_mask_));
  }
  return got;
}

std::uint64_t E1000::rx_desc_addr(std::uint16_t i) const { return rx_[i & rx_mask_].addr; }
void E1000::set_rx_desc_addr(std::uint16_t i, std::uint64_t iova) {
  rx_[i & rx_mask_].addr = iova;
  dma_wmb();
}

// Completed descriptors give their packets back in bursts: each packet's chain is held at its
// last (EOP) descriptor, so it goes back whole once the NIC is done with every segment.
void E1000::tx_clean() {
  constexpr std::uint16_t kChunk = 64;
  pkt::Mbuf* done[kChunk];
  std::uint16_t k = 0;
  while (tx_clean_ != tx_tail_ && (tx_[tx_clean_].status & TXD_STAT_DD)) {
    if (pkt::Mbuf* m = std::exchange(tx_bufs_[tx_clean_], nullptr)) {
      done[k++] = m;
      if (k == kChunk) {
        pkt::Mbuf::free_bulk(done, k);
        k = 0;
      }
    }
    tx_clean_ = static_cast<std::uint16_t>((tx_clean_ + 1) & tx_mask_);
  }
  pkt::Mbuf::free_bulk(done, k);
}

std::uint16_t E1000::tx_burst(pkt::Mbuf** pkts, std::uint16_t n) {
  tx_clean();
  std::uint16_t sent = 0;
  for (; sent < n; ++sent) {
    pkt::Mbuf* p = pkts[sent];
    std::uint32_t free_slots = tx_mask_ - ((tx_tail_ - tx_clean_) & tx_mask_);  // one stays empty
    if (p->nb_segs > free_slots) break;
    for (pkt::Mbuf* s = p; s; s = s->next) {
      volatile TxDesc& d = tx_[tx_tail_];
      d.addr = s->data_iova();
      d.length = s->data_len;
      d.cso = 0;
      d.css = 0;
      d.special = 0;
      d.status = 0;
      d.cmd = static_cast<std::uint8_t>(TXD_CMD_IFCS | TXD_CMD_RS | (s->next ? 0 : TXD_CMD_EOP));
      tx_bufs_[tx_tail_] = s->next ? nullptr : p;  // the whole chain, at its last descriptor
      tx_tail_ = static_cast<std::uint16_t>((tx_tail_ + 1) & tx_mask_);
    }
    ++st_.tx_packets;
    st_.tx_bytes += p->pkt_len;
  }
  if (sent) {
    dma_wmb();
    regs_.write32(TDT, tx_tail_);
  }
  return sent;
}

void E1000::read_hw_stats() {
  st_.hw_crc_errors += regs_.read32(CRCERRS);
  st_.hw_rx_missed += regs_.read32(MPC);
  st_.hw_rx_no_buf += regs_.read32(RNBC);
  st_.hw_rx_good += regs_.read32(GPRC);
  st_.hw_tx_good += regs_.read32(GPTC);
  std::uint64_t lo = regs_.read32(GORCL);  // low first: reading the high half clears both
  st_.hw_rx_bytes += lo | std::uint64_t{regs_.read32(GORCH)} << 32;
  lo = regs_.read32(GOTCL);
  st_.hw_tx_bytes += lo | std::uint64_t{regs_.read32(GOTCH)} << 32;
}

NicStats E1000::stats() {
  read_hw_stats();
  return st_;
}

}  // namespace hm::vfio
