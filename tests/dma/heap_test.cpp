// The DMA heap on a fake IOMMU container (dma_helpers.h): arenas mapped before their first block
// is handed out and unmapped before they go back to the OS, IOVAs of random bytes of blocks of
// every class, frees from other threads, exhaustion, trim and destroy, debug mode, misuse.
// Needs root and 2 MiB pages (reserved here, given back after); skips saying why otherwise.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "../pktpool/proc_helpers.h"  // pagemap read by the test itself, not through the os layer
#include "dma_helpers.h"
#include "hugemem/dma.hpp"
#include "hugemem/hugemem.h"
#include "hugemem/pktpool/pktpool.h"

namespace {

using namespace hm::dma::test;
constexpr std::uintptr_t k1G = std::uintptr_t{1} << 30;

// Bytes of hugetlb mappings this process has now (smaps: the VMAs flagged "ht"). Per process, so
// other programs resizing the machine's pools do not disturb it (the IOVA tables, which are
// never freed, make os::live_mappings the wrong measure here).
std::size_t hugetlb_mapped() {
  std::ifstream in("/proc/self/smaps");
  std::size_t total = 0, size = 0;
  for (std::string line; std::getline(in, line);) {
    unsigned long lo, hi;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) size = hi - lo;
    if (line.rfind("VmFlags:", 0) == 0 && line.find(" ht") != std::string::npos) total += size;
  }
  return total;
}

std::uintptr_t arena_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p) & ~(k1G - 1); }

// Sizes that cover every size class (16 B .. 32 KiB, four per doubling) and large blocks.
std::vector<std::size_t> every_class_and_large() {
  std::vector<std::size_t> s;
  for (std::size_t n = 16; n <= 128; n += 16) s.push_back(n);
  for (std::size_t base = 128; base < 32768; base *= 2)
    for (int i = 1; i <= 4; ++i) s.push_back(base + base / 4 * i);
  for (std::size_t n : {40000ul, 65536ul, 100000ul, 1ul << 20, 3ul << 20}) s.push_back(n);
  return s;
}

TEST(DmaHeap, CreationMapsTheFirstArenaAndDestroyUnmapsIt) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  std::size_t huge_before = hugetlb_mapped();
  auto cfg = config_2m("first", &m);
  hm_dma_heap* h = hm_dma_heap_create(&cfg);
  ASSERT_TRUE(h) << hm_dma_last_error();
  EXPECT_STREQ(hm_dma_heap_name(h), "first");
  ASSERT_EQ(f.maps, 1) << "the first arena is mapped when the heap is made";
  EXPECT_EQ(hugetlb_mapped(), huge_before + k1G) << "one arena: 1 GiB of hugetlb pages";
  hm_dma_heap_stats st;
  hm_dma_heap_get_stats(h, &st);
  EXPECT_EQ(st.arenas, 1u);
  EXPECT_EQ(st.page_size, std::size_t{2} << 20);
  FakeMapper::Map mapped = f.history[0];
  EXPECT_EQ(mapped.va % k1G, std::size_t{8} << 20) << "the arena's header and descriptors stay out of reach";
  EXPECT_EQ(mapped.va + mapped.len, arena_of(reinterpret_cast<void*>(mapped.va)) + k1G);
  EXPECT_EQ(hm_iova_of(reinterpret_cast<void*>(arena_of(reinterpret_cast<void*>(mapped.va)))), HM_IOVA_NONE)
      << "the arena header is not DMA memory";
  void* p = hm_dma_malloc(h, 100);
  ASSERT_TRUE(p);
  EXPECT_EQ(arena_of(p), arena_of(reinterpret_cast<void*>(mapped.va)));
  EXPECT_EQ(hm_iova_of(p), f.iova_of(p));
  hm_dma_heap_destroy(h);
  EXPECT_EQ(f.unmaps, 1);
  EXPECT_TRUE(f.live.empty());
  EXPECT_FALSE(process_maps(p)) << "the arena went back to the OS";
  EXPECT_EQ(hm_iova_of(p), HM_IOVA_NONE);
  EXPECT_EQ(hugetlb_mapped(), huge_before) << "every hugepage came back";
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

TEST(DmaHeap, IovaOfRandomBytesOfBlocksOfEveryClassMatchesTheMapping) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("classes", &m));
  std::mt19937_64 rng(7);
  std::vector<void*> blocks;
  for (std::size_t n : every_class_and_large()) {
    for (int k = 0; k < 5; ++k) {
      void* p = heap.alloc(n);
      ASSERT_TRUE(p) << n;
      ASSERT_GE(hm_dma_usable_size(p), n);
      std::memset(p, 0xAB, n);  // the whole block is ours
      for (int i = 0; i < 8; ++i) {
        auto* b = static_cast<char*>(p) + rng() % n;
        ASSERT_EQ(hm_iova_of(b), f.iova_of(b)) << "size " << n << " offset " << (b - static_cast<char*>(p));
      }
      ASSERT_EQ(hm_iova_of(static_cast<char*>(p) + n - 1), hm_iova_of(p) + n - 1) << "IOVA-contiguous";
      hm_dma_block_info info;
      ASSERT_EQ(hm_dma_block_info_of(p, &info), 0);
      EXPECT_EQ(info.heap, heap.get());
      EXPECT_EQ(info.page_size, std::size_t{2} << 20);
      EXPECT_EQ(info.iova, f.iova_of(p));
      blocks.push_back(p);
    }
  }
  for (void* p : blocks) hm::dma::Heap::free(p);
  EXPECT_EQ(f.maps, 1);
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

TEST(DmaHeap, MemalignServesRingAlignments) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("rings", &m));
  for (std::size_t align : {64ul, 128ul, 4096ul, 65536ul, 2ul << 20}) {
    for (std::size_t n : {16ul, 1000ul, 4096ul, 8192ul, 70000ul}) {
      void* p = heap.alloc_aligned(align, n);
      ASSERT_TRUE(p) << align << " " << n;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u);
      EXPECT_EQ(hm_iova_of(p) % align, 0u) << "the device sees the same alignment";
      hm::dma::Heap::free(p);
    }
  }
  errno = 0;
  EXPECT_EQ(heap.alloc_aligned(100, 64), nullptr);
  EXPECT_EQ(errno, EINVAL);
  auto* z = static_cast<unsigned char*>(hm_dma_calloc(heap.get(), 1000, 10));
  ASSERT_TRUE(z);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(z[i], 0);
  hm::dma::Heap::free(z);
}

TEST(DmaHeap, IovaOfIsAnErrorForMemoryThatIsNotDma) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("errors", &m));
  int on_stack = 0;
  void* from_malloc = std::malloc(100);
  void* from_hm = hm_malloc(100);
  EXPECT_EQ(hm_iova_of(&on_stack), HM_IOVA_NONE);
  EXPECT_EQ(hm_iova_of(from_malloc), HM_IOVA_NONE);
  EXPECT_EQ(hm_iova_of(from_hm), HM_IOVA_NONE) << "the malloc's own memory is not DMA memory";
  EXPECT_EQ(hm_iova_of(nullptr), HM_IOVA_NONE);
  EXPECT_EQ(hm_iova_of(reinterpret_cast<void*>(~std::uintptr_t{0} - 5)), HM_IOVA_NONE);
  hm_dma_block_info info;
  EXPECT_EQ(hm_dma_block_info_of(from_hm, &info), -1);
  std::free(from_malloc);
  hm_free(from_hm);
}

// Every thread allocates; other threads free; blocks stay valid and distinct throughout.
TEST(DmaHeap, FreesFromOtherThreads) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("threads", &m));
  constexpr int kRounds = 200, kBatch = 256;
  std::vector<void*> to_b[2];
  std::atomic<int> turn{0};
  std::atomic<bool> bad{false};
  auto sizes = every_class_and_large();
  // A allocates batch r into slot r % 2 and tags every block; B checks and frees it.
  std::thread a([&] {
    std::mt19937 rng(1);
    for (int r = 0; r < kRounds; ++r) {
      while (turn.load() != 2 * r) std::this_thread::yield();
      auto& v = to_b[r % 2];
      v.clear();
      for (int i = 0; i < kBatch; ++i) {
        std::size_t n = sizes[rng() % (sizes.size() - 2)];  // small and up to 1 MiB
        auto* p = static_cast<std::uint32_t*>(heap.alloc(n));
        if (!p || hm_iova_of(p) != f.iova_of(p)) bad = true;
        if (p) p[0] = static_cast<std::uint32_t>(r * kBatch + i);
        v.push_back(p);
      }
      turn.store(2 * r + 1);
    }
  });
  std::thread b([&] {
    for (int r = 0; r < kRounds; ++r) {
      while (turn.load() != 2 * r + 1) std::this_thread::yield();
      auto& v = to_b[r % 2];
      for (int i = 0; i < kBatch; ++i) {
        auto* p = static_cast<std::uint32_t*>(v[i]);
        if (p && p[0] != static_cast<std::uint32_t>(r * kBatch + i)) bad = true;
        hm::dma::Heap::free(p);
      }
      turn.store(2 * r + 2);
    }
  });
  a.join();
  b.join();
  EXPECT_FALSE(bad) << "a block was handed out twice, or translated wrongly";
  EXPECT_EQ(f.maps, 1) << "freed blocks were reused: one arena served them all";
  // Two threads freeing into each other's slabs at once.
  std::vector<void*> shared(20000);
  for (auto& p : shared) p = heap.alloc(64);
  std::thread c([&] {
    for (std::size_t i = 0; i < shared.size(); i += 2) hm::dma::Heap::free(shared[i]);
  });
  std::thread d([&] {
    for (std::size_t i = 1; i < shared.size(); i += 2) hm::dma::Heap::free(shared[i]);
  });
  c.join();
  d.join();
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

// Exhaustion: ENOMEM, the heap stays usable, nothing leaks (the same blocks fit again, and the
// arena goes back whole at destroy).
TEST(DmaHeap, ExhaustionIsEnomemWithNothingLeaked) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  std::size_t huge_before = hugetlb_mapped();
  auto cfg = config_2m("exhaust", &m, 1);
  hm_dma_heap* h = hm_dma_heap_create(&cfg);
  ASSERT_TRUE(h) << hm_dma_last_error();
  for (int round = 0; round < 2; ++round) {
    std::vector<void*> small, large;
    errno = 0;
    while (void* p = hm_dma_malloc(h, std::size_t{1} << 20)) large.push_back(p);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    while (void* p = hm_dma_malloc(h, 4000)) small.push_back(p);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_GT(large.size(), 900u) << "about 1 GiB of 1 MiB blocks in one arena";
    EXPECT_EQ(f.maps, 1) << "max_arenas = 1";
    std::printf("round %d: %zu blocks of 1 MiB, then %zu of 4000 B until ENOMEM\n", round, large.size(), small.size());
    static std::size_t first_large = 0;
    if (round == 0) first_large = large.size();
    else EXPECT_EQ(large.size(), first_large) << "the freed blocks all came back";
    for (void* p : large) hm_dma_free(p);
    for (void* p : small) hm_dma_free(p);
  }
  hm_dma_heap_destroy(h);
  EXPECT_EQ(f.unmaps, 1);
  EXPECT_EQ(hugetlb_mapped(), huge_before) << "every hugepage came back";
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

TEST(DmaHeap, TrimUnmapsAnEmptyArenaFromTheDeviceBeforeTheOs) {
  HM_DMA_NEED_ARENAS(res, 2);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("trim", &m, 2));
  std::vector<void*> blocks;
  while (f.maps < 2) {
    void* p = heap.alloc(std::size_t{64} << 20);
    ASSERT_TRUE(p) << "a second arena is allowed";
    blocks.push_back(p);
  }
  void* in_second = blocks.back();
  std::uintptr_t second = arena_of(in_second);
  ASSERT_NE(second, arena_of(blocks.front()));
  for (void* p : blocks) heap.free(p);
  EXPECT_EQ(heap.trim(), 1u);
  EXPECT_EQ(f.unmaps, 1);
  ASSERT_EQ(f.live.size(), 1u);
  EXPECT_NE(arena_of(reinterpret_cast<void*>(f.live[0].va)), second) << "the first arena stays";
  EXPECT_FALSE(process_maps(in_second));
  EXPECT_EQ(hm_iova_of(in_second), HM_IOVA_NONE) << "a released arena is not DMA memory any more";
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

TEST(DmaHeap, AThreadsHeapsGoBackAtItsExitAndItsBlocksStayValid) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm::dma::Heap heap(config_2m("exit", &m));
  std::vector<void*> kept;
  for (int t = 0; t < 50; ++t) {
    std::thread([&] {
      for (int i = 0; i < 100; ++i) {
        void* p = heap.alloc(48 + 16 * (i % 8));
        std::memset(p, t, 48);
        if (i % 10 == 0) kept.push_back(p);
        else heap.free(p);
      }
    }).join();
  }
  for (void* p : kept) heap.free(p);
  EXPECT_EQ(f.maps, 1);
}

TEST(DmaHeap, DestroyWithLiveBlocksInManyThreadsAndSlotsAreReused) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  for (int round = 0; round < 3; ++round) {
    auto cfg = config_2m("reuse", &m);
    hm_dma_heap* h = hm_dma_heap_create(&cfg);
    ASSERT_TRUE(h) << hm_dma_last_error();
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t) {
      ts.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) hm_dma_malloc(h, 16 * (1 + i % 64));  // left live
        ++ready;
        while (!go) std::this_thread::yield();  // alive while the heap is destroyed
      });
    }
    while (ready < 3) std::this_thread::yield();
    hm_dma_heap_destroy(h);
    go = true;
    for (auto& t : ts) t.join();
  }
  EXPECT_EQ(f.maps, 3);
  EXPECT_EQ(f.unmaps, 3);
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
}

// A handle kept after its heap was destroyed stays dead when the slot holds a new heap: it
// neither allocates from the new heap nor destroys it.
TEST(DmaHeap, AStaleHandleDoesNotReachTheNextHeapInItsSlot) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  auto ca = config_2m("a", &m);
  hm_dma_heap* a = hm_dma_heap_create(&ca);
  ASSERT_NE(a, nullptr);
  void* pa = hm_dma_malloc(a, 100);  // the thread's fast path knows slot a now
  ASSERT_NE(pa, nullptr);
  hm_dma_free(pa);
  hm_dma_heap_destroy(a);
  auto cb = config_2m("b", &m);
  hm_dma_heap* b = hm_dma_heap_create(&cb);
  ASSERT_NE(b, nullptr);
  void* pb = hm_dma_malloc(b, 100);
  ASSERT_NE(pb, nullptr);
  errno = 0;
  EXPECT_EQ(hm_dma_malloc(a, 100), nullptr) << "the stale handle allocated from the slot's new heap";
  EXPECT_EQ(errno, EINVAL);
  hm_dma_heap_destroy(a);  // must not destroy b
  EXPECT_NE(hm_iova_of(pb), HM_IOVA_NONE) << "the stale handle destroyed the new heap";
  void* more = hm_dma_malloc(b, 4096);
  EXPECT_NE(more, nullptr);
  hm_dma_free(more);
  hm_dma_free(pb);
  hm_dma_heap_destroy(b);
}

TEST(DmaHeap, AFailingMapperFailsCreationCleanly) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  f.fail_next = 1;
  hm_dma_mapper m = f.mapper();
  std::size_t huge_before = hugetlb_mapped();
  auto cfg = config_2m("refused", &m);
  errno = 0;
  EXPECT_EQ(hm_dma_heap_create(&cfg), nullptr);
  EXPECT_EQ(errno, EIO);
  EXPECT_NE(std::string(hm_dma_last_error()).find("could not map"), std::string::npos) << hm_dma_last_error();
  EXPECT_EQ(hugetlb_mapped(), huge_before) << "the arena was given back";
}

TEST(DmaHeapNoPages, WithoutHugepagesCreationFailsSayingWhy) {
  if (hm::os::hugepage_pool(hm::os::k2M).free >= 512 || hm::os::hugepage_pool(hm::os::k1G).free > 0)
    GTEST_SKIP() << "this machine has free hugepages now";
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  hm_dma_heap_config c;
  hm_dma_heap_config_init(&c);
  c.mapper = &m;
  errno = 0;
  EXPECT_EQ(hm_dma_heap_create(&c), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  std::string why = hm_dma_last_error();
  EXPECT_NE(why.find("hugepages"), std::string::npos) << why;
  EXPECT_NE(why.find("never uses THP or 4 KiB"), std::string::npos) << why;
  EXPECT_EQ(f.maps, 0);
}

using DmaHeapDeathTest = ::testing::Test;

TEST_F(DmaHeapDeathTest, DebugModeCatchesAWriteAfterFree) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  EXPECT_DEATH(
      {
        auto cfg = config_2m("debug", &m);
        cfg.debug = 1;
        hm_dma_heap* h = hm_dma_heap_create(&cfg);
        auto* p = static_cast<char*>(hm_dma_malloc(h, 256));
        hm_dma_free(p);
        p[100] = 1;  // what a device still writing would do
        for (int i = 0; i < 1000; ++i) hm_dma_malloc(h, 256);
      },
      "write after free");
}

TEST_F(DmaHeapDeathTest, DebugModeCatchesAWriteIntoAFreedLargeBlock) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  EXPECT_DEATH(
      {
        auto cfg = config_2m("debug-large", &m);
        cfg.debug = 1;
        hm_dma_heap* h = hm_dma_heap_create(&cfg);
        auto* p = static_cast<char*>(hm_dma_malloc(h, 65536));
        hm_dma_free(p);
        p[5000] = 1;
        hm_dma_malloc(h, 65536);
      },
      "after free");
}

// A late device write is most likely a frame's start: at a page's first bytes.
TEST_F(DmaHeapDeathTest, DebugModeCatchesAWriteAtTheStartOfAFreedLargeBlocksPage) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  for (std::size_t at : {std::size_t{0}, std::size_t{4096}}) {
    EXPECT_DEATH(
        {
          auto cfg = config_2m("debug-large-start", &m);
          cfg.debug = 1;
          hm_dma_heap* h = hm_dma_heap_create(&cfg);
          auto* p = static_cast<char*>(hm_dma_malloc(h, 65536));
          hm_dma_free(p);
          std::memset(p + at, 0x5A, 64);
          hm_dma_malloc(h, 65536);
        },
        "after free")
        << "a write at offset " << at;
  }
}

TEST_F(DmaHeapDeathTest, MisuseIsReported) {
  HM_DMA_NEED_ARENAS(res, 1);
  FakeMapper f;
  hm_dma_mapper m = f.mapper();
  void* q = hm_malloc(100);
  EXPECT_DEATH(hm_dma_free(q), "not memory of a DMA heap");
  // DMA arenas are not inherited by fork's children (MADV_DONTFORK): each death makes its heap.
  EXPECT_DEATH(
      {
        hm::dma::Heap heap(config_2m("misuse", &m));
        hm_dma_free(static_cast<char*>(heap.alloc(100)) + 16);
      },
      "not the start of an object");
  EXPECT_DEATH(
      {
        hm::dma::Heap heap(config_2m("misuse", &m));
        void* p = heap.alloc(100);
        hm_dma_free(p);
        hm_dma_free(p);
      },
      "double free");
  hm_free(q);
}

}  // namespace

// ---- IOVA = physical address (root, no IOMMU) -------------------------------------------------

namespace {

TEST(DmaHeapPhysical, IovaIsThePhysicalAddressOfEveryByte) {
  HM_DMA_NEED_ARENAS(res, 1);
  auto cfg = config_2m("physical", nullptr);
  hm::dma::Heap heap(cfg);
  std::mt19937_64 rng(5);
  for (std::size_t n : every_class_and_large()) {
    errno = 0;
    auto* p = static_cast<char*>(heap.alloc(n));
    if (!p) {
      // More than a 2 MiB page: IOVA-contiguous only if the pages happen to be neighbours.
      EXPECT_GT(n, std::size_t{2} << 20);
      EXPECT_EQ(errno, E2BIG);
      continue;
    }
    for (int i = 0; i < 4; ++i) {
      char* b = p + rng() % n;
      ASSERT_EQ(hm_iova_of(b), hm::pkt::test::pagemap_pa(b)) << "size " << n;
    }
    EXPECT_EQ(hm_iova_of(p + n - 1), hm_iova_of(p) + n - 1) << "IOVA-contiguous";
    heap.free(p);
  }
}

// fork() makes a private mapping's pages copy-on-write: the parent's next write would move its
// DMA memory to new physical pages while hm_iova_of (and the device) still use the old ones.
// DMA arenas are not inherited, so the parent's pages stay.
TEST(DmaHeapPhysical, AForkDoesNotMoveTheParentsDmaMemory) {
  HM_DMA_NEED_ARENAS(res, 1);
  hm::dma::Heap heap(config_2m("fork", nullptr));
  auto* p = static_cast<char*>(heap.alloc(4096));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 4096);
  std::uint64_t before = hm::pkt::test::pagemap_pa(p);
  ASSERT_EQ(hm_iova_of(p), before);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    std::_Exit(0);
  }
  p[0] = 2;  // the parent writes while the child lives
  void* q = heap.alloc(100);  // and the heap writes its own headers
  EXPECT_EQ(hm::pkt::test::pagemap_pa(p), before) << "the parent's DMA page moved at the fork";
  EXPECT_EQ(hm_iova_of(p), hm::pkt::test::pagemap_pa(p));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  heap.free(q);
  heap.free(p);
}

TEST(DmaHeapPhysical, PacketPoolElementsInPhysicalModeTranslateToo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to reserve 2 MiB pages and read PFNs";
  Reservation r(4);
  if (r.got() < 4) GTEST_SKIP() << "the kernel could not reserve four 2 MiB pages";
  hm::pkt::Config c;
  c.name = "pa-pool";
  c.count = 1000;
  c.best = hm::pkt::Backing::Huge2M;
  c.iova = hm::pkt::IovaMode::PA;
  void* elt;
  {
    auto pool = hm::pkt::Pool::create(c);
    ASSERT_TRUE(pool) << std::strerror(errno);
    for (std::uint32_t i = 0; i < pool->count(); i += 37) {
      auto* e = static_cast<char*>(pool->element(i)) + 100;
      ASSERT_EQ(hm_iova_of(e), pool->iova_of(e));
      ASSERT_EQ(hm_iova_of(e), hm::pkt::test::pagemap_pa(e));
    }
    elt = pool->element(0);
  }
  EXPECT_EQ(hm_iova_of(elt), HM_IOVA_NONE) << "the pool is gone";
}

}  // namespace
