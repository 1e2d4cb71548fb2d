// fork() during the allocator's initialisation: init_fork_race forks while another thread makes
// the process's first allocation; run many times with the fork landing at different moments.
// A child that inherits a half-finished initialisation (state "initialising", a lock held by
// the initialising thread) must still get a working heap, not spin or deadlock. (Before init
// moved to load time, 4 runs in 100 hung here: the child spun on the inherited state.)
#include <gtest/gtest.h>

#include <string>

#include "subprocess.h"

namespace {

TEST(InitRace, ForkDuringFirstAllocationLeavesTheChildAWorkingHeap) {
  constexpr int kRuns = 300;
  for (int i = 0; i < kRuns; ++i) {
    // Spins before fork: 0 .. ~100 µs, so forks land before, during and after initialisation.
    std::string spins = std::to_string(i * 37 % 3000);
    Outcome o = run_with_timeout({INIT_FORK_RACE, spins}, std::chrono::seconds(10));
    ASSERT_FALSE(o.timed_out) << "init_fork_race " << spins << " itself hung";
    ASSERT_NE(o.exit_code, 3) << "run " << i << " (" << spins << " spins): the child hung in the allocator";
    ASSERT_EQ(o.exit_code, 0) << "run " << i << " (" << spins << " spins): exit " << o.exit_code << ", signal " << o.signal;
  }
}

}  // namespace
