// The commit frontier of an arena (hardening, on by default): an arena is mapped read-write only
// where its buddy allocator has handed pages out; the rest of its 1 GiB stays PROT_NONE, so a
// stray write far beyond (or before) what a program uses faults instead of landing silently in
// mapped memory. Pages become read-write in granules as allocations first reach them and stay
// so (never per allocation: at most 32 small steps, then one per 2 MiB of new address space
// over the arena's life). Between the descriptor array and the first usable page lies a guard
// of kGuardPages pages that is never read-write.
//
// hugetlb arenas cannot change protection below their page size: a 2 MiB arena gets the guard
// (its last whole huge page) but no frontier, a 1 GiB arena neither.
#pragma once

#include <cstddef>
#include <cstdint>

#include "os/os.h"
#include "page/desc.h"

namespace hm::page {

class Frontier {
 public:
  // Small steps (64 KiB) until this much of the arena is read-write, then 2 MiB steps.
  static constexpr std::uint32_t kSmallStepPages = 16;
  static constexpr std::uint32_t kBigStepPages = 512;
  static constexpr std::size_t kSmallPhaseBytes = os::k2M;
  static constexpr std::uint32_t kGranules = kArenaPages / kSmallStepPages;

  // Right after the arena is mapped (all read-write): protects the guard and, where the backing
  // allows, everything after it up to the mapping's end, `pages` pages from `base`, the arena's
  // start.
  void init(char* base, os::Backing backing, std::uint32_t pages);
  // Makes [idx, idx + n) read-write (and a granule-rounded neighbourhood). False (nothing
  // usable) only if the kernel refused; the caller then fails the allocation.
  bool commit(char* base, std::uint32_t idx, std::uint32_t n) {
    if (!active_) return true;
    std::uint32_t g0 = idx / kSmallStepPages, g1 = (idx + n - 1) / kSmallStepPages;
    if (is_set(g0) && is_set(g1) && g1 - g0 <= 1) return true;
    return commit_slow(base, idx, n);
  }
  std::size_t committed_bytes() const { return std::size_t{committed_granules_} * kSmallStepPages << kPageShift; }
  bool active() const { return active_; }

 private:
  bool is_set(std::uint32_t g) const { return (bits_[g >> 6] >> (g & 63)) & 1; }
  bool commit_slow(char* base, std::uint32_t idx, std::uint32_t n);

  bool active_ = false;
  std::uint32_t pages_ = kArenaPages;  // the mapping's end
  std::uint32_t committed_granules_ = 0;
  std::uint64_t bits_[kGranules / 64];
};

}  // namespace hm::page
