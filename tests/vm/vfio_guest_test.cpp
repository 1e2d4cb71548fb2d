// VFIO on a real (emulated) IOMMU: runs inside the qemu guest that tests/vm boots, where two e1000
// NICs (8086:100e) are bound to vfio-pci and 1 GiB hugepages are reserved.
#include <gtest/gtest.h>

#include <string>

#include "hugemem/vfio/vfio.h"
#include "os/os.h"
#include "page/region.h"

namespace v = hm::vfio;

namespace {
std::vector<std::string> nics() { return v::find_pci(0x8086, 0x100e); }

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const v::Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(VfioGuest, TwoE1000BoundToVfioPci) {
  auto n = nics();
  ASSERT_EQ(n.size(), 2u);
  for (auto& bdf : n) EXPECT_GE(v::Group::number_of(bdf), 0) << bdf;
}

TEST(VfioGuest, DeviceConfigAndBar0) {
  v::Container c;
  auto d = v::open_device(c, nics().at(0));
  EXPECT_TRUE(c.iommu_set());
  EXPECT_EQ(d.device->vendor(), 0x8086);
  EXPECT_EQ(d.device->device_id(), 0x100e);
  v::RegionInfo r = d.device->region(0);
  EXPECT_EQ(r.size, 128u * 1024);
  EXPECT_TRUE(r.mmappable());
  d.device->enable_bus_master();
  EXPECT_TRUE(d.device->config_read16(0x04) & 0x4);
  v::Bar bar = d.device->map_bar(0);
  ASSERT_TRUE(bar);
  std::uint32_t status = bar.read32(0x0008);
  EXPECT_TRUE(status & 0x2) << "STATUS.LU " << std::hex << status;
}

TEST(VfioGuest, BothNicsShareOneContainer) {
  v::Container c;
  auto a = v::open_device(c, nics().at(0));
  auto b = v::open_device(c, nics().at(1));
  EXPECT_NE(a.group->number(), b.group->number());
}

TEST(VfioGuest, Maps1GiBHugepageAtAnAlignedIova) {
  auto r = hm::page::Region::create(std::size_t{1} << 30, hm::os::Backing::Huge1G, -1, "vfio-test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.backing(), hm::os::Backing::Huge1G) << "the guest boots with hugepagesz=1G hugepages=2";
  v::Container c;
  auto d = v::open_device(c, nics().at(0));
  std::uint64_t iova = c.map(r.base(), r.size());
  EXPECT_EQ(iova % (1ull << 30), 0u);
  EXPECT_GE(iova, v::kDefaultIovaBase);
  EXPECT_LT(iova + r.size(), 1ull << 39);
  EXPECT_EQ(c.mappings(), 1u);
  c.unmap(iova);
  EXPECT_EQ(c.mappings(), 0u);
  EXPECT_EQ(c.iovas().live(), 0u);
}

TEST(VfioGuest, ErrorsSayWhatToDo) {
  v::Container c;
  // DMA before a group joined: the container has no IOMMU yet.
  static char page[4096] __attribute__((aligned(4096)));
  std::string m = message_of([&] { c.map(page, sizeof page); });
  EXPECT_NE(m.find("attach a Group first"), std::string::npos) << m;

  auto d = v::open_device(c, nics().at(0));
  // The same group twice: busy.
  m = message_of([&] { v::Group g(c, d.group->number()); });
  EXPECT_NE(m.find("busy"), std::string::npos) << m;
  // Unmapping what was never mapped; a partial unmap.
  m = message_of([&] { c.unmap(0x123000); });
  EXPECT_NE(m.find("never mapped"), std::string::npos) << m;
  std::uint64_t iova = c.map(page, sizeof page);
  m = message_of([&] { c.unmap_at(iova, 2 * sizeof page); });
  EXPECT_NE(m.find("partial"), std::string::npos) << m;
  // An IOVA beyond the IOMMU's 39-bit address width.
  m = message_of([&] { c.map_at(page, sizeof page, 1ull << 45); });
  EXPECT_NE(m.find("VFIO_IOMMU_MAP_DMA"), std::string::npos) << m;
  c.unmap(iova);
}

TEST(VfioGuest, DeviceBoundToKernelDriverIsDiagnosed) {
  // Unbind the second NIC from vfio-pci: its group file disappears and the message says how to bind.
  std::string bdf = nics().at(1);
  std::string dev = "/sys/bus/pci/devices/" + bdf;
  FILE* f = std::fopen((dev + "/driver/unbind").c_str(), "w");
  ASSERT_TRUE(f);
  std::fputs(bdf.c_str(), f);
  std::fclose(f);
  std::string m = message_of([&] { v::Group::number_of(bdf); });
  EXPECT_NE(m.find("bound to no driver"), std::string::npos) << m;
  EXPECT_NE(m.find("drivers_probe"), std::string::npos) << m;
  // Bind it again for the programs that follow.
  f = std::fopen("/sys/bus/pci/drivers_probe", "w");
  ASSERT_TRUE(f);
  std::fputs(bdf.c_str(), f);
  std::fclose(f);
  EXPECT_GE(v::Group::number_of(bdf), 0);
}

// ---- The IOMMU's promise: the NIC reaches the pool and nothing else --------------------------

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "hugemem/vfio/e1000.h"
#include "hugemem/vfio/loopback.h"

namespace {

struct TwoNics {
  v::Container c;
  std::unique_ptr<hm::pkt::Pool> pool;
  v::OpenDevice da, db;
  std::unique_ptr<v::PoolDma> dma;
  std::unique_ptr<v::NicPort> a, b;
  TwoNics() {
    hm::pkt::Config pc;
    pc.name = "iommu-test";
    pc.count = 1024;
    pc.best = hm::pkt::Backing::Huge2M;
    pool = hm::pkt::Pool::create(pc);
    da = v::open_device(c, nics().at(0));
    db = v::open_device(c, nics().at(1));
    dma = std::make_unique<v::PoolDma>(c, *pool);
    a = v::open_nic(c, *da.device, *pool);
    b = v::open_nic(c, *db.device, *pool);
  }
  ~TwoNics() {
    a.reset();
    b.reset();
    dma.reset();
  }
  v::E1000& rx() { return static_cast<v::E1000&>(*b->nic); }
  // Sends one 256-byte frame A -> B filled with `fill` and returns what B received (nullptr: none).
  // Sends one frame from a and waits up to wait_ms for b to receive it (TCG on a loaded host can
  // take seconds: frames that must arrive get a long wait, frames the IOMMU should stop a short one).
  hm::pkt::Mbuf* send_one(std::uint8_t fill, int wait_ms = 1000) {
    auto* m = hm::pkt::Mbuf::alloc(*pool);
    auto* p = reinterpret_cast<std::uint8_t*>(m->append(256));
    std::memset(p, fill, 256);
    auto dst = b->nic->mac(), src = a->nic->mac();
    std::memcpy(p, dst.data(), 6);
    std::memcpy(p + 6, src.data(), 6);
    p[12] = 0x88;
    p[13] = 0xB5;
    if (a->nic->tx_burst(&m, 1) != 1) {
      hm::pkt::Mbuf::free(m);
      return nullptr;
    }
    hm::pkt::Mbuf* in = nullptr;
    for (int i = 0; i < wait_ms / 5 && !in; ++i) {
      if (b->nic->rx_burst(&in, 1) == 0) {
        in = nullptr;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return in;
  }
};

bool all_bytes(const std::uint8_t* p, std::size_t n, std::uint8_t v) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != v) return false;
  return true;
}

// Lines the kernel logged about DMA remapping faults since the last call.
std::vector<std::string> dmar_faults() {
  static int fd = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  std::vector<std::string> out;
  char buf[1024];
  for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf - 1)) != 0;) {
    if (n < 0) {
      if (errno == EPIPE) continue;  // overwritten records
      break;
    }
    buf[n] = 0;
    std::string line(buf);
    auto semi = line.find(';');
    if (semi != std::string::npos) line = line.substr(semi + 1);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (line.find("DMAR") != std::string::npos && line.find("fault") != std::string::npos) out.push_back(line);
  }
  return out;
}

// dmar_faults, waiting up to 3 s for the first one (the kernel logs a fault from its interrupt
// handler, which a loaded TCG guest may run late).
std::vector<std::string> dmar_faults_waiting() {
  std::vector<std::string> out = dmar_faults();
  for (int i = 0; i < 150 && out.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    out = dmar_faults();
  }
  return out;
}

}  // namespace

TEST(IommuGuest, NicWritesOnlyWhereTheIommuMapsMemory) {
  TwoNics t;
  // Warm-up (QEMU's e1000 holds frames for 1 s after RCTL is written) and a baseline.
  v::LoopbackConfig lc;
  lc.frames = 100;
  ASSERT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok());
  dmar_faults();

  // The victim: 2 MiB outside the pool, never mapped for the device, filled with a pattern.
  auto victim = hm::page::Region::create(std::size_t{2} << 20, hm::os::Backing::Huge2M, -1, "victim");
  ASSERT_TRUE(victim);
  auto* vb = static_cast<std::uint8_t*>(victim.base());
  std::memset(vb, 0x5A, victim.size());

  // Control: map the victim, aim the next RX descriptor at it: the frame lands there. This proves
  // the check below would see a write.
  std::uint64_t viova = t.c.map(victim.base(), victim.size());
  std::uint16_t slot = t.rx().rx_next();
  std::uint64_t own = t.rx().rx_desc_addr(slot);
  t.rx().set_rx_desc_addr(slot, viova + 4096);
  hm::pkt::Mbuf* in = t.send_one(0xC3, 10000);
  ASSERT_TRUE(in) << "the control frame did not arrive";
  EXPECT_TRUE(all_bytes(vb + 4096 + 14, 256 - 14, 0xC3)) << "a mapped IOVA must be written";
  hm::pkt::Mbuf::free(in);  // the descriptor's own mbuf, still unwritten; it is free to go
  t.rx().set_rx_desc_addr(slot, own);  // (the slot was refilled by rx_burst; keep the ring sane)

  // 1) A stale IOVA: the same address after unmapping it.
  t.c.unmap(viova);
  std::memset(vb, 0x5A, victim.size());
  slot = t.rx().rx_next();
  own = t.rx().rx_desc_addr(slot);
  auto* own_mbuf_data = static_cast<std::uint8_t*>(nullptr);
  t.rx().set_rx_desc_addr(slot, viova + 4096);
  in = t.send_one(0xC4);
  if (in) {
    own_mbuf_data = in->mtod<std::uint8_t>();
    EXPECT_FALSE(all_bytes(own_mbuf_data + 14, 64, 0xC4)) << "the frame went into the pool buffer";
    hm::pkt::Mbuf::free(in);
  }
  EXPECT_TRUE(all_bytes(vb, victim.size(), 0x5A)) << "the NIC wrote through a stale (unmapped) IOVA";
  auto faults = dmar_faults_waiting();
  for (auto& f : faults) std::printf("  kernel: %s\n", f.c_str());
  EXPECT_FALSE(faults.empty()) << "the IOMMU logged no DMA write fault";

  // 2) The victim's physical address: without an IOMMU this would overwrite it.
  std::uint64_t pa = hm::os::virt_to_phys(vb + 8192);
  if (pa) {
    std::printf("  victim at VA %p, PA 0x%llx; pool IOVAs start at 0x%llx\n", static_cast<void*>(vb + 8192),
                static_cast<unsigned long long>(pa), static_cast<unsigned long long>(t.dma->iovas()[0]));
    slot = t.rx().rx_next();
    t.rx().set_rx_desc_addr(slot, pa);
    in = t.send_one(0xC5);
    if (in) hm::pkt::Mbuf::free(in);
    EXPECT_TRUE(all_bytes(vb, victim.size(), 0x5A)) << "the NIC wrote to a physical address it was not given";
    faults = dmar_faults_waiting();
    for (auto& f : faults) std::printf("  kernel: %s\n", f.c_str());
    EXPECT_FALSE(faults.empty());
  } else {
    ADD_FAILURE() << "no physical address from /proc/self/pagemap (the guest runs as root)";
  }

  // The rings still work afterwards.
  lc.frames = 100;
  EXPECT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok());
}

TEST(IommuGuest, NicReadsOnlyWhereTheIommuMapsMemory) {
  TwoNics t;
  v::LoopbackConfig lc;
  lc.frames = 10;
  ASSERT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok());
  dmar_faults();
  // A secret outside the pool; the TX descriptor is given its physical address.
  auto secret = hm::page::Region::create(std::size_t{2} << 20, hm::os::Backing::Huge2M, -1, "secret");
  ASSERT_TRUE(secret);
  auto* s = static_cast<std::uint8_t*>(secret.base());
  std::memset(s, 0xA7, secret.size());
  auto dst = t.b->nic->mac();
  std::memcpy(s, dst.data(), 6);  // so that B would accept the frame if the read went through
  std::memset(s + 6, 0x02, 6);
  s[12] = 0x88;
  s[13] = 0xB5;
  std::uint64_t pa = hm::os::virt_to_phys(s);
  ASSERT_NE(pa, 0u);
  auto* m = hm::pkt::Mbuf::alloc(*t.pool);
  m->append(256);
  m->refcnt_update(1);  // keep it ours: the driver frees one reference when sent
  std::uint64_t saved = m->buf_iova;
  m->buf_iova = pa - m->data_off;
  ASSERT_EQ(t.a->nic->tx_burst(&m, 1), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  hm::pkt::Mbuf* in[4];
  std::uint16_t k = t.b->nic->rx_burst(in, 4);
  for (std::uint16_t i = 0; i < k; ++i) {
    EXPECT_FALSE(all_bytes(in[i]->mtod<std::uint8_t>() + 14, 64, 0xA7)) << "the secret left through the NIC";
    hm::pkt::Mbuf::free(in[i]);
  }
  auto faults = dmar_faults_waiting();
  for (auto& f : faults) std::printf("  kernel: %s\n", f.c_str());
  EXPECT_FALSE(faults.empty()) << "the IOMMU logged no DMA read fault";
  t.a->nic->tx_burst(in, 0);  // reclaim
  m->buf_iova = saved;
  hm::pkt::Mbuf::free(m);
}

TEST(NicGuest, PhyLoopbackOnOneNicKeepsFramesOffTheWire) {
  v::Container c;
  hm::pkt::Config pc;
  pc.name = "phy-loopback";
  pc.count = 1024;
  pc.best = hm::pkt::Backing::Huge2M;
  auto pool = hm::pkt::Pool::create(pc);
  ASSERT_TRUE(pool);
  auto da = v::open_device(c, nics().at(0));
  auto db = v::open_device(c, nics().at(1));
  {
    v::PoolDma dma(c, *pool);
    // The pool's VA -> IOVA translation now gives the device's addresses.
    for (std::size_t i = 0; i < pool->chunks().size(); ++i) {
      EXPECT_EQ(pool->iova_of(pool->chunks()[i].va), dma.iovas()[i]);
      EXPECT_GE(dma.iovas()[i], v::kDefaultIovaBase);
    }
    v::NicOptions lo;
    lo.phy_loopback = true;
    auto a = v::open_nic(c, *da.device, *pool, lo);
    auto b = v::open_nic(c, *db.device, *pool);  // on the same hub: must hear nothing
    v::LoopbackConfig cfg;
    cfg.frames = 5000;
    v::LoopbackResult r = v::run_loopback(*a->nic, *a->nic, *pool, cfg);
    EXPECT_TRUE(r.ok()) << r.error << " lost " << r.lost << " corrupted " << r.corrupted;
    EXPECT_EQ(r.received, 5000u);
    v::NicStats sa = a->nic->stats(), sb = b->nic->stats();
    EXPECT_GE(sa.hw_rx_good, 5000u);
    EXPECT_GE(sa.hw_tx_good, 5000u);
    EXPECT_EQ(sb.hw_rx_good, 0u) << "PHY loopback frames reached the wire";
  }
  EXPECT_EQ(c.mappings(), 0u);
}

// ---- DMA heaps on the real (emulated) IOMMU ----------------------------------------------------

#include "hugemem/dma.hpp"

namespace {

void free_dma_block(void* buf, void*) { hm_dma_free(buf); }

// Two NICs whose rings come from a DMA heap mapped into their container (1 GiB pages: the guest
// has two; the pool is on 2 MiB pages or THP and takes none of them).
struct HeapNics {
  v::Container c;
  std::unique_ptr<hm::pkt::Pool> pool;
  v::OpenDevice da, db;
  std::unique_ptr<v::PoolDma> dma;
  hm_dma_mapper mapper{};
  std::unique_ptr<hm::dma::Heap> heap;
  std::unique_ptr<v::NicPort> a, b;
  HeapNics() {
    hm::pkt::Config pc;
    pc.name = "dma-heap-guest";
    pc.count = 1024;
    pc.best = hm::pkt::Backing::Huge2M;
    pool = hm::pkt::Pool::create(pc);
    da = v::open_device(c, nics().at(0));
    db = v::open_device(c, nics().at(1));
    dma = std::make_unique<v::PoolDma>(c, *pool);
    mapper = v::dma_mapper(c);
    hm::dma::Config hc = hm::dma::default_config();
    hc.name = "guest-heap";
    hc.mapper = &mapper;
    hc.max_arenas = 1;
    heap = std::make_unique<hm::dma::Heap>(hc);
    v::NicOptions o;
    o.dma_heap = heap->get();
    a = v::open_nic(c, *da.device, *pool, o);
    b = v::open_nic(c, *db.device, *pool, o);
  }
  ~HeapNics() {
    a.reset();
    b.reset();
    heap.reset();
    dma.reset();
  }
  v::E1000& rx() { return static_cast<v::E1000&>(*b->nic); }
  // Waits up to wait_ms for one frame on B.
  hm::pkt::Mbuf* receive(int wait_ms) {
    hm::pkt::Mbuf* in = nullptr;
    for (int i = 0; i < wait_ms / 5; ++i) {
      if (b->nic->rx_burst(&in, 1) == 1) return in;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return nullptr;
  }
  bool send(const std::uint8_t* frame, std::uint16_t len) {
    auto* m = hm::pkt::Mbuf::alloc(*pool);
    std::memcpy(m->append(len), frame, len);
    if (a->nic->tx_burst(&m, 1) == 1) return true;
    hm::pkt::Mbuf::free(m);
    return false;
  }
};

}  // namespace

// The NIC sends frames whose bytes live in hm_dma_malloc'd blocks of many sizes (each block the
// mbuf's external buffer, at hm_iova_of(block)) and receives into such blocks (an RX descriptor
// aimed at hm_iova_of of a byte inside one); every byte is checked.
TEST(DmaHeapGuest, NicSendsFromAndReceivesIntoDmaMallocBlocks) {
  HeapNics t;
  hm_dma_block_info info;
  ASSERT_EQ(hm_dma_block_info_of(static_cast<v::E1000&>(*t.a->nic).ring_memory(), &info), 0);
  std::printf("  rings from heap '%s' on %zu MiB pages, IOVA 0x%llx\n", hm_dma_heap_name(info.heap),
              info.page_size >> 20, static_cast<unsigned long long>(info.iova));
  EXPECT_GE(info.iova, v::kDefaultIovaBase) << "an IOVA from the container's allocator";
  v::LoopbackConfig lc;
  lc.frames = 100;
  ASSERT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok());  // warm-up, rings from the heap

  const std::size_t sizes[] = {60, 64, 100, 128, 250, 512, 1000, 1514, 2048, 3000, 4096, 10000, 32768, 40000, 65536, 1 << 20};
  std::vector<hm::pkt::ExtShared> sh(std::size(sizes) * 4);
  std::uint64_t seq = 0;
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < std::size(sizes); ++i, ++seq) {
      auto len = static_cast<std::uint16_t>(std::min<std::size_t>(sizes[i], 1514));
      auto* block = static_cast<std::uint8_t*>(t.heap->alloc(sizes[i]));
      ASSERT_TRUE(block) << sizes[i];
      v::build_frame(block, len, seq, t.b->nic->mac(), t.a->nic->mac(), 0x88B5);
      sh[seq].free_cb = free_dma_block;  // the driver frees the block once the NIC sent it
      auto* m = hm::pkt::Mbuf::alloc(*t.pool);
      ASSERT_TRUE(hm::pkt::Mbuf::attach_extbuf(m, block, hm_iova_of(block), len, &sh[seq]));
      ASSERT_TRUE(m->append(len));
      ASSERT_EQ(t.a->nic->tx_burst(&m, 1), 1);
      hm::pkt::Mbuf* in = t.receive(10000);
      ASSERT_TRUE(in) << "frame from a block of " << sizes[i] << " did not arrive";
      bool intact = false;
      EXPECT_EQ(v::check_frame(in->mtod<std::uint8_t>(), in->data_len, len, t.b->nic->mac(), t.a->nic->mac(), 0x88B5,
                               &intact),
                static_cast<std::int64_t>(seq));
      EXPECT_TRUE(intact) << "block of " << sizes[i];
      hm::pkt::Mbuf::free(in);
    }
  }
  for (std::size_t size : {2048ul, 3000ul, 4096ul, 10000ul, 65536ul, 1ul << 20, 3ul << 20}) {
    auto* block = static_cast<std::uint8_t*>(t.heap->alloc(size));
    ASSERT_TRUE(block);
    std::memset(block, 0x5A, size);
    std::size_t off = (size - 2048) / 2 / 16 * 16;  // an interior byte's IOVA
    std::uint16_t slot = t.rx().rx_next();
    t.rx().set_rx_desc_addr(slot, hm_iova_of(block + off));
    std::uint8_t frame[1514];
    v::build_frame(frame, 1200, 1000 + size, t.b->nic->mac(), t.a->nic->mac(), 0x88B5);
    ASSERT_TRUE(t.send(frame, 1200));
    hm::pkt::Mbuf* in = t.receive(10000);
    ASSERT_TRUE(in) << "no frame into the block of " << size;
    hm::pkt::Mbuf::free(in);  // the descriptor's own mbuf: unwritten
    EXPECT_EQ(std::memcmp(block + off, frame, 1200), 0) << "the frame landed in the block of " << size;
    std::size_t stray = 0;
    for (std::size_t i = 0; i < size; ++i) stray += (i < off || i >= off + 1200) && block[i] != 0x5A;
    EXPECT_EQ(stray, 0u) << "bytes outside the frame changed in the block of " << size;
    t.heap->free(block);
  }
  t.a->nic->tx_burst(nullptr, 0);  // reclaim: the sent blocks go back
}

// After a heap (and with it its arena) is gone, the device writes through the old IOVA of one of
// its blocks: the IOMMU faults (DMAR) and the memory, now someone else's, is untouched.
TEST(DmaHeapGuest, ADeviceWriteAfterTheArenaWasReleasedFaultsInTheIommu) {
  HeapNics t;
  v::LoopbackConfig lc;
  lc.frames = 100;
  ASSERT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok());
  dmar_faults();
  // A second heap takes the guest's other 1 GiB page; a block of it, then the heap goes.
  hm::dma::Config hc = hm::dma::default_config();
  hc.name = "released";
  hc.mapper = &t.mapper;
  hc.max_arenas = 1;
  auto gone = std::make_unique<hm::dma::Heap>(hc);
  ASSERT_EQ(gone->stats().page_size, std::size_t{1} << 30);
  auto* block = static_cast<std::uint8_t*>(gone->alloc(8192));
  std::uint64_t old_iova = hm_iova_of(block);
  std::uint64_t old_pa = hm::os::virt_to_phys(block);
  std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(block) & ((std::uintptr_t{1} << 30) - 1);
  // Control: while the heap lives, a frame aimed at the block lands in it.
  std::memset(block, 0x11, 8192);
  std::uint16_t slot = t.rx().rx_next();
  t.rx().set_rx_desc_addr(slot, old_iova);
  std::uint8_t frame[1514];
  v::build_frame(frame, 256, 5, t.b->nic->mac(), t.a->nic->mac(), 0x88B5);
  ASSERT_TRUE(t.send(frame, 256));
  hm::pkt::Mbuf* in = t.receive(10000);
  ASSERT_TRUE(in) << "the control frame did not arrive";
  hm::pkt::Mbuf::free(in);
  EXPECT_EQ(std::memcmp(block, frame, 256), 0) << "a live block is written at its IOVA";
  gone.reset();  // unmapped from the IOMMU, then from the process
  EXPECT_EQ(hm_iova_of(block), HM_IOVA_NONE);
  // The same 1 GiB page, most likely, now belongs to a plain region filled with a pattern.
  auto reused = hm::page::Region::create(std::size_t{1} << 30, hm::os::Backing::Huge1G, -1, "reused");
  ASSERT_TRUE(reused);
  auto* r = static_cast<std::uint8_t*>(reused.base());
  std::memset(r, 0x5A, reused.size());
  std::uint64_t new_pa = hm::os::virt_to_phys(r + offset);
  std::printf("  old block PA 0x%llx, the new region's byte at its offset PA 0x%llx (%s page)\n",
              static_cast<unsigned long long>(old_pa), static_cast<unsigned long long>(new_pa),
              old_pa == new_pa ? "the same" : "another");
  slot = t.rx().rx_next();
  t.rx().set_rx_desc_addr(slot, old_iova);
  ASSERT_TRUE(t.send(frame, 256));
  in = t.receive(1000);
  if (in) hm::pkt::Mbuf::free(in);
  EXPECT_TRUE(all_bytes(r, reused.size(), 0x5A)) << "the NIC wrote through the released arena's IOVA";
  auto faults = dmar_faults_waiting();
  for (auto& f : faults) std::printf("  kernel: %s\n", f.c_str());
  EXPECT_FALSE(faults.empty()) << "the IOMMU logged no DMA write fault";
  lc.frames = 100;
  EXPECT_TRUE(v::run_loopback(*t.a->nic, *t.b->nic, *t.pool, lc).ok()) << "the rings still work";
}
