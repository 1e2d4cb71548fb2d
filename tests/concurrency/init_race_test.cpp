// fork() racing a process's first allocation: init_fork_race forks 8 times, back to back, while
// another thread makes the first allocation; run many times with the forks starting at
// different moments. A child that inherits a half-finished initialisation, or a lock held by
// the allocating thread, must still get a working heap: not spin, not deadlock.
#include <gtest/gtest.h>

#include <string>

#include "subprocess.h"

namespace {

// Runs init_fork_race in `mode` many times; the first failure or hang ends the test.
void race_many_times(const char* mode) {
  constexpr int kRuns = 200;
  for (int i = 0; i < kRuns; ++i) {
    // Spins before the first fork: 0 .. ~100 µs.
    std::string spins = std::to_string(i * 37 % 3000);
    Outcome o = run_with_timeout({INIT_FORK_RACE, mode, spins}, std::chrono::seconds(20));
    ASSERT_FALSE(o.timed_out) << "init_fork_race " << mode << " " << spins << " itself hung";
    ASSERT_NE(o.exit_code, 3) << mode << " run " << i << " (" << spins << " spins): a child hung in the allocator";
    ASSERT_EQ(o.exit_code, 0) << mode << " run " << i << " (" << spins << " spins): exit " << o.exit_code
                              << ", signal " << o.signal;
  }
}

// The ordinary program: threads and forks start in main, after the constructors.
TEST(InitRace, ForkDuringFirstAllocationLeavesTheChildAWorkingHeap) { race_many_times("main"); }

// Threads and forks before any constructor has run (preinit_array): the allocator initialises
// lazily, and its fork handlers are not registered yet.
TEST(InitRace, ForkBeforeConstructorsLeavesTheChildAWorkingHeap) { race_many_times("preinit"); }

}  // namespace
