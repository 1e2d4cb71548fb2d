// os::Once: one initialisation per process, and a child forked while another thread is inside
// it initialises again instead of waiting for a thread it does not have.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "os/once.h"

namespace {

using hm::os::Once;

TEST(Once, RunsOnceAcrossThreads) {
  Once once;
  std::atomic<int> runs{0};
  std::thread t[4];
  for (auto& x : t) {
    x = std::thread([&] {
      if (once.begin()) {
        runs.fetch_add(1);
        once.finish();
      }
    });
  }
  for (auto& x : t) x.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(once.done());
  EXPECT_FALSE(once.begin());
}

TEST(Once, ChildForkedMidInitialisationStartsOver) {
  Once once;
  std::atomic<bool> inside{false}, release{false};
  std::thread initialiser([&] {
    ASSERT_TRUE(once.begin());
    inside.store(true);
    while (!release.load()) std::this_thread::yield();
    once.finish();
  });
  while (!inside.load()) std::this_thread::yield();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(5);  // a child waiting for the parent's thread would hang: SIGALRM ends it
    bool mine = once.begin();
    if (mine) once.finish();
    ::_exit(mine && once.done() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  release.store(true);
  initialiser.join();
  ASSERT_TRUE(WIFEXITED(status)) << "the child hung in Once::begin (killed by signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(once.done());
}

}  // namespace
