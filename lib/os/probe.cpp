// Machine probing from /sys and /proc with open/read into stack buffers: no stdio, no malloc.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "os/once.h"
#include "os/os.h"

namespace hm::os {
namespace {

// Reads a small file into buf (NUL-terminated). Returns bytes read, or -1.
long read_file(const char* path, char* buf, std::size_t cap) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = ::read(fd, buf, cap - 1);
  int e = errno;
  ::close(fd);
  errno = e;
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

long read_long(const char* path, long fallback) {
  char buf[64];
  if (read_file(path, buf, sizeof buf) <= 0) return fallback;
  long v = 0;
  bool any = false;
  for (const char* c = buf; *c >= '0' && *c <= '9'; ++c, any = true) v = v * 10 + (*c - '0');
  return any ? v : fallback;
}

bool write_long(const char* path, long v) {
  char buf[24];
  int n = 0;
  char tmp[24];
  do tmp[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) > 0);
  for (int i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, buf, n) == n;
  int e = errno;
  ::close(fd);
  errno = e;
  return ok;
}

const char* pool_dir(std::size_t page_size) {
  return page_size == k1G ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/"
                          : "/sys/kernel/mm/hugepages/hugepages-2048kB/";
}

void pool_path(char* out, std::size_t page_size, const char* file) {
  std::strcpy(out, pool_dir(page_size));
  std::strcat(out, file);
}

ThpMode read_thp() {
  char buf[128];
  if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) <= 0) return ThpMode::Unavailable;
  if (std::strstr(buf, "[always]")) return ThpMode::Always;
  if (std::strstr(buf, "[madvise]")) return ThpMode::Madvise;
  return ThpMode::Never;
}

// Highest id in a kernel cpulist/nodelist such as "0-1,4" plus one.
int count_list(const char* path) {
  char buf[256];
  if (read_file(path, buf, sizeof buf) <= 0) return 1;
  int highest = 0, cur = 0;
  for (const char* c = buf; *c; ++c) {
    if (*c >= '0' && *c <= '9') {
      cur = cur * 10 + (*c - '0');
      if (cur > highest) highest = cur;
    } else {
      cur = 0;
    }
  }
  return highest + 1;
}

}  // namespace

const char* thp_mode_name(ThpMode m) {
  switch (m) {
    case ThpMode::Always: return "always";
    case ThpMode::Madvise: return "madvise";
    case ThpMode::Never: return "never";
    case ThpMode::Unavailable: return "unavailable";
  }
  return "?";
}

HugepagePool hugepage_pool(std::size_t page_size) {
  char path[128];
  HugepagePool p;
  pool_path(path, page_size, "nr_hugepages");
  p.total = read_long(path, 0);
  pool_path(path, page_size, "free_hugepages");
  p.free = read_long(path, 0);
  return p;
}

long reserve_hugepages(std::size_t page_size, long count) {
  char path[128];
  pool_path(path, page_size, "nr_hugepages");
  if (!write_long(path, count)) return -1;
  return read_long(path, -1);
}

MachineInfo probe() {
  MachineInfo m;
  m.huge2m = hugepage_pool(k2M);
  m.huge1g = hugepage_pool(k1G);
  m.thp = read_thp();
  m.numa_nodes = count_list("/sys/devices/system/node/online");
  m.cpus = count_list("/sys/devices/system/cpu/online");
  return m;
}

// Function-local static: initialised once, thread-safely, without allocating (the guard is a
// plain word), and usable before main.
// Not a function-local static, whose guard a forked child could inherit held (os/once.h).
const MachineInfo& machine() {
  static MachineInfo info;
  static Once once;
  if (!once.done() && once.begin()) {
    info = probe();
    once.finish();
  }
  return info;
}

std::uint64_t virt_to_phys(const void* p) {
  int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  auto va = reinterpret_cast<std::uintptr_t>(p);
  std::uint64_t entry = 0;
  long n = ::pread(fd, &entry, sizeof entry, static_cast<off_t>(va / kPageSize * sizeof entry));
  ::close(fd);
  constexpr std::uint64_t kPresent = 1ULL << 63;
  constexpr std::uint64_t kPfnMask = (1ULL << 55) - 1;
  if (n != sizeof entry || !(entry & kPresent)) return 0;
  std::uint64_t pfn = entry & kPfnMask;
  if (pfn == 0) return 0;  // the kernel hides PFNs from non-root readers
  return pfn * kPageSize + (va % kPageSize);
}

std::size_t address_space_left() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  long vm_pages = read_long("/proc/self/statm", -1);  // its first field: VmSize in pages
  if (vm_pages < 0) return SIZE_MAX;
  std::size_t used = static_cast<std::size_t>(vm_pages) * kPageSize;
  return rl.rlim_cur > used ? static_cast<std::size_t>(rl.rlim_cur) - used : 0;
}

}  // namespace hm::os
