// Processes and threads around the allocator: fork while other threads allocate (the child
// must not inherit a held lock), exec after fork, thread churn (heaps reused, not leaked), and a
// thread that exits while other threads still hold and free its objects (its slabs reused).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "slab/thread_heap.h"

namespace {

hm_stats stats() {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

// Waits for a child; a child still running after `seconds` is taken as deadlocked and killed.
int wait_exit_code(pid_t pid, int seconds) {
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Threads allocating and freeing (small, large and direct blocks, some freed by another
// thread through shared slots) until stopped.
class Churn {
 public:
  explicit Churn(int threads) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
  }
  ~Churn() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    for (auto& s : slots_) hm_free(s.exchange(nullptr));
  }
  // Takes the objects other threads left in the slots (they are live: whoever takes one owns it).
  std::vector<void*> take_slots() {
    std::vector<void*> got;
    for (auto& s : slots_) {
      if (void* p = s.exchange(nullptr)) got.push_back(p);
    }
    return got;
  }

 private:
  void run(int seed) {
    std::mt19937 rng(seed);
    std::vector<void*> mine;
    while (!stop_.load(std::memory_order_relaxed)) {
      std::size_t n = rng() % 8 == 0 ? 40000 + rng() % 400000 : 1 + rng() % 2048;
      if (rng() % 512 == 0) n = std::size_t{130} << 20;
      void* p = hm_malloc(n);
      if (p) std::memset(p, 0x11, n < 4096 ? n : 4096);
      if (p && rng() % 4 == 0) p = slots_[rng() % slots_.size()].exchange(p);  // hand over
      if (p) mine.push_back(p);
      if (mine.size() > 64) {
        std::size_t i = rng() % mine.size();
        hm_free(mine[i]);
        mine[i] = mine.back();
        mine.pop_back();
      }
    }
    for (void* p : mine) hm_free(p);
  }
  std::atomic<bool> stop_{false};
  std::array<std::atomic<void*>, 64> slots_{};
  std::vector<std::thread> threads_;
};

// hugemem is initialised before the threads start: the race of fork with the one-time
// initialisation itself is ForkDuringInit below.
TEST(Fork, WhileOtherThreadsAllocate) {
  hm_free(hm_malloc(1));
  Churn churn(3);
  for (int i = 0; i < 30; ++i) {
    void* before = hm_malloc(200);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: one thread; the others' heaps and objects are inherited, their locks are not.
      for (void* p : churn.take_slots()) hm_free(p);
      hm_free(before);
      std::vector<void*> v;
      for (int k = 0; k < 2000; ++k) v.push_back(hm_malloc(k % 3 == 0 ? 50000 : 64));
      v.push_back(hm_malloc(std::size_t{130} << 20));
      bool ok = true;
      std::thread t([&] {
        for (void* p : v) hm_free(p);
        void* q = hm_malloc(1000);
        ok = q != nullptr;
        hm_free(q);
      });
      t.join();
      ::_exit(ok ? 0 : 1);
    }
    hm_free(before);
    ASSERT_EQ(wait_exit_code(pid, 60), 0) << "fork #" << i << ": the child failed or deadlocked (-1)";
  }
}

TEST(Fork, ExecAfterForkWhileOtherThreadsAllocate) {
  hm_free(hm_malloc(1));
  Churn churn(3);
  for (int i = 0; i < 10; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      hm_free(hm_malloc(100));
      ::execl("/bin/sh", "sh", "-c", "exit 7", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_EQ(wait_exit_code(pid, 60), 7) << "exec #" << i;
  }
}

// A shell started after fork, with libhugemem.so preloaded, runs a program (perl, which has no
// hugemem of its own) that must come up on hugemem: it prints hugemem's statistics at exit.
TEST(Fork, ExecOfAProgramUnderThePreloadedAllocator) {
#ifndef HM_PRELOAD_SO
  GTEST_SKIP() << "libhugemem.so is not built in this configuration (HUGEMEM_SANITIZE)";
#else
  if (::access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/perl to run";
  Churn churn(2);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 2);
    ::close(out[0]);
    char preload[600];
    std::snprintf(preload, sizeof preload, "LD_PRELOAD=%s", HM_PRELOAD_SO);
    char* const env[] = {preload, const_cast<char*>("HUGEMEM_SHOW_STATS=1"), nullptr};
    ::execle("/bin/sh", "sh", "-c", "/usr/bin/perl -e 'my @a = (1 .. 1000)'; exit 3", static_cast<char*>(nullptr), env);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string err;
  char buf[4096];
  for (long n; (n = ::read(out[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  EXPECT_EQ(wait_exit_code(pid, 60), 3);
  EXPECT_NE(err.find("hugemem: allocated"), std::string::npos) << "the program ran on hugemem; its stderr: " << err;
#endif
}

// ForkDuringInit: a fresh process (this binary, re-executed with HM_FORK_DURING_INIT set) whose
// threads make the process's first allocations while its main thread forks; the child allocates.
// Exits 0 if the child finished, 2 if it hung (killed by its alarm), before main runs.
int fork_during_init_if_asked() {
  if (!std::getenv("HM_FORK_DURING_INIT")) return 0;
  std::atomic<bool> stop{false};
  std::thread t[3];
  for (auto& x : t) {
    x = std::thread([&] {
      while (!stop.load()) hm_free(hm_malloc(100));
    });
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(2);  // ample for one allocation; a spinning child burns a core until then
    hm_free(hm_malloc(100));
    ::_exit(0);
  }
  int code = wait_exit_code(pid, 60) == 0 ? 0 : 2;
  stop.store(true);
  for (auto& x : t) x.join();
  std::_Exit(code);
}
[[maybe_unused]] const int g_fork_during_init = fork_during_init_if_asked();

// A fork while other threads make the process's first allocations, started from a static
// initialiser (as early as a program can start threads), must not leave the child waiting for a
// thread it does not have, nor holding a lock copied from one.
TEST(Fork, DuringAnotherThreadsFirstAllocation) {
  char self[512] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
  for (int i = 0; i < 200; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("HM_FORK_DURING_INIT", "1", 1);
      ::execl(self, self, "--gtest_list_tests", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int code = wait_exit_code(pid, 60);
    ASSERT_NE(code, 2) << "run " << i << ": the child of a fork during initialisation hung";
    ASSERT_EQ(code, 0) << "run " << i;
  }
}

std::size_t heap_count() {
  std::size_t n = 0;
  hm::slab::lock_heaps();
  for (hm::slab::ThreadHeap* h = hm::slab::all_heaps(); h; h = h->all_next) ++n;
  hm::slab::unlock_heaps();
  return n;
}

TEST(Threads, TenThousandShortLivedThreads) {
  constexpr int kThreads = 10000, kBatch = 8;
  hm_free(hm_malloc(1));
  std::size_t heaps = heap_count();
  std::size_t allocated = stats().allocated;
  std::mutex mu;
  std::vector<void*> left;  // objects each thread leaves behind, freed by the main thread
  for (int b = 0; b < kThreads / kBatch; ++b) {
    std::vector<std::thread> batch;
    for (int t = 0; t < kBatch; ++t) {
      batch.emplace_back([&, t] {
        void* keep[4];
        for (int k = 0; k < 4; ++k) {
          keep[k] = hm_malloc(static_cast<std::size_t>(16 << ((t + k) % 10)));
          std::memset(keep[k], k, 16);
        }
        void* tmp[16];
        for (int k = 0; k < 16; ++k) tmp[k] = hm_malloc(static_cast<std::size_t>(24 + 100 * k));
        for (void* p : tmp) hm_free(p);
        std::lock_guard g(mu);
        left.insert(left.end(), keep, keep + 4);
      });
    }
    for (auto& t : batch) t.join();
    if (left.size() > 4096) {
      for (void* p : left) hm_free(p);
      left.clear();
    }
  }
  for (void* p : left) hm_free(p);
  EXPECT_LE(heap_count(), heaps + kBatch) << "exited threads' heaps are reused";
  EXPECT_EQ(stats().allocated, allocated);
}

TEST(Threads, AnExitedThreadsSlabsAreReusedNotLeaked) {
  constexpr std::size_t kSize = 80, kObjects = 20000;  // ~400 pages of slabs
  constexpr std::uintptr_t kPage = 4096;
  std::size_t allocated = stats().allocated;
  std::vector<void*> objs(kObjects);
  std::thread([&] {
    for (auto& p : objs) p = hm_malloc(kSize);
  }).join();  // the owner is gone; its slabs are full of live objects
  std::set<std::uintptr_t> slabs;
  for (void* p : objs) slabs.insert(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1));
  // Two threads free everything concurrently into the orphaned slabs.
  std::thread a([&] {
    for (std::size_t i = 0; i < kObjects; i += 2) hm_free(objs[i]);
  });
  std::thread b([&] {
    for (std::size_t i = 1; i < kObjects; i += 2) hm_free(objs[i]);
  });
  a.join();
  b.join();
  EXPECT_EQ(stats().allocated, allocated);
  // A new thread allocating as much gets its memory from those slabs (or their pages, if they
  // went back to the page layer empty): every one of them is used again.
  std::set<std::uintptr_t> reused;
  std::thread([&] {
    for (auto& p : objs) {
      p = hm_malloc(kSize);
      reused.insert(reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1));
    }
    for (void* p : objs) hm_free(p);
  }).join();
  std::size_t missing = 0;
  for (std::uintptr_t s : slabs) missing += !reused.count(s);
  // The new thread's slabs grow from short ones, so they tile the pages differently; a few
  // pages may hold the new threads' heaps (a chunk of 64 pages is carved for thread heaps when
  // the last one is used up) or stay in the node's reserve (one slab of up to 16 pages). The
  // exited thread's slabs span ~400 pages; losing them would leave far more unused.
  EXPECT_LE(missing, 64u + 16u) << "of " << slabs.size() << " pages of the exited thread's slabs";
}

}  // namespace

namespace {

// errno is left alone by every successful call, including the ones that map a new arena (whose
// naming, a best-effort prctl, fails on kernels without anonymous VMA names). A child process,
// so that its arenas are new.
TEST(Errno, SuccessfulCallsLeaveErrnoAlone) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int bad = 0;
    auto check = [&bad](const char* what) {
      if (errno != 4242) {
        std::fprintf(stderr, "errno %d after %s\n", errno, what);
        ++bad;
      }
      errno = 4242;
    };
    errno = 4242;
    void* big[4];
    for (void*& p : big) {
      p = hm_malloc(std::size_t{400} << 20);  // 400 MiB: new arenas
      if (!p) ++bad;
      check("malloc(400 MiB)");
    }
    void* direct = hm_malloc(std::size_t{300} << 20);
    check("malloc(300 MiB)");
    void* small = hm_calloc(10, 10);
    check("calloc");
    small = hm_realloc(small, 5000);
    check("realloc");
    void* aligned = nullptr;
    if (hm_posix_memalign(&aligned, 4096, 100) != 0) ++bad;
    check("posix_memalign");
    for (void* p : big) hm_free(p);
    hm_free(direct);
    hm_free(small);
    hm_free(aligned);
    check("free");
    hm_trim(0);
    check("malloc_trim");
    ::_exit(bad);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "calls that succeeded changed errno (see the child's lines above)";
}

}  // namespace
