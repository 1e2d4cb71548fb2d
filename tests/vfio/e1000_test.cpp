// The e1000 driver's ring logic against a fake register file and a fake IOMMU (fake_e1000.h):
// bring-up, RX/TX descriptor handling, ownership of mbufs, statistics, and the loopback check.
#include <gtest/gtest.h>

#include "../../vfio/e1000_regs.h"
#include "fake_e1000.h"
#include "hugemem/vfio/e1000.h"
#include "hugemem/vfio/loopback.h"

namespace v = hm::vfio;
using v::test::FakeDma;
using v::test::FakeE1000;

namespace {

std::unique_ptr<hm::pkt::Pool> make_pool(std::uint32_t count = 1024, std::uint16_t data_room = 2048) {
  hm::pkt::Config c;
  c.name = "e1000-test";
  c.count = count;
  c.data_room = data_room;
  c.best = hm::pkt::Backing::Small;
  c.cache_size = 0;  // every mbuf is countable in the ring
  return hm::pkt::Pool::create(c);
}

struct Rig {
  FakeDma dma;
  std::unique_ptr<hm::pkt::Pool> pool = make_pool();
  std::unique_ptr<v::PoolDma> pool_dma = std::make_unique<v::PoolDma>(dma, *pool);
  FakeE1000 fa{dma, 0x56}, fb{dma, 0x57};
  std::unique_ptr<v::E1000> a, b;
  explicit Rig(v::NicOptions o = {}) {
    fa.connect(&fb);
    fb.connect(&fa);
    a = std::make_unique<v::E1000>(fa, dma, *pool, o);
    b = std::make_unique<v::E1000>(fb, dma, *pool, o);
  }
  std::uint32_t free_mbufs() { return pool->stats().in_ring + pool->stats().in_caches; }
};

hm::pkt::Mbuf* frame(hm::pkt::Pool& p, const v::MacAddr& dst, std::uint16_t len, std::uint8_t fill) {
  auto* m = hm::pkt::Mbuf::alloc(p);
  auto* d = reinterpret_cast<std::uint8_t*>(m->append(len));
  std::memset(d, fill, len);
  std::memcpy(d, dst.data(), 6);
  return m;
}

}  // namespace

TEST(E1000, BringUpResetsLinksReadsMacAndWritesRctlOnce) {
  Rig r;
  EXPECT_EQ(r.fa.resets, 1);
  EXPECT_EQ(r.fa.rctl_writes, 2);  // cleared before the reset, enabled once after it
  EXPECT_EQ(v::mac_string(r.a->mac()), "52:54:00:12:34:56");
  EXPECT_EQ(v::mac_string(r.b->mac()), "52:54:00:12:34:57");
  EXPECT_TRUE(r.a->link_up());
  using namespace v::e1000;
  EXPECT_EQ(r.fa.r(RDLEN), 256u * 16);
  EXPECT_EQ(r.fa.r(RDT), 255u);  // all descriptors but one to the NIC
  EXPECT_EQ(r.fa.r(RAH0) & RAH_AV, RAH_AV);
  EXPECT_TRUE(r.fa.r(RCTL) & RCTL_EN);
  EXPECT_TRUE(r.fa.r(RCTL) & RCTL_SECRC);
  EXPECT_TRUE(r.fa.r(TCTL) & TCTL_EN);
  EXPECT_EQ(r.fa.r(IMS), 0u);  // poll mode
  EXPECT_EQ(r.dma.live(), 3u);  // pool + two rings
}

TEST(E1000, RejectsPoolsThatCannotBackTheRing) {
  FakeDma dma;
  auto small_room = make_pool(1024, 1500);
  v::PoolDma pd(dma, *small_room);
  FakeE1000 f(dma, 1);
  try {
    v::E1000 nic(f, dma, *small_room);
    FAIL() << "accepted 1500-byte buffers";
  } catch (const v::Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_room >= 2048"), std::string::npos) << e.what();
  }
  auto few = make_pool(200);
  v::PoolDma pd2(dma, *few);
  EXPECT_THROW(v::E1000(f, dma, *few), v::Error);
  v::NicOptions odd;
  odd.rx_ring = 100;
  auto ok = make_pool();
  v::PoolDma pd3(dma, *ok);
  EXPECT_THROW(v::E1000(f, dma, *ok, odd), v::Error);
  EXPECT_EQ(dma.live(), 3u) << "a failed bring-up leaves its rings unmapped";
}

TEST(E1000, FramesGoFromTxRingToPeerRxRingIntact) {
  Rig r;
  hm::pkt::Mbuf* out[4];
  for (int i = 0; i < 4; ++i) out[i] = frame(*r.pool, r.b->mac(), static_cast<std::uint16_t>(60 + i * 100), static_cast<std::uint8_t>(i + 1));
  EXPECT_EQ(r.a->tx_burst(out, 4), 4);
  hm::pkt::Mbuf* in[8];
  ASSERT_EQ(r.b->rx_burst(in, 8), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(in[i]->data_len, 60 + i * 100);
    EXPECT_EQ(in[i]->pkt_len, in[i]->data_len);
    EXPECT_EQ(in[i]->mtod<std::uint8_t>()[20], i + 1);
    hm::pkt::Mbuf::free(in[i]);
  }
  EXPECT_EQ(r.b->rx_burst(in, 8), 0);
  using namespace v::e1000;
  EXPECT_EQ(r.fb.r(RDT), 3u) << "RDT follows the refilled descriptors";
}

TEST(E1000, ChainedMbufsUseOneDescriptorPerSegment) {
  Rig r;
  auto* head = frame(*r.pool, r.b->mac(), 100, 0xaa);
  auto* tail = hm::pkt::Mbuf::alloc(*r.pool);
  std::memset(tail->append(50), 0xbb, 50);
  ASSERT_TRUE(head->chain(tail));
  EXPECT_EQ(r.a->tx_burst(&head, 1), 1);
  hm::pkt::Mbuf* in;
  ASSERT_EQ(r.b->rx_burst(&in, 1), 1);
  ASSERT_EQ(in->data_len, 150);
  EXPECT_EQ(in->mtod<std::uint8_t>()[99], 0xaa);
  EXPECT_EQ(in->mtod<std::uint8_t>()[100], 0xbb);
  hm::pkt::Mbuf::free(in);
  using namespace v::e1000;
  EXPECT_EQ(r.fa.r(TDT), 2u);
}

TEST(E1000, TxRingFullTakesOnlyWhatFitsAndReclaimsSentMbufs) {
  v::NicOptions o;
  o.tx_ring = 8;
  o.rx_ring = 8;
  Rig r(o);
  // The peer's RX ring holds 7; the rest waits in the "wire". TX completes at once (QEMU-like),
  // so the TX ring never fills: make the peer drop instead and check ownership.
  std::uint32_t before = r.free_mbufs();
  hm::pkt::Mbuf* out[20];
  for (auto& m : out) m = frame(*r.pool, r.b->mac(), 64, 1);
  std::uint16_t k = r.a->tx_burst(out, 20);
  EXPECT_EQ(k, 7) << "one descriptor always stays empty";
  for (int i = k; i < 20; ++i) hm::pkt::Mbuf::free(out[i]);
  EXPECT_EQ(r.a->tx_in_flight(), 7);
  EXPECT_EQ(r.a->tx_burst(out, 0), 0);  // reclaims the sent ones
  EXPECT_EQ(r.a->tx_in_flight(), 0);
  hm::pkt::Mbuf* in[8];
  std::uint16_t got = r.b->rx_burst(in, 8);
  for (int i = 0; i < got; ++i) hm::pkt::Mbuf::free(in[i]);
  while ((got = r.b->rx_burst(in, 8)))
    for (int i = 0; i < got; ++i) hm::pkt::Mbuf::free(in[i]);
  EXPECT_EQ(r.free_mbufs(), before) << "every mbuf back in the pool";
}

TEST(E1000, BadFramesAreDroppedAndTheirBufferReused) {
  Rig r;
  using namespace v::e1000;
  // Pretend the NIC completed descriptor 0 with a CRC error.
  auto* d = reinterpret_cast<RxDesc*>(r.dma.translate(r.b->ring_iova(), 16));
  d->length = 64;
  d->errors = RXD_ERR_CE;
  d->status = RXD_STAT_DD | RXD_STAT_EOP;
  std::uint64_t addr = d->addr;
  hm::pkt::Mbuf* in[4];
  EXPECT_EQ(r.b->rx_burst(in, 4), 0);
  EXPECT_EQ(r.b->stats().rx_errors, 1u);
  EXPECT_EQ(d->addr, addr);
  EXPECT_EQ(d->status, 0);
}

TEST(E1000, StatisticsAccumulateClearOnReadRegisters) {
  Rig r;
  hm::pkt::Mbuf* out[3];
  for (auto& m : out) m = frame(*r.pool, r.b->mac(), 100, 2);
  ASSERT_EQ(r.a->tx_burst(out, 3), 3);
  v::NicStats s = r.a->stats();
  EXPECT_EQ(s.tx_packets, 3u);
  EXPECT_EQ(s.tx_bytes, 300u);
  EXPECT_EQ(s.hw_tx_good, 3u);
  EXPECT_EQ(s.hw_tx_bytes, 312u);  // with CRC
  EXPECT_EQ(r.a->stats().hw_tx_good, 3u) << "accumulated, not lost to clear-on-read";
  hm::pkt::Mbuf* in[4];
  ASSERT_EQ(r.b->rx_burst(in, 4), 3);
  for (auto* m : in) if (m) {}
  for (int i = 0; i < 3; ++i) hm::pkt::Mbuf::free(in[i]);
  v::NicStats sb = r.b->stats();
  EXPECT_EQ(sb.rx_packets, 3u);
  EXPECT_EQ(sb.hw_rx_good, 3u);
}

TEST(E1000, DestructorStopsTheNicAndGivesEverythingBack) {
  FakeDma dma;
  auto pool = make_pool();
  std::uint32_t total = pool->count();
  {
    v::PoolDma pd(dma, *pool);
    FakeE1000 f(dma, 3);
    {
      v::E1000 nic(f, dma, *pool);
      EXPECT_LT(pool->stats().in_ring, total);
    }
    using namespace v::e1000;
    EXPECT_EQ(f.r(RCTL), 0u);
    EXPECT_EQ(f.resets, 2);
    EXPECT_EQ(dma.live(), 1u);
  }
  EXPECT_EQ(pool->stats().in_ring, total);
  EXPECT_EQ(dma.live(), 0u);
}

TEST(E1000, PoolDmaPointsMbufIovasAtTheDevice) {
  FakeDma dma;
  auto pool = make_pool();
  v::PoolDma pd(dma, *pool);
  ASSERT_EQ(pd.iovas().size(), pool->chunks().size());
  auto* m = hm::pkt::Mbuf::alloc(*pool);
  EXPECT_GE(m->buf_iova, v::kDefaultIovaBase);
  EXPECT_EQ(dma.translate(m->data_iova(), 2048), m->mtod<std::uint8_t>());
  hm::pkt::Mbuf::free(m);
}

TEST(Loopback, EveryFrameArrivesIntact) {
  Rig r;
  v::LoopbackConfig c;
  c.frames = 5000;
  c.frame_len = 1000;
  v::LoopbackResult res = v::run_loopback(*r.a, *r.b, *r.pool, c);
  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.sent, 5000u);
  EXPECT_EQ(res.received, 5000u);
  EXPECT_EQ(res.lost, 0u);
  EXPECT_EQ(res.corrupted, 0u);
}

TEST(Loopback, CountsLossWhenTheReceiverDrops) {
  v::NicOptions o;
  o.rx_ring = 8;
  Rig r(o);
  r.fb.drop_when_full = true;
  v::LoopbackConfig c;
  c.frames = 200;
  c.window = 64;  // more in flight than the receiver's ring holds
  c.idle_limit = std::chrono::milliseconds(200);
  v::LoopbackResult res = v::run_loopback(*r.a, *r.b, *r.pool, c, 8);
  EXPECT_FALSE(res.ok());
  EXPECT_GT(res.lost, 0u);
  EXPECT_EQ(res.received + res.lost, res.sent);
  EXPECT_GT(r.b->stats().hw_rx_missed, 0u);
}

TEST(Loopback, DetectsOneFlippedByte) {
  std::uint8_t f[256];
  v::MacAddr a{1, 2, 3, 4, 5, 6}, b{7, 8, 9, 10, 11, 12};
  v::build_frame(f, sizeof f, 42, a, b, 0x88B5);
  bool intact;
  EXPECT_EQ(v::check_frame(f, sizeof f, sizeof f, a, b, 0x88B5, &intact), 42);
  EXPECT_TRUE(intact);
  for (std::size_t i : {std::size_t{0}, std::size_t{30}, std::size_t{200}, sizeof f - 1}) {
    f[i] ^= 0x10;
    std::int64_t seq = v::check_frame(f, sizeof f, sizeof f, a, b, 0x88B5, &intact);
    EXPECT_TRUE(seq < 0 || !intact) << "byte " << i;
    f[i] ^= 0x10;
  }
  EXPECT_EQ(v::check_frame(f, 100, sizeof f, a, b, 0x88B5, &intact), 42);
  EXPECT_FALSE(intact) << "truncated";
}

TEST(Loopback, CorruptingDeviceIsCaught) {
  // A wire that flips a bit in every 100th frame: the receiver must report them corrupted.
  Rig r;
  struct Flipper : v::Nic {
    v::Nic& inner;
    int n = 0;
    explicit Flipper(v::Nic& i) : inner(i) {}
    const char* driver() const override { return "flipper"; }
    v::MacAddr mac() const override { return inner.mac(); }
    bool link_up() const override { return true; }
    std::uint16_t rx_burst(hm::pkt::Mbuf** out, std::uint16_t k) override {
      std::uint16_t got = inner.rx_burst(out, k);
      for (std::uint16_t i = 0; i < got; ++i)
        if (++n % 100 == 0) out[i]->mtod<std::uint8_t>()[out[i]->data_len / 2] ^= 1;
      return got;
    }
    std::uint16_t tx_burst(hm::pkt::Mbuf** p, std::uint16_t k) override { return inner.tx_burst(p, k); }
    v::NicStats stats() override { return inner.stats(); }
  } flip(*r.b);
  v::LoopbackConfig c;
  c.frames = 1000;
  v::LoopbackResult res = v::run_loopback(*r.a, flip, *r.pool, c);
  EXPECT_FALSE(res.ok());
  EXPECT_GE(res.corrupted, 9u);
  EXPECT_EQ(res.received + res.corrupted, 1000u);
}

TEST(FakeIommu, DeviceCannotReachUnmappedMemory) {
  // The host-side mirror of the guest's IOMMU test: RX descriptor aimed at an unmapped IOVA.
  Rig r;
  using namespace v::e1000;
  auto* d = reinterpret_cast<RxDesc*>(r.dma.translate(r.b->ring_iova(), 16));
  std::uint64_t good = d->addr;
  d->addr = 0x7000'0000'0000ull;  // nothing is mapped there
  auto* m = frame(*r.pool, r.b->mac(), 64, 9);
  ASSERT_EQ(r.a->tx_burst(&m, 1), 1);
  EXPECT_EQ(r.dma.faults, 1);
  d->addr = good;
}

TEST(Loopback, OneNicInPhyLoopback) {
  FakeDma dma;
  auto pool = make_pool();
  v::PoolDma pd(dma, *pool);
  FakeE1000 f(dma, 9), other(dma, 10);
  f.connect(&other);
  v::NicOptions o;
  o.phy_loopback = true;
  v::E1000 nic(f, dma, *pool, o);
  v::LoopbackConfig c;
  c.frames = 2000;
  v::LoopbackResult res = v::run_loopback(nic, nic, *pool, c);
  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.received, 2000u);
  EXPECT_TRUE(other.sent.empty()) << "nothing went out on the wire";
}

TEST(E1000, PhyLoopbackIsClearedForTheNextUser) {
  // The MAC reset leaves the PHY alone, so a driver that only ever sets the bit would leave the
  // next user's frames looping back.
  FakeDma dma;
  auto pool = make_pool();
  v::PoolDma pd(dma, *pool);
  FakeE1000 f(dma, 9);
  v::NicOptions lo;
  lo.phy_loopback = true;
  { v::E1000 nic(f, dma, *pool, lo); EXPECT_TRUE(f.phy(v::e1000::PHY_CTRL) & v::e1000::PHY_CTRL_LOOPBACK); }
  EXPECT_FALSE(f.phy(v::e1000::PHY_CTRL) & v::e1000::PHY_CTRL_LOOPBACK) << "left in loopback";
  f.write32(v::e1000::MDIC, v::e1000::PHY_CTRL_LOOPBACK | v::e1000::kPhyAddr << v::e1000::MDIC_PHY_SHIFT |
                                v::e1000::MDIC_OP_WRITE);  // someone else left it set
  v::E1000 nic(f, dma, *pool);
  EXPECT_FALSE(f.phy(v::e1000::PHY_CTRL) & v::e1000::PHY_CTRL_LOOPBACK);
}

TEST(E1000, ShortPoolLeavesFramesInTheRingUntilMbufsComeBack) {
  FakeDma dma;
  auto pool = make_pool(200);
  v::PoolDma pd(dma, *pool);
  FakeE1000 fa(dma, 1), fb(dma, 2);
  fa.connect(&fb);
  v::NicOptions o;
  o.rx_ring = o.tx_ring = 64;
  v::E1000 a(fa, dma, *pool, o), b(fb, dma, *pool, o);
  hm::pkt::Mbuf* out[10];
  for (auto& m : out) m = frame(*pool, b.mac(), 100, 7);
  ASSERT_EQ(a.tx_burst(out, 10), 10);
  a.tx_burst(out, 0);  // reclaim the sent mbufs
  std::vector<hm::pkt::Mbuf*> hoard;
  while (auto* m = hm::pkt::Mbuf::alloc(*pool)) hoard.push_back(m);
  hm::pkt::Mbuf* in[16];
  EXPECT_EQ(b.rx_burst(in, 16), 0);
  EXPECT_GE(b.stats().rx_nombuf, 1u);
  for (int i = 0; i < 3; ++i) hm::pkt::Mbuf::free(hoard[static_cast<std::size_t>(i)]);
  EXPECT_EQ(b.rx_burst(in, 16), 3) << "as many as there are mbufs to refill with";
  for (int i = 0; i < 3; ++i) hm::pkt::Mbuf::free(in[i]);
  for (std::size_t i = 3; i < hoard.size(); ++i) hm::pkt::Mbuf::free(hoard[i]);
  std::uint16_t k = b.rx_burst(in, 16);
  EXPECT_EQ(k, 7);
  for (int i = 0; i < k; ++i) {
    EXPECT_EQ(in[i]->mtod<std::uint8_t>()[50], 7);
    hm::pkt::Mbuf::free(in[i]);
  }
}
