#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "os/os.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace hm::os {
namespace {

std::atomic<int> g_fail_maps{0};
std::atomic<int> g_fail_decommits{0};
std::atomic<long> g_live{0};

bool take_fault(std::atomic<int>& counter) {
  int n = counter.load(std::memory_order_relaxed);
  while (n > 0) {
    if (counter.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

int hugetlb_flags(Backing b) {
  switch (b) {
    case Backing::Huge1G: return MAP_HUGETLB | MAP_HUGE_1GB;
    case Backing::Huge2M: return MAP_HUGETLB | MAP_HUGE_2MB;
    default: return 0;
  }
}

void* raw_map(void* hint, std::size_t size, int extra_flags) {
  void* p = ::mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Reserves size + align - granule of address space and returns the aligned start; the slack on
// both sides is unmapped again. The reservation itself is PROT_NONE and costs no memory.
char* reserve_aligned(std::size_t size, std::size_t align) {
  std::size_t span = size + align;
  void* p = ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto base = reinterpret_cast<std::uintptr_t>(p);
  std::uintptr_t start = (base + align - 1) & ~(std::uintptr_t{align} - 1);
  if (start > base) ::munmap(p, start - base);
  std::uintptr_t end = start + size;
  if (base + span > end) ::munmap(reinterpret_cast<void*>(end), base + span - end);
  return reinterpret_cast<char*>(start);
}

void name_range(void* addr, std::size_t size, const char* name) {
  if (!name) return;
  int saved = errno;  // best effort: kernels without anonymous VMA names say EINVAL
  ::prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, size, name);
  errno = saved;
}

// An aligned reservation of exactly `size` bytes, without the slack reserve_aligned needs, so
// that a process under a tight RLIMIT_AS (ulimit -v) can still map an arena: the kernel's own
// placement first, then aligned addresses next to it. nullptr when none of them worked.
constexpr int kExactTries = 16;

char* reserve_exact(std::size_t size, std::size_t align) {
  void* p = ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto got = reinterpret_cast<std::uintptr_t>(p);
  if (got % align == 0) return static_cast<char*>(p);
  ::munmap(p, size);
  std::uintptr_t down = got & ~(std::uintptr_t{align} - 1);
  // Aligned places around where the kernel put it, downwards (where it places new mappings):
  // under an address-space limit this is the only way to an aligned mapping, and the nearest
  // slots are often taken by the arenas already mapped.
  for (int k = -1; k < kExactTries - 1; ++k) {
    std::uintptr_t hint = down - static_cast<std::uintptr_t>(k) * align;
    if (hint > down + align || hint < align) continue;  // wrapped around: below the first slot
    void* q = ::mmap(reinterpret_cast<void*>(hint), size, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (q == MAP_FAILED) continue;
    if (q == reinterpret_cast<void*>(hint)) return static_cast<char*>(q);
    ::munmap(q, size);  // a kernel before 4.17 treats the flag as a hint
  }
  return nullptr;
}

}  // namespace

const char* backing_name(Backing b) {
  switch (b) {
    case Backing::Huge1G: return "1GiB-hugetlb";
    case Backing::Huge2M: return "2MiB-hugetlb";
    case Backing::THP: return "THP";
    case Backing::Small: return "4KiB";
  }
  return "?";
}

std::size_t backing_granule(Backing b) {
  switch (b) {
    case Backing::Huge1G: return k1G;
    case Backing::Huge2M:
    case Backing::THP: return k2M;
    case Backing::Small: return kPageSize;
  }
  return kPageSize;
}

Mapping map(std::size_t size, std::size_t align, Backing backing, const char* name, bool charge) {
  if (size == 0 || size % backing_granule(backing) != 0 || (align & (align - 1)) != 0 || align < kPageSize) {
    errno = EINVAL;
    return {};
  }
  if (take_fault(g_fail_maps)) {
    errno = ENOMEM;
    return {};
  }
  // With THP off a THP-advised mapping is plain 4 KiB pages: not what the caller asked for.
  if (backing == Backing::THP && (machine().thp == ThpMode::Never || machine().thp == ThpMode::Unavailable)) {
    errno = EOPNOTSUPP;
    return {};
  }
  std::size_t granule = backing_granule(backing);
  if (align < granule) align = granule;
  void* p = nullptr;
  if (backing == Backing::Huge1G && align == k1G) {
    p = raw_map(nullptr, size, hugetlb_flags(backing));  // the kernel aligns hugetlb mappings
  } else {
    int saved = errno;
    char* at = reserve_exact(size, align);
    if (!at) at = reserve_aligned(size, align);
    if (!at) return {};
    errno = saved;
    bool noreserve = backing >= Backing::THP && !charge;
    p = raw_map(at, size, MAP_FIXED | hugetlb_flags(backing) | (noreserve ? MAP_NORESERVE : 0));
    if (!p) {
      int e = errno;
      ::munmap(at, size);
      errno = e;
      return {};
    }
  }
  if (!p) return {};
  if (backing == Backing::THP) ::madvise(p, size, MADV_HUGEPAGE);
  name_range(p, size, name);
  g_live.fetch_add(1, std::memory_order_relaxed);
  return {p, size, backing};
}

Mapping map_best(std::size_t size, std::size_t align, Backing best, const char* name, bool charge, Backing worst) {
  int saved = ENOMEM;
  for (int b = static_cast<int>(best); b <= static_cast<int>(worst); ++b) {
    auto backing = static_cast<Backing>(b);
    if (size % backing_granule(backing) != 0) continue;
    if (Mapping m = map(size, align, backing, name, charge)) return m;
    if (errno == ENOMEM && saved == ENOMEM) continue;
    saved = errno;
  }
  errno = saved;
  return {};
}

bool unmap(void* addr, std::size_t size) {
  if (::munmap(addr, size) != 0) return false;
  g_live.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

bool shrink(void* addr, std::size_t size, std::size_t new_size) {
  return new_size >= size || ::munmap(static_cast<char*>(addr) + new_size, size - new_size) == 0;
}

bool decommit(void* addr, std::size_t size) {
  if (take_fault(g_fail_decommits)) {
    errno = ENOMEM;
    return false;
  }
  return ::madvise(addr, size, MADV_DONTNEED) == 0;
}

std::size_t resident_pages(std::uintptr_t addr, std::size_t len, std::size_t piece, bool* ended) {
  unsigned char vec[4096];
  std::size_t pages = 0;
  int saved = errno;
  for (std::size_t off = 0; off < len && !*ended; off += piece) {
    std::size_t n = len - off < piece ? len - off : piece;
    if (::mincore(reinterpret_cast<void*>(addr + off), n, vec) == 0) {
      for (std::size_t i = 0; i < n / kPageSize; ++i) pages += vec[i] & 1;
    } else if (piece > kPageSize) {
      pages += resident_pages(addr + off, n, piece > k2M ? k2M : kPageSize, ended);
    } else {
      *ended = true;
    }
  }
  errno = saved;
  return pages;
}

bool protect(void* addr, std::size_t size, bool read_write) {
  return ::mprotect(addr, size, read_write ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
}

bool no_hugepages(void* addr, std::size_t size) { return ::madvise(addr, size, MADV_NOHUGEPAGE) == 0; }
bool no_fork(void* addr, std::size_t size) { return ::madvise(addr, size, MADV_DONTFORK) == 0; }

bool populate(void* addr, std::size_t size) {
  if (::madvise(addr, size, MADV_POPULATE_WRITE) == 0) return true;
  auto* p = static_cast<volatile char*>(addr);
  for (std::size_t off = 0; off < size; off += kPageSize) p[off] = p[off];
  return true;
}

void fail_next_maps(int n) { g_fail_maps.store(n, std::memory_order_relaxed); }
void fail_next_decommits(int n) { g_fail_decommits.store(n, std::memory_order_relaxed); }
long live_mappings() { return g_live.load(std::memory_order_relaxed); }

}  // namespace hm::os
