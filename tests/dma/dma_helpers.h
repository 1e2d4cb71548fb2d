// What the DMA heap tests share: hugepages reserved for the test binary (2 MiB pages; a DMA arena
// is 1 GiB of them) and a fake IOMMU container that records every map and unmap and checks, when
// it is called, what the heap promises about the memory at that moment.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "hugemem/dma.h"
#include "os/os.h"  // reservations (lib/ is a private include path of the tests)

namespace hm::dma::test {

// Raises the pool of 2 MiB pages by n for its lifetime and takes back what it added, relative to
// the count of the moment (other programs may reserve pages too), as tests/pktpool does.
class Reservation {
 public:
  explicit Reservation(long n) {
    long before = os::hugepage_pool(os::k2M).total;
    long now = os::reserve_hugepages(os::k2M, before + n);
    got_ = now < before ? 0 : now - before;
  }
  ~Reservation() {
    if (got_) os::reserve_hugepages(os::k2M, os::hugepage_pool(os::k2M).total - got_);
  }
  long got() const { return got_; }

 private:
  long got_ = 0;
};

// The 2 MiB pages `arenas` DMA arenas need, with a few to spare.
inline long pages_for_arenas(int arenas) { return arenas * 512L + 8; }

// Skips the test unless `arenas` arenas' worth of 2 MiB pages could be reserved.
#define HM_DMA_NEED_ARENAS(res, arenas)                                                                  \
  if (geteuid() != 0) GTEST_SKIP() << "needs root to reserve 2 MiB pages (a DMA arena is 512 of them)"; \
  hm::dma::test::Reservation res(hm::dma::test::pages_for_arenas(arenas));                              \
  if (res.got() < hm::dma::test::pages_for_arenas(arenas))                                              \
  GTEST_SKIP() << "the kernel reserved " << res.got() << " of " << hm::dma::test::pages_for_arenas(arenas) \
               << " 2 MiB pages"

// Whether [p, p + 4 KiB) is mapped in this process (mincore fails with ENOMEM where it is not).
inline bool process_maps(const void* p) {
  unsigned char v;
  auto a = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095};
  return ::mincore(reinterpret_cast<void*>(a), 4096, &v) == 0;
}

struct FakeMapper {
  struct Map {
    std::uintptr_t va;
    std::size_t len;
    std::uint64_t iova;
  };
  std::mutex m;
  std::vector<Map> live;
  std::vector<Map> history;  // every map, in order
  int maps = 0, unmaps = 0, fail_next = 0;
  std::uint64_t next = std::uint64_t{1} << 36;  // 64 GiB, as the real allocator starts
  std::vector<std::string> errors;  // broken promises seen in the callbacks

  hm_dma_mapper mapper() { return {this, &FakeMapper::map_cb, &FakeMapper::unmap_cb}; }

  // The IOVA the fake gave the byte at p, or HM_IOVA_NONE.
  std::uint64_t iova_of(const void* p) {
    std::lock_guard g(m);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    for (auto& x : live)
      if (a >= x.va && a < x.va + x.len) return x.iova + (a - x.va);
    return HM_IOVA_NONE;
  }

  static int map_cb(void* ctx, void* va, std::size_t len, std::uint64_t* iova) {
    auto* f = static_cast<FakeMapper*>(ctx);
    std::lock_guard g(f->m);
    if (f->fail_next > 0) {
      --f->fail_next;
      return -1;
    }
    auto a = reinterpret_cast<std::uintptr_t>(va);
    if (a % 4096 || len % 4096) f->errors.push_back("map of an unaligned range");
    // Before any block of it is handed out: not yet translatable, and the memory is there.
    if (hm_iova_of(va) != HM_IOVA_NONE) f->errors.push_back("arena translatable before it was mapped");
    if (!process_maps(va)) f->errors.push_back("map of memory the process does not map");
    *iova = f->next;
    f->next += (len + (std::size_t{2} << 20) - 1) & ~((std::size_t{2} << 20) - 1);
    f->live.push_back({a, len, *iova});
    f->history.push_back({a, len, *iova});
    ++f->maps;
    return 0;
  }
  static int unmap_cb(void* ctx, void* va, std::size_t len, std::uint64_t iova) {
    auto* f = static_cast<FakeMapper*>(ctx);
    std::lock_guard g(f->m);
    auto a = reinterpret_cast<std::uintptr_t>(va);
    // Before the memory goes back to the OS: the process still maps it.
    if (!process_maps(va)) f->errors.push_back("unmap after the memory went back to the OS");
    if (hm_iova_of(va) != HM_IOVA_NONE) f->errors.push_back("still translatable while unmapped");
    for (auto it = f->live.begin(); it != f->live.end(); ++it) {
      if (it->va == a && it->len == len && it->iova == iova) {
        f->live.erase(it);
        ++f->unmaps;
        return 0;
      }
    }
    f->errors.push_back("unmap of something never mapped");
    return -1;
  }
};

inline hm_dma_heap_config config_2m(const char* name, const hm_dma_mapper* m, unsigned arenas = 1) {
  hm_dma_heap_config c;
  hm_dma_heap_config_init(&c);
  c.name = name;
  c.mapper = m;
  c.pages = HM_DMA_PAGES_2M;
  c.max_arenas = arenas;
  return c;
}

}  // namespace hm::dma::test
