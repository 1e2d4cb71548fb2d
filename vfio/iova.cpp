#include "hugemem/vfio/iova.h"

#include <algorithm>

namespace hm::vfio {
namespace {
constexpr std::uint64_t kPage = 4096;
std::uint64_t round_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

IovaAllocator::IovaAllocator(std::vector<IovaRange> usable) {
  std::sort(usable.begin(), usable.end(), [](auto& a, auto& b) { return a.start < b.start; });
  for (auto r : usable) {
    r.start = std::max<std::uint64_t>(round_up(r.start, kPage), kPage);  // never hand out 0
    r.end &= ~(kPage - 1);
    if (r.end <= r.start) continue;
    if (!free_.empty()) {
      auto last = std::prev(free_.end());
      if (r.start <= last->second) {
        last->second = std::max(last->second, r.end);
        continue;
      }
    }
    free_[r.start] = r.end;
  }
}

std::uint64_t IovaAllocator::natural_align(std::uint64_t len) {
  if (len >= (std::uint64_t{1} << 30)) return std::uint64_t{1} << 30;
  if (len >= (std::uint64_t{1} << 21)) return std::uint64_t{1} << 21;
  return kPage;
}

std::uint64_t IovaAllocator::alloc(std::uint64_t len, std::uint64_t align) {
  if (len == 0 || align < kPage || (align & (align - 1)) != 0) return 0;
  len = round_up(len, kPage);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    std::uint64_t start = round_up(it->first, align);
    if (start < it->first || start >= it->second || it->second - start < len) continue;
    std::uint64_t fstart = it->first, fend = it->second;
    free_.erase(it);
    if (start > fstart) free_[fstart] = start;
    if (start + len < fend) free_[start + len] = fend;
    used_[start] = len;
    return start;
  }
  return 0;
}

bool IovaAllocator::free(std::uint64_t iova, std::uint64_t len) {
  auto u = used_.find(iova);
  if (u == used_.end() || u->second != round_up(len, kPage)) return false;
  std::uint64_t start = iova, end = iova + u->second;
  used_.erase(u);
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == end) {
    end = next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->second == start) {
      prev->second = end;
      return true;
    }
  }
  free_[start] = end;
  return true;
}

std::uint64_t IovaAllocator::free_bytes() const {
  std::uint64_t n = 0;
  for (auto& [s, e] : free_) n += e - s;
  return n;
}

}  // namespace hm::vfio
