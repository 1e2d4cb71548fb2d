// A program whose first allocation (hm_malloc: libhugemem.a, so nothing before main allocates
// through hugemem) races with fork() from another thread: the fork may copy a process in the
// middle of initialisation (when that is lazy), of the first thread heap or of the first arena.
// The child must get a working heap whatever state the parent was in. Exit status: 0 the child worked, 2 it
// failed, 3 it hung (killed after kChildTimeout).
//   init_fork_race <spins before fork>
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

constexpr auto kChildTimeout = std::chrono::seconds(2);

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

}  // namespace

int main(int argc, char** argv) {
  long spins = argc > 1 ? std::atol(argv[1]) : 0;
  std::atomic<bool> go{false};
  std::thread first([&] {
    while (!go.load(std::memory_order_acquire)) {
    }
    void* p = hm_malloc(64);
    hm_free(p);
  });
  go.store(true, std::memory_order_release);
  for (long i = 0; i < spins; ++i) __builtin_ia32_pause();
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) _exit(child_work());
  first.join();

  auto deadline = std::chrono::steady_clock::now() + kChildTimeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // The parent's heap works too.
  void* p = hm_malloc(1000);
  hm_free(p);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && p ? 0 : 2;
}
