#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "os/os.h"

namespace hm::os {

int current_node() {
  if (machine().numa_nodes <= 1) return 0;
  unsigned cpu = 0, node = 0;
  if (::getcpu(&cpu, &node) != 0) return 0;
  return static_cast<int>(node);
}

// mbind through the raw system call: libnuma's wrappers may allocate, and this runs inside malloc.
bool bind_node(void* addr, std::size_t size, int node) {
  if (machine().numa_nodes <= 1) return true;
  if (node < 0 || node >= 64) {
    errno = EINVAL;
    return false;
  }
  constexpr int kMpolPreferred = 1;
  unsigned long mask = 1UL << node;
  return ::syscall(SYS_mbind, addr, size, kMpolPreferred, &mask, 64UL, 0U) == 0;
}

}  // namespace hm::os
