// Runs a program or a function in a child process to completion, or kills it after a timeout,
// so that a hang in the allocator fails a test instead of stalling ctest.
#pragma once

#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

struct Outcome {
  bool timed_out = false;
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
};

Outcome wait_with_timeout(pid_t pid, std::chrono::milliseconds timeout);

Outcome run_with_timeout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Forks and runs fn in the child; its return value is the child's exit code.
template <class Fn>
Outcome fork_with_timeout(Fn fn, std::chrono::milliseconds timeout) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  if (pid < 0) return Outcome{};
  return wait_with_timeout(pid, timeout);
}
