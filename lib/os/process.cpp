// The calling thread and its file descriptors: what the slow paths need of the scheduler and of
// stderr, kept here so that only lib/os makes system calls.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "os/os.h"

namespace hm::os {

void yield_cpu() { ::sched_yield(); }

int current_tid() { return static_cast<int>(::syscall(SYS_gettid)); }

bool thread_exists(int tid) {
  int saved = errno;
  bool gone = ::syscall(SYS_tgkill, ::getpid(), tid, 0) != 0 && errno == ESRCH;  // signal 0: a probe
  errno = saved;
  return !gone;
}

int dup_cloexec(int fd, int min_fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, min_fd); }

namespace {
void (*g_segv_fn)(void*) = nullptr;
void segv_handler(int, siginfo_t* si, void*) {
  if (g_segv_fn) g_segv_fn(si->si_addr);
  // SA_RESETHAND: returning re-runs the access, which now takes the default action.
}
}  // namespace

bool on_segv(void (*fn)(void* addr)) {
  struct sigaction old {};
  if (::sigaction(SIGSEGV, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) return false;
  g_segv_fn = fn;
  struct sigaction sa {};
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return ::sigaction(SIGSEGV, &sa, nullptr) == 0;
}

}  // namespace hm::os
