// hugemem DMA heaps for C++: hm::dma::Heap owns a heap (hugemem/dma.h says what a heap is and
// the rules for freed memory) and destroys it with itself.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "hugemem/dma.h"

namespace hm::dma {

using Config = hm_dma_heap_config;
using Mapper = hm_dma_mapper;
inline constexpr std::uint64_t kNoIova = HM_IOVA_NONE;

inline Config default_config() {
  Config c;
  hm_dma_heap_config_init(&c);
  return c;
}

class Heap {
 public:
  // Creates the heap; throws std::system_error (errno, and hm_dma_last_error's words) on failure.
  explicit Heap(const Config& c) : h_(hm_dma_heap_create(&c)) {
    if (!h_) throw std::system_error(errno, std::generic_category(), hm_dma_last_error());
  }
  Heap(Heap&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Heap& operator=(Heap&& o) noexcept {
    if (this != &o) {
      if (h_) hm_dma_heap_destroy(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;
  // The contract of hm_dma_heap_destroy: no thread and no device uses the heap any more.
  ~Heap() {
    if (h_) hm_dma_heap_destroy(h_);
  }

  void* alloc(std::size_t n) noexcept { return hm_dma_malloc(h_, n); }
  void* alloc_zeroed(std::size_t n) noexcept { return hm_dma_calloc(h_, 1, n); }
  void* alloc_aligned(std::size_t align, std::size_t n) noexcept { return hm_dma_memalign(h_, align, n); }
  static void free(void* p) noexcept { hm_dma_free(p); }
  std::size_t trim() noexcept { return hm_dma_heap_trim(h_); }

  hm_dma_heap* get() const { return h_; }
  const char* name() const { return hm_dma_heap_name(h_); }
  hm_dma_heap_stats stats() const {
    hm_dma_heap_stats s;
    hm_dma_heap_get_stats(h_, &s);
    return s;
  }

 private:
  hm_dma_heap* h_;
};

// The IOVA of any byte of DMA memory (a DMA heap's or a mapped packet pool's); kNoIova otherwise.
inline std::uint64_t iova_of(const void* p) noexcept { return hm_iova_of(p); }

}  // namespace hm::dma
