// IOVA allocation: which device addresses (I/O virtual addresses, what the NIC puts on the bus and
// the IOMMU translates) are handed to which DMA mapping. Pure bookkeeping, no system calls, so it
// runs in host unit tests.
//
// The default window starts at 64 GiB and ends below 2^39 (QEMU's intel-iommu translates 39
// bits by default; real VT-d at least that). Starting far above any physical address the guest or
// a small host has means a physical address handed to a device by mistake never aliases a
// mapping: it faults in the IOMMU instead of landing in somebody's buffer.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace hm::vfio {

struct IovaRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // exclusive
};

inline constexpr std::uint64_t kDefaultIovaBase = std::uint64_t{1} << 36;
inline constexpr std::uint64_t kDefaultIovaLimit = std::uint64_t{1} << 39;

class IovaAllocator {
 public:
  // Usable ranges (end exclusive). Overlaps are merged; empty ranges ignored.
  explicit IovaAllocator(std::vector<IovaRange> usable = {{kDefaultIovaBase, kDefaultIovaLimit}});

  // Returns the lowest free IOVA aligned to `align` (a power of two >= 4 KiB) with `len` bytes
  // free after it, or 0 when none is left (0 is never handed out). `len` is rounded up to 4 KiB.
  std::uint64_t alloc(std::uint64_t len, std::uint64_t align);
  // Gives [iova, iova+len) back; it must be exactly one earlier alloc (same len). Returns false
  // (and changes nothing) otherwise.
  bool free(std::uint64_t iova, std::uint64_t len);

  // Natural alignment for a mapping of `len` bytes: 1 GiB for >= 1 GiB, 2 MiB for >= 2 MiB, else
  // 4 KiB, so the IOMMU can use its own large pages for hugepage-backed memory.
  static std::uint64_t natural_align(std::uint64_t len);

  std::uint64_t free_bytes() const;
  std::size_t live() const { return used_.size(); }

 private:
  std::map<std::uint64_t, std::uint64_t> free_;  // start -> end, disjoint, coalesced
  std::map<std::uint64_t, std::uint64_t> used_;  // start -> len
};

}  // namespace hm::vfio
