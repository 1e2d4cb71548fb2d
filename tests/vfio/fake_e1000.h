// A software 82540EM for host tests: a register file with the behaviour the driver relies on
// (self-clearing reset, link up, EEPROM reads, clear-on-read statistics) and descriptor
// processing like QEMU's model: a TDT write sends every descriptor up to the tail at once and
// hands each frame to the peer; a frame arrives into the next RX descriptor when the ring has
// one and waits (like QEMU's net queue) until RDT is written when it has none. DMA goes through
// FakeDma, which — like an IOMMU — refuses addresses that are not mapped and counts the faults.
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "../../vfio/e1000_regs.h"
#include "hugemem/vfio/iova.h"
#include "hugemem/vfio/nic.h"

namespace hm::vfio::test {

class FakeDma : public DmaSpace {
 public:
  std::uint64_t map(void* va, std::size_t len) override {
    std::uint64_t iova = alloc_.alloc(len, IovaAllocator::natural_align(len));
    if (!iova) throw Error("fake: out of IOVA");
    maps_[iova] = {static_cast<std::uint8_t*>(va), len};
    return iova;
  }
  void unmap(std::uint64_t iova) override {
    auto it = maps_.find(iova);
    if (it == maps_.end()) throw Error("fake: unmap of an IOVA that was never mapped");
    alloc_.free(iova, it->second.len);
    maps_.erase(it);
  }
  // The device's view: nullptr (a fault) unless [iova, iova+len) lies in one mapping.
  std::uint8_t* translate(std::uint64_t iova, std::size_t len) {
    auto it = maps_.upper_bound(iova);
    if (it == maps_.begin()) return fault();
    --it;
    if (iova + len > it->first + it->second.len) return fault();
    return it->second.va + (iova - it->first);
  }
  std::size_t live() const { return maps_.size(); }
  int faults = 0;

 private:
  std::uint8_t* fault() {
    ++faults;
    return nullptr;
  }
  struct M {
    std::uint8_t* va;
    std::size_t len;
  };
  IovaAllocator alloc_;
  std::map<std::uint64_t, M> maps_;
};

class FakeE1000 : public RegIo {
 public:
  FakeE1000(FakeDma& dma, std::uint8_t last_mac_byte) : dma_(dma), regs_(e1000::kBar0Size / 4, 0) {
    eeprom_[0] = 0x5452;  // 52:54:00:12:34:xx
    eeprom_[1] = 0x1200;
    eeprom_[2] = static_cast<std::uint16_t>(0x34 | last_mac_byte << 8);
    power_on();
  }
  void connect(FakeE1000* peer) { peer_ = peer; }

  std::uint32_t read32(std::uint32_t off) override {
    ++reads;
    std::uint32_t v = r(off);
    if (off >= 0x4000 && off < 0x4100) r(off) = 0;  // statistics clear on read
    return v;
  }
  void write32(std::uint32_t off, std::uint32_t v) override {
    ++writes;
    using namespace e1000;
    if (off == RCTL) ++rctl_writes;
    if (off == CTRL && (v & CTRL_RST)) {
      ++resets;
      power_on();
      return;
    }
    if (off == MDIC) {
      std::uint32_t reg = (v >> MDIC_REG_SHIFT) & 31, phy = (v >> MDIC_PHY_SHIFT) & 31;
      if (phy != kPhyAddr) {
        r(MDIC) = v | MDIC_READY | MDIC_ERROR;
      } else if (v & MDIC_OP_WRITE) {
        phy_[reg] = static_cast<std::uint16_t>(v);
        r(MDIC) = v | MDIC_READY;
      } else {
        r(MDIC) = (v & ~0xffffu) | phy_[reg] | MDIC_READY;
      }
      return;
    }
    if (off == EERD) {
      if (v & EERD_START) {
        std::uint32_t a = (v >> EERD_ADDR_SHIFT) & 0xff;
        r(EERD) = EERD_DONE | (a << EERD_ADDR_SHIFT) | std::uint32_t{a < 64 ? eeprom_[a] : 0xffffu} << EERD_DATA_SHIFT;
      }
      return;
    }
    r(off) = v;
    if (off == TDT) transmit();
    if (off == RDT) flush_pending();
  }

  std::uint32_t& r(std::uint32_t off) { return regs_[off / 4]; }
  int reads = 0, writes = 0, resets = 0, rctl_writes = 0;
  std::uint16_t phy(std::uint32_t reg) const { return phy_[reg]; }
  bool drop_when_full = false;  // a real NIC's FIFO overflow instead of QEMU's queueing
  std::vector<std::vector<std::uint8_t>> sent;  // every frame that left, for tests

 private:
  void power_on() {
    std::fill(regs_.begin(), regs_.end(), 0);  // the PHY keeps its registers (as in QEMU)
    r(e1000::STATUS) = e1000::STATUS_LU | e1000::STATUS_FD;
    r(e1000::RAL0) = 0x00545452u;
  }
  void transmit() {
    using namespace e1000;
    if (!(r(TCTL) & TCTL_EN)) return;
    std::uint32_t n = r(TDLEN) / 16;
    std::uint64_t base = r(TDBAL) | std::uint64_t{r(TDBAH)} << 32;
    while (r(TDH) != r(TDT)) {
      auto* d = reinterpret_cast<TxDesc*>(dma_.translate(base + r(TDH) * 16ull, 16));
      if (!d) return;  // a real NIC would hang; stop
      if (std::uint8_t* p = dma_.translate(d->addr, d->length)) frame_.insert(frame_.end(), p, p + d->length);
      else frame_.insert(frame_.end(), d->length, 0);  // the read failed: zeros go out
      if (d->cmd & TXD_CMD_EOP) {
        ++r(GPTC);
        r(GOTCL) += static_cast<std::uint32_t>(frame_.size() + 4);
        sent.push_back(frame_);
        if (phy_[e1000::PHY_CTRL] & e1000::PHY_CTRL_LOOPBACK) receive(frame_);
        else if (peer_) peer_->receive(frame_);
        frame_.clear();
      }
      if (d->cmd & TXD_CMD_RS) d->status |= TXD_STAT_DD;
      r(TDH) = (r(TDH) + 1) % n;
    }
  }
  void receive(const std::vector<std::uint8_t>& f) {
    using namespace e1000;
    if (!(r(RCTL) & RCTL_EN)) return;
    const std::uint8_t* dst = f.data();
    bool ours = std::memcmp(dst, mac(), 6) == 0 || (dst[0] == 0xff && (r(RCTL) & RCTL_BAM)) || (r(RCTL) & RCTL_UPE);
    if (!ours) return;
    pending_.push_back(f);
    flush_pending();
  }
  void flush_pending() {
    using namespace e1000;
    std::uint32_t n = r(RDLEN) / 16;
    if (!n) return;
    std::uint64_t base = r(RDBAL) | std::uint64_t{r(RDBAH)} << 32;
    while (!pending_.empty()) {
      if (r(RDH) == r(RDT)) {  // no descriptor free
        ++r(RNBC);
        if (drop_when_full) {
          ++r(MPC);
          pending_.pop_front();
          continue;
        }
        return;
      }
      auto& f = pending_.front();
      auto* d = reinterpret_cast<RxDesc*>(dma_.translate(base + r(RDH) * 16ull, 16));
      if (!d) return;
      if (std::uint8_t* p = dma_.translate(d->addr, f.size())) std::memcpy(p, f.data(), f.size());
      d->length = static_cast<std::uint16_t>(f.size());
      d->errors = 0;
      d->status = RXD_STAT_DD | RXD_STAT_EOP;
      ++r(GPRC);
      r(GORCL) += static_cast<std::uint32_t>(f.size() + 4);
      r(RDH) = (r(RDH) + 1) % n;
      pending_.pop_front();
    }
  }
  const std::uint8_t* mac() {
    mac_[0] = static_cast<std::uint8_t>(r(e1000::RAL0));
    mac_[1] = static_cast<std::uint8_t>(r(e1000::RAL0) >> 8);
    mac_[2] = static_cast<std::uint8_t>(r(e1000::RAL0) >> 16);
    mac_[3] = static_cast<std::uint8_t>(r(e1000::RAL0) >> 24);
    mac_[4] = static_cast<std::uint8_t>(r(e1000::RAH0));
    mac_[5] = static_cast<std::uint8_t>(r(e1000::RAH0) >> 8);
    return mac_;
  }

  FakeDma& dma_;
  std::vector<std::uint32_t> regs_;
  std::uint16_t eeprom_[64] = {};
  std::uint16_t phy_[32] = {0x1140};  // control: autoneg on, full duplex, 1000 Mb/s
  std::uint8_t mac_[6] = {};
  FakeE1000* peer_ = nullptr;
  std::vector<std::uint8_t> frame_;
  std::deque<std::vector<std::uint8_t>> pending_;
};

}  // namespace hm::vfio::test
