// The vfio layer and DMA heaps on the host, against the fake IOMMU and fake e1000 (fake_e1000.h):
// pool elements translate through hm_iova_of once PoolDma maps them; a heap over dma_mapper()
// maps its arenas into the container; the driver's rings come from the heap, and frames go out of
// and into hm_dma_malloc'd blocks, every byte checked. The heap tests need root and 2 MiB pages
// (reserved here, given back after), and skip saying why otherwise.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "../dma/dma_helpers.h"
#include "fake_e1000.h"
#include "hugemem/dma.hpp"
#include "hugemem/vfio/e1000.h"
#include "hugemem/vfio/loopback.h"

namespace v = hm::vfio;
using v::test::FakeDma;
using v::test::FakeE1000;

namespace {

std::unique_ptr<hm::pkt::Pool> make_pool(hm::pkt::Backing b = hm::pkt::Backing::Small) {
  hm::pkt::Config c;
  c.name = "dma-heap-test";
  c.count = 1024;
  c.data_room = 2048;
  c.best = b;
  return hm::pkt::Pool::create(c);
}

}  // namespace

TEST(VfioDma, PoolElementsTranslateThroughHmIovaOfWhileMapped) {
  FakeDma dma;
  auto pool = make_pool();
  ASSERT_TRUE(pool);
  void* e0 = pool->element(0);
  EXPECT_EQ(hm_iova_of(e0), HM_IOVA_NONE) << "not mapped for a device yet";
  {
    v::PoolDma pd(dma, *pool);
    std::mt19937 rng(3);
    for (int i = 0; i < 1000; ++i) {
      auto* e = static_cast<char*>(pool->element(rng() % pool->count())) + rng() % pool->elt_size();
      ASSERT_EQ(hm_iova_of(e), pool->iova_of(e));
      ASSERT_EQ(dma.translate(hm_iova_of(e), 1), reinterpret_cast<std::uint8_t*>(e));
    }
  }
  EXPECT_EQ(hm_iova_of(e0), HM_IOVA_NONE) << "unmapped: not DMA memory any more";
}

TEST(VfioDma, HeapArenasAreMappedIntoTheContainer) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeDma dma;
  hm_dma_mapper m = v::dma_mapper(dma);
  {
    hm::dma::Heap heap(hm::dma::test::config_2m("container", &m));
    EXPECT_EQ(dma.live(), 1u);
    for (std::size_t n : {16ul, 2048ul, 30000ul, 1ul << 20}) {
      auto* p = static_cast<std::uint8_t*>(heap.alloc(n));
      ASSERT_TRUE(p);
      EXPECT_EQ(dma.translate(hm_iova_of(p), n), p) << "the device reaches the block at its IOVA";
      heap.free(p);
    }
  }
  EXPECT_EQ(dma.live(), 0u) << "destroying the heap unmapped its arena";
}

namespace {

struct HeapRig {
  FakeDma dma;
  hm_dma_mapper mapper = v::dma_mapper(dma);
  std::unique_ptr<hm::pkt::Pool> pool = make_pool();
  std::unique_ptr<v::PoolDma> pool_dma = std::make_unique<v::PoolDma>(dma, *pool);
  hm::dma::Heap heap{hm::dma::test::config_2m("rings", &mapper)};
  FakeE1000 fa{dma, 0x56}, fb{dma, 0x57};
  std::unique_ptr<v::E1000> a, b;
  HeapRig() {
    fa.connect(&fb);
    fb.connect(&fa);
    v::NicOptions o;
    o.dma_heap = heap.get();
    a = std::make_unique<v::E1000>(fa, dma, *pool, o);
    b = std::make_unique<v::E1000>(fb, dma, *pool, o);
  }
};

void free_block(void* buf, void*) { hm_dma_free(buf); }

}  // namespace

TEST(VfioDma, RingsComeFromTheHeapAndFramesMoveThroughDmaBlocks) {
  HM_DMA_NEED_ARENAS(res, 1);
  auto r = std::make_unique<HeapRig>();
  EXPECT_EQ(r->dma.live(), 2u) << "the pool and the heap's arena; no mapping per ring";
  EXPECT_NE(r->dma.translate(r->a->ring_iova(), 4096), nullptr);
  hm_dma_block_info info;
  ASSERT_EQ(hm_dma_block_info_of(r->dma.translate(r->a->ring_iova(), 1), &info), 0) << "the ring is a heap block";
  EXPECT_EQ(info.heap, r->heap.get());
  // Transmit from blocks of many sizes (the mbuf carries the block as an external buffer; the
  // driver frees it with hm_dma_free once sent).
  std::mt19937 rng(11);
  const std::size_t sizes[] = {64, 100, 250, 600, 1024, 1514, 2048, 5000, 40000, 70000};
  hm::pkt::ExtShared sh[std::size(sizes)];
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    auto len = static_cast<std::uint16_t>(std::min<std::size_t>(sizes[i], 1514));
    auto* block = static_cast<std::uint8_t*>(r->heap.alloc(sizes[i]));
    ASSERT_TRUE(block);
    v::build_frame(block, len, i, r->b->mac(), r->a->mac(), 0x88B5);
    sh[i].free_cb = free_block;
    hm::pkt::Mbuf* m = hm::pkt::Mbuf::alloc(*r->pool);
    ASSERT_TRUE(hm::pkt::Mbuf::attach_extbuf(m, block, hm_iova_of(block), len, &sh[i]));
    ASSERT_TRUE(m->append(len));
    ASSERT_EQ(r->a->tx_burst(&m, 1), 1);
    hm::pkt::Mbuf* in = nullptr;
    ASSERT_EQ(r->b->rx_burst(&in, 1), 1);
    bool intact = false;
    EXPECT_EQ(v::check_frame(in->mtod<std::uint8_t>(), in->data_len, len, r->b->mac(), r->a->mac(), 0x88B5, &intact),
              static_cast<std::int64_t>(i));
    EXPECT_TRUE(intact) << "block of " << sizes[i];
    hm::pkt::Mbuf::free(in);
  }
  // Receive into blocks: the next RX descriptor is aimed at a block (at an offset in it, so an
  // interior byte's IOVA is used), a frame is sent, and the block holds it, nothing beyond.
  for (std::size_t size : {2048ul, 3000ul, 8192ul, 65536ul, 1ul << 20}) {
    auto* block = static_cast<std::uint8_t*>(r->heap.alloc(size));
    std::memset(block, 0x5A, size);
    std::size_t off = size - 2048;
    std::uint16_t slot = r->b->rx_next();
    r->b->set_rx_desc_addr(slot, hm_iova_of(block + off));
    std::uint8_t frame[1514];
    v::build_frame(frame, 1000, 77, r->b->mac(), r->a->mac(), 0x88B5);
    hm::pkt::Mbuf* m = hm::pkt::Mbuf::alloc(*r->pool);
    std::memcpy(m->append(1000), frame, 1000);
    ASSERT_EQ(r->a->tx_burst(&m, 1), 1);
    hm::pkt::Mbuf* in = nullptr;
    ASSERT_EQ(r->b->rx_burst(&in, 1), 1);
    hm::pkt::Mbuf::free(in);  // the descriptor's own mbuf, unwritten
    EXPECT_EQ(std::memcmp(block + off, frame, 1000), 0) << "block of " << size;
    for (std::size_t i = 0; i < size; ++i)
      if (i < off || i >= off + 1000) ASSERT_EQ(block[i], 0x5A) << "byte " << i << " of a block of " << size;
    r->heap.free(block);
  }
  r->a->tx_burst(nullptr, 0);  // reclaims the sent mbufs: their blocks go back
  r.reset();
}
