// The check every preload test makes: the program succeeds under both allocators, prints the
// same thing, and hugemem's exit statistics show that the preload was in effect.
#pragma once

#include <gtest/gtest.h>

#include "run.h"

struct Runs {
  Result glibc, hugemem;
};

// Runs a command under each allocator (the two may differ in where they run, nothing else) and
// checks them; the caller adds what is specific to the program.
inline Runs run_both(const Command& glibc_cmd, const Command& hugemem_cmd) {
  const Command& cmd = glibc_cmd;
  Runs r{run(glibc_cmd, false), run(hugemem_cmd, true)};
  for (const Result* x : {&r.glibc, &r.hugemem}) {
    const char* which = x == &r.glibc ? "glibc" : "hugemem";
    EXPECT_FALSE(x->timed_out) << cmd.argv[0] << " under " << which << " timed out";
    EXPECT_EQ(x->signal, 0) << cmd.argv[0] << " under " << which << " died of signal " << x->signal << "\n" << x->err;
    EXPECT_EQ(x->exit_code, 0) << cmd.argv[0] << " under " << which << "\n" << x->err;
  }
  EXPECT_EQ(r.glibc.err.find(kStatsMarker), std::string::npos) << "hugemem was loaded without the preload";
  EXPECT_NE(r.hugemem.err.find(kStatsMarker), std::string::npos)
      << "no hugemem statistics at exit: was " << HUGEMEM_SO << " preloaded?\n" << r.hugemem.err;
  EXPECT_TRUE(r.glibc.out == r.hugemem.out) << cmd.argv[0] << ": output differs (" << r.glibc.out.size() << " vs "
                                            << r.hugemem.out.size() << " bytes)";
  return r;
}

inline Runs run_both(const Command& cmd) { return run_both(cmd, cmd); }
