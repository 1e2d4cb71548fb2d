#pragma once
// Reads /proc/<pid>/smaps into mappings and measures how much of a set of objects' memory is
// backed by huge pages: transparent (AnonHugePages) or hugetlb (Private/Shared_Hugetlb, which
// smaps counts outside Rss).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <string>
#include <vector>

namespace wl {

struct Vma {
  std::uintptr_t start = 0, end = 0;
  std::uint64_t rss_kib = 0;        // resident base and transparent huge pages
  std::uint64_t anon_huge_kib = 0;  // the THP part of rss_kib
  std::uint64_t hugetlb_kib = 0;    // resident hugetlb pages (not in rss_kib)
};

// Parses smaps text: a header line "start-end perms ..." opens a mapping; "Key: N kB" lines fill it.
inline std::vector<Vma> parse_smaps(std::istream& in) {
  std::vector<Vma> out;
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    const auto dash = line.find('-');
    if (dash != std::string::npos && (colon == std::string::npos || dash < colon) &&
        std::isxdigit(static_cast<unsigned char>(line[0]))) {
      char* end = nullptr;
      Vma v;
      v.start = std::strtoull(line.c_str(), &end, 16);
      v.end = std::strtoull(end + 1, nullptr, 16);
      out.push_back(v);
      continue;
    }
    if (out.empty() || colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const std::uint64_t kib = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
    if (key == "Rss") out.back().rss_kib = kib;
    else if (key == "AnonHugePages") out.back().anon_huge_kib = kib;
    else if (key == "Private_Hugetlb" || key == "Shared_Hugetlb") out.back().hugetlb_kib += kib;
  }
  return out;
}

struct HugeShare {
  std::uint64_t huge_kib = 0;   // resident in huge pages
  std::uint64_t total_kib = 0;  // resident in all
  double percent() const { return total_kib ? 100.0 * double(huge_kib) / double(total_kib) : 0.0; }
};

// Sums the mappings that hold at least one of `sorted_addrs` (ascending object addresses).
inline HugeShare huge_share(const std::vector<Vma>& vmas, const std::vector<std::uintptr_t>& sorted_addrs) {
  HugeShare s;
  for (const Vma& v : vmas) {
    const auto it = std::lower_bound(sorted_addrs.begin(), sorted_addrs.end(), v.start);
    if (it == sorted_addrs.end() || *it >= v.end) continue;
    s.huge_kib += v.anon_huge_kib + v.hugetlb_kib;
    s.total_kib += v.rss_kib + v.hugetlb_kib;
  }
  return s;
}

}  // namespace wl
