// The calling thread and its file descriptors: what the slow paths need of the scheduler and of
// stderr, kept here so that only lib/os makes system calls.
#include <fcntl.h>
#include <sched.h>

#include "os/os.h"

namespace hm::os {

void yield_cpu() { ::sched_yield(); }

int dup_cloexec(int fd, int min_fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, min_fd); }

}  // namespace hm::os
