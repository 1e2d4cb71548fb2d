// Two CPUs for the two threads of the cross-thread benchmark. Pinned apart, every run measures
// the same thing, blocks and their cache lines moving between cores; unpinned, the scheduler of
// a shared machine decides run by run whether the threads share a core, and the samples spread
// several-fold.
#pragma once

#include <pthread.h>
#include <sched.h>

class CpuPair {
 public:
  // Takes the first two CPUs the calling thread may run on, and remembers its set.
  CpuPair() {
    pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_);
    for (int c = 0; c < CPU_SETSIZE && count_ < 2; ++c)
      if (CPU_ISSET(c, &saved_)) cpu_[count_++] = c;
  }
  // Gives the constructing thread its set back.
  ~CpuPair() { pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_); }
  CpuPair(const CpuPair&) = delete;
  CpuPair& operator=(const CpuPair&) = delete;

  // Pins the calling thread to the first (i = 0) or second (i = 1) CPU; with only one CPU
  // allowed, leaves it unpinned.
  void pin(int i) const {
    if (count_ < 2) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_[i], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  }

 private:
  cpu_set_t saved_;
  int cpu_[2] = {};
  int count_ = 0;
};
