// A program whose first allocation races with fork() from another thread, so that the fork
// may copy a process in the middle of its first thread heap or its first arena, with the
// allocator's locks held. It allocates with hm_malloc (libhugemem.a), so nothing else
// allocates through hugemem first. Where the race runs:
//  - main: in main(), after the constructors (libhugemem.a's initialises the allocator and
//    registers its fork handlers at load time);
//  - preinit: in the executable's preinit_array, before any constructor: the fork may also
//    copy the allocator's initialisation half done, and no fork handler is registered yet.
// Each child must get a working heap whatever state the parent was in. Exit status: 0 the
// children worked, 2 one failed, 3 one hung (killed after kChildTimeout).
//   init_fork_race main|preinit <spins before the first fork>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "hugemem/hugemem.h"

namespace {

constexpr auto kChildTimeout = std::chrono::seconds(5);
int g_result = 2;

int child_work() {
  for (std::size_t n : {16ul, 100ul, 3000ul, 100000ul, 3ul << 20}) {
    void* p = hm_malloc(n);
    if (!p) return 2;
    std::memset(p, 1, n);
    hm_free(p);
  }
  std::atomic<bool> ok{false};
  std::thread t([&] {
    void* p = hm_calloc(10, 10);
    ok = p != nullptr;
    hm_free(p);
  });
  t.join();
  return ok ? 0 : 2;
}

// Waits for a child until the deadline: 0 it worked, 2 it failed, 3 it hung.
int wait_child(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 2;
}

// Forks back to back while the other thread initialises, so that the snapshots cover the
// whole of its first allocation.
int race(long spins) {
  constexpr int kForks = 8;
  std::atomic<bool> go{false};
  std::thread first([&] {
    while (!go.load(std::memory_order_acquire)) {
    }
    void* p = hm_malloc(64);
    hm_free(p);
  });
  go.store(true, std::memory_order_release);
  for (long i = 0; i < spins; ++i) __builtin_ia32_pause();
  pid_t pids[kForks];
  for (pid_t& pid : pids) {
    pid = fork();
    if (pid == 0) _exit(child_work());
  }
  first.join();
  int result = 0;
  auto deadline = std::chrono::steady_clock::now() + kChildTimeout;
  for (pid_t pid : pids) {
    int r = pid < 0 ? 2 : wait_child(pid, deadline);
    if (r > result) result = r;
  }
  // The parent's heap works too.
  void* p = hm_malloc(1000);
  hm_free(p);
  return p ? result : 2;
}

long spins_argument(int argc, char** argv) { return argc > 2 ? std::atol(argv[2]) : 0; }

void preinit(int argc, char** argv, char**) {
  if (argc > 1 && std::strcmp(argv[1], "preinit") == 0) g_result = race(spins_argument(argc, argv));
}
__attribute__((section(".preinit_array"), used)) void (*const g_preinit_entry)(int, char**, char**) = preinit;

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "main") == 0) g_result = race(spins_argument(argc, argv));
  return g_result;
}
