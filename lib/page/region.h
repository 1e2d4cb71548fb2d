// A Region is one contiguous mapping owned by a client that carves it itself (pktpool's element
// store, DMA rings). It takes the best backing the machine has, from `best` down:
// 1 GiB hugetlb -> 2 MiB hugetlb -> THP -> 4 KiB, rounding the size up to that backing's granule.
#pragma once

#include <cstddef>
#include <utility>

#include "os/os.h"

namespace hm::page {

class Region {
 public:
  Region() = default;
  // Maps at least `bytes`; an empty Region (errno set) when nothing could be mapped.
  // `node` >= 0 binds the memory to that NUMA node (ignored on one-node machines).
  static Region create(std::size_t bytes, os::Backing best, int node, const char* name);

  Region(Region&& o) noexcept : m_(std::exchange(o.m_, {})) {}
  Region& operator=(Region&& o) noexcept {
    if (this != &o) {
      release();
      m_ = std::exchange(o.m_, {});
    }
    return *this;
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { release(); }

  explicit operator bool() const { return m_.addr != nullptr; }
  void* base() const { return m_.addr; }
  std::size_t size() const { return m_.size; }
  os::Backing backing() const { return m_.backing; }
  bool contains(const void* p) const {
    auto* c = static_cast<const char*>(p);
    auto* b = static_cast<const char*>(m_.addr);
    return c >= b && c < b + m_.size;
  }

 private:
  void release();
  os::Mapping m_;
};

}  // namespace hm::page
