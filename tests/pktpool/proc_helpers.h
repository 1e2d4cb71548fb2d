// What the kernel says about our memory, read straight from /proc/self (not through hugemem's
// os layer, whose answers the tests check): the page size and advice of a mapping (smaps), the
// physical address of a byte (pagemap), the NUMA node of a page (move_pages).
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace hm::pkt::test {

struct Vma {
  bool found = false;
  std::size_t kernel_page = 0;  // KernelPageSize, bytes
  bool hugetlb = false;         // VmFlags "ht"
  bool thp_advised = false;     // VmFlags "hg" (MADV_HUGEPAGE)
};

// The smaps entry of the mapping holding p.
inline Vma vma_of(const void* p) {
  Vma v;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream in("/proc/self/smaps");
  bool mine = false;
  for (std::string line; std::getline(in, line);) {
    unsigned long lo, hi;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      if (mine) break;  // past our entry
      mine = a >= lo && a < hi;
      v.found = mine;
      continue;
    }
    if (!mine) continue;
    unsigned long kb;
    if (std::sscanf(line.c_str(), "KernelPageSize: %lu kB", &kb) == 1) v.kernel_page = kb * 1024;
    if (line.rfind("VmFlags:", 0) == 0) {
      std::istringstream flags(line.substr(8));
      for (std::string f; flags >> f;) {
        v.hugetlb |= f == "ht";
        v.thp_advised |= f == "hg";
      }
    }
  }
  return v;
}

// Physical address of the byte at p from /proc/self/pagemap; 0 when absent or hidden (not root).
inline std::uint64_t pagemap_pa(const void* p) {
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  auto va = reinterpret_cast<std::uintptr_t>(p);
  std::uint64_t entry = 0;
  bool ok = ::pread(fd, &entry, sizeof entry, static_cast<off_t>(va / 4096 * sizeof entry)) == sizeof entry;
  ::close(fd);
  std::uint64_t pfn = entry & ((std::uint64_t{1} << 55) - 1);
  if (!ok || !(entry >> 63) || pfn == 0) return 0;
  return pfn * 4096 + va % 4096;
}

// NUMA node of the page holding p (move_pages(2) with no target only queries); < 0 on error.
inline int node_of(const void* p) {
  void* page = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095});
  int status = -1;
  if (::syscall(SYS_move_pages, 0, 1UL, &page, nullptr, &status, 0) != 0) return -1;
  return status;
}

}  // namespace hm::pkt::test
