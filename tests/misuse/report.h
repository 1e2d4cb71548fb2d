// What every misuse test checks: the misuse runs on a fresh thread of the death-test child,
// which first prints its own id, so the expected report must name that same thread.
// The report's other parts (what happened, the address, the size class) are the caller's regex.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

namespace hm_misuse {

inline std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

template <class F>
void on_thread(F f) {
  std::thread([&] {
    std::fprintf(stderr, "misuse in thread %d\n", static_cast<int>(::gettid()));
    f();
  }).join();
}

// `what`: a regex for the report's first part, e.g. "hugemem: double free of 0x1234".
// gtest compiles the pattern twice, as is and wrapped in "^(...)$"; the leading empty group
// keeps the thread id group 2 in both, so "\\2" is valid and refers to it where it matters
// (death tests match the pattern as is). Groups in `what` start at 3.
inline std::string report(const std::string& what) {
  return "()misuse in thread ([0-9]+)\n.*" + what + ".* in thread \\2\n";
}

}  // namespace hm_misuse

// The misuse `stmt` must abort (SIGABRT) after a report matching `what` naming the thread.
#define EXPECT_REPORTED(stmt, what) \
  EXPECT_EXIT(hm_misuse::on_thread([&] { stmt; }), ::testing::KilledBySignal(SIGABRT), hm_misuse::report(what))
