#include "page/frontier.h"

namespace hm::page {

void Frontier::init(char* base, os::Backing backing, std::uint32_t pages) {
  for (auto& w : bits_) w = 0;
  pages_ = pages;
  committed_granules_ = 0;
  std::size_t guard_begin = std::size_t{kMetaPages} << kPageShift;
  std::size_t usable = std::size_t{kFirstUsablePage - 1} << kPageShift;  // 2 MiB aligned
  switch (backing) {
    case os::Backing::Huge1G:
      active_ = false;
      return;
    case os::Backing::Huge2M:
      // Only whole huge pages change protection: the guard's last one.
      active_ = false;
      os::protect(base + usable - os::k2M, os::k2M, false);
      return;
    default:
      break;
  }
  // Everything from the guard on: the guard stays so, the rest is committed on demand.
  active_ = os::protect(base + guard_begin, (std::size_t{pages} << kPageShift) - guard_begin, false);
}

bool Frontier::commit_slow(char* base, std::uint32_t idx, std::uint32_t n) {
  std::uint32_t step = committed_bytes() < kSmallPhaseBytes ? kSmallStepPages : kBigStepPages;
  std::uint32_t lo = idx / step * step;
  std::uint32_t hi = (idx + n + step - 1) / step * step;
  if (lo < kFirstUsablePage - 1) lo = kFirstUsablePage - 1;
  if (hi > pages_) hi = pages_;
  std::uint32_t g = lo / kSmallStepPages, gend = hi / kSmallStepPages;
  while (g < gend) {
    if (is_set(g)) {
      ++g;
      continue;
    }
    std::uint32_t run = g;
    while (run < gend && !is_set(run)) ++run;
    std::size_t off = std::size_t{g} * kSmallStepPages << kPageShift;
    std::size_t len = std::size_t{run - g} * kSmallStepPages << kPageShift;
    if (g == (kFirstUsablePage - 1) / kSmallStepPages) {  // the guard's last page stays so
      off += os::kPageSize;
      len -= os::kPageSize;
    }
    if (!os::protect(base + off, len, true)) return false;
    for (std::uint32_t i = g; i < run; ++i) bits_[i >> 6] |= std::uint64_t{1} << (i & 63);
    committed_granules_ += run - g;
    g = run;
  }
  return true;
}

}  // namespace hm::page
