// hugemem-loopback: sends numbered, checksummed frames from one user-space NIC to another through
// VFIO and checks every byte that arrives. Exit status 0 only when every frame arrived intact.
//
//   hugemem-loopback [--frames N] [--len BYTES] [--burst N] [--ring N] [--pool-backing 1g|2m|4k]
//                    [--ring-pages 1g|2m] [--node N] [--both] [TX_BDF RX_BDF]
//   hugemem-loopback --phy-loopback [options] [BDF]
//
// The mbuf pool goes on the first NIC's NUMA node (sysfs) unless --node chooses one; the
// placement is reported ("pool placement: ...", then the node its pages are on). The NICs'
// descriptor rings come from one DMA heap mapped into the same container (1 GiB pages, falling
// back to 2 MiB; --ring-pages 2m for 2 MiB only); the demo prints the heap, page size and IOVA
// of each NIC's rings. Without hugepages for the heap it says why and gives the rings regions of
// their own.
// Without addresses it takes the first two supported NICs bound to vfio-pci. --phy-loopback uses
// one NIC whose PHY sends every frame back to its own receive ring. Run it where there
// is a VFIO NIC pair; on the build machines, `scripts/vm` boots a qemu guest that has one.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hugemem/dma.h"
#include "hugemem/vfio/e1000.h"
#include "hugemem/vfio/loopback.h"
#include "hugemem/vfio/nic.h"

namespace v = hm::vfio;

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--frames N] [--len BYTES] [--burst N] [--ring N] [--pool-backing 1g|2m|4k] [--ring-pages 1g|2m] "
               "[--node N] [--both] [TX_BDF RX_BDF]\n       %s --phy-loopback [options] [BDF]\n",
               argv0, argv0);
  return 64;
}

void print_stats(const char* who, v::Nic& n) {
  v::NicStats s = n.stats();
  std::printf("  %-3s %s %s: driver rx %llu pkts / %llu B, tx %llu pkts / %llu B, rx errors %llu, no-mbuf %llu\n", who,
              n.driver(), v::mac_string(n.mac()).c_str(), (unsigned long long)s.rx_packets,
              (unsigned long long)s.rx_bytes, (unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
              (unsigned long long)s.rx_errors, (unsigned long long)s.rx_nombuf);
  std::printf("      NIC registers: GPRC %llu GORC %llu GPTC %llu GOTC %llu MPC %llu RNBC %llu CRCERRS %llu\n",
              (unsigned long long)s.hw_rx_good, (unsigned long long)s.hw_rx_bytes, (unsigned long long)s.hw_tx_good,
              (unsigned long long)s.hw_tx_bytes, (unsigned long long)s.hw_rx_missed,
              (unsigned long long)s.hw_rx_no_buf, (unsigned long long)s.hw_crc_errors);
}

// Where a NIC's descriptor rings live: which DMA heap, on which pages, at which IOVA.
void print_rings(const char* who, v::Nic& n) {
  auto* e = dynamic_cast<v::E1000*>(&n);
  if (!e) return;
  hm_dma_block_info info;
  if (hm_dma_block_info_of(e->ring_memory(), &info) == 0) {
    std::printf("  %s rings: DMA heap '%s', %s pages, IOVA 0x%llx (hm_iova_of)\n", who, hm_dma_heap_name(info.heap),
                info.page_size >= (1u << 30) ? "1 GiB" : "2 MiB", (unsigned long long)info.iova);
  } else {
    std::printf("  %s rings: a region of their own, IOVA 0x%llx\n", who, (unsigned long long)e->ring_iova());
  }
}

bool report(const char* dir, const v::LoopbackResult& r, const v::LoopbackConfig& c) {
  std::printf("%s: sent %llu, received %llu, lost %llu, corrupted %llu, duplicates %llu, foreign %llu\n", dir,
              (unsigned long long)r.sent, (unsigned long long)r.received, (unsigned long long)r.lost,
              (unsigned long long)r.corrupted, (unsigned long long)r.duplicates, (unsigned long long)r.foreign);
  std::printf("%s: %.3f s, %.0f frames/s, %.1f Mbit/s of %u-byte frames (warm-up %.0f ms)\n", dir, r.seconds, r.pps(),
              r.pps() * c.frame_len * 8 / 1e6, c.frame_len, r.warmup_ms);
  if (!r.error.empty()) std::printf("%s: error: %s\n", dir, r.error.c_str());
  std::printf("%s: %s\n", dir, r.ok() ? "PASS: every frame arrived, every byte intact" : "FAIL");
  return r.ok();
}

}  // namespace

int main(int argc, char** argv) {
  v::LoopbackConfig cfg;
  cfg.frames = 20000;
  std::uint16_t ring = 256;
  bool both = false;
  bool phy = false;
  int node = -1;
  int ring_pages = HM_DMA_PAGES_1G;
  hm::pkt::Backing backing = hm::pkt::Backing::Huge1G;
  std::vector<std::string> bdfs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--frames") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      cfg.frames = std::strtoull(s, nullptr, 10);
    } else if (a == "--len") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      cfg.frame_len = static_cast<std::uint16_t>(std::atoi(s));
    } else if (a == "--burst") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      cfg.burst = static_cast<std::uint16_t>(std::atoi(s));
    } else if (a == "--ring") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      ring = static_cast<std::uint16_t>(std::atoi(s));
    } else if (a == "--pool-backing") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      std::string b = s;
      backing = b == "1g" ? hm::pkt::Backing::Huge1G : b == "2m" ? hm::pkt::Backing::Huge2M : hm::pkt::Backing::Small;
    } else if (a == "--ring-pages") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      ring_pages = std::string(s) == "2m" ? HM_DMA_PAGES_2M : HM_DMA_PAGES_1G;
    } else if (a == "--node") {
      const char* s = val();
      if (!s) return usage(argv[0]);
      node = std::atoi(s);
    } else if (a == "--phy-loopback") {
      phy = true;
    } else if (a == "--both") {
      both = true;
    } else if (a == "-h" || a == "--help") {
      return usage(argv[0]), 0;
    } else if (a[0] == '-') {
      return usage(argv[0]);
    } else {
      bdfs.push_back(a);
    }
  }
  try {
    if (bdfs.empty()) {
      for (auto& id : v::supported_nics())
        for (auto& b : v::find_pci(id.vendor, id.device)) bdfs.push_back(b);
    }
    if (phy && !bdfs.empty()) bdfs.resize(1);
    if (bdfs.size() < (phy ? 1u : 2u)) {
      std::fprintf(stderr,
                   "hugemem-loopback: needs %s supported NIC(s) bound to vfio-pci (found %zu). On a machine without "
                   "them, run scripts/vm: it boots a qemu guest with two e1000 NICs on one hub and runs this demo.\n",
                   phy ? "one" : "two", bdfs.size());
      return 2;
    }
    v::Container c;
    hm::pkt::Config pc;
    pc.name = "loopback-mbufs";
    pc.count = 4096;
    pc.data_room = 2048;
    pc.best = backing;
    pc.node = node;
    v::Placement where = v::place_on_device(pc, bdfs[0]);
    std::printf("pool placement: %s\n", where.why.c_str());
    auto pool = hm::pkt::Pool::create(pc);
    if (!pool) {
      std::fprintf(stderr, "hugemem-loopback: cannot create the mbuf pool: %s\n", std::strerror(errno));
      return 1;
    }
    {
      auto* first = static_cast<volatile char*>(pool->element(0));
      *first = *first;  // fault it in (the header is already written; this is for the report)
      std::printf("pool placement: bound to node %d, first page on node %d (move_pages)\n", pool->node(),
                  v::page_node(pool->element(0)));
    }
    // Open the first NIC before mapping: the container gets its IOMMU when a group joins.
    v::NicOptions opt;
    opt.rx_ring = opt.tx_ring = ring;
    opt.phy_loopback = phy;
    auto dev_a = v::open_device(c, bdfs[0]);
    v::OpenDevice dev_b;
    if (!phy) dev_b = v::open_device(c, bdfs[1]);
    v::PoolDma dma(c, *pool);
    std::printf("pool: %u mbufs of %u bytes on %s pages, %zu chunk(s), IOVA 0x%llx (VA %p)\n", pool->count(),
                (unsigned)pool->elt_size(), hm::pkt::backing_name(pool->backing()), pool->chunks().size(),
                (unsigned long long)pool->chunks()[0].iova, pool->chunks()[0].va);
    // The rings' heap, mapped into the same container. Declared before the NICs, so destroyed
    // after them, and before the devices leave the container (which would drop its mappings).
    hm_dma_mapper mapper = v::dma_mapper(c);
    hm_dma_heap_config hc;
    hm_dma_heap_config_init(&hc);
    hc.name = "loopback-rings";
    hc.mapper = &mapper;
    hc.pages = ring_pages;
    hc.node = pool->node();
    hc.max_arenas = 1;
    std::unique_ptr<hm_dma_heap, void (*)(hm_dma_heap*)> heap(hm_dma_heap_create(&hc), hm_dma_heap_destroy);
    if (!heap) std::printf("rings: no DMA heap: %s\n", hm_dma_last_error());
    opt.dma_heap = heap.get();
    auto a = v::open_nic(c, *dev_a.device, *pool, opt);
    print_rings("A", *a->nic);
    if (phy) {
      std::printf("NIC %s %s %s in PHY loopback, link %s\n", bdfs[0].c_str(), a->nic->driver(),
                  v::mac_string(a->nic->mac()).c_str(), a->nic->link_up() ? "up" : "down");
      std::printf("sending %llu frames of %u bytes to itself, bursts of %u, rings of %u\n",
                  (unsigned long long)cfg.frames, cfg.frame_len, cfg.burst, ring);
      bool ok = report("A->A", v::run_loopback(*a->nic, *a->nic, *pool, cfg, ring), cfg);
      print_stats("A", *a->nic);
      return ok ? 0 : 1;
    }
    auto b = v::open_nic(c, *dev_b.device, *pool, opt);
    print_rings("B", *b->nic);
    std::printf("NIC A %s %s %s link %s; NIC B %s %s %s link %s\n", bdfs[0].c_str(), a->nic->driver(),
                v::mac_string(a->nic->mac()).c_str(), a->nic->link_up() ? "up" : "down", bdfs[1].c_str(),
                b->nic->driver(), v::mac_string(b->nic->mac()).c_str(), b->nic->link_up() ? "up" : "down");
    std::printf("sending %llu frames of %u bytes, bursts of %u, rings of %u\n", (unsigned long long)cfg.frames,
                cfg.frame_len, cfg.burst, ring);
    bool ok = report("A->B", v::run_loopback(*a->nic, *b->nic, *pool, cfg, ring), cfg);
    if (both) ok &= report("B->A", v::run_loopback(*b->nic, *a->nic, *pool, cfg, ring), cfg);
    print_stats("A", *a->nic);
    print_stats("B", *b->nic);
    return ok ? 0 : 1;
  } catch (const v::Error& e) {
    std::fprintf(stderr, "hugemem-loopback: %s\n", e.what());
    return 1;
  }
}
