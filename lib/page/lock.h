// The lock of the slow paths (page heaps, node partial lists). A test-and-test-and-set spinlock
// that yields the CPU when contended: it is a plain word, so it needs no initialisation before
// main, allocates nothing, and a child after fork() can reset it with reset().
#pragma once

#include <atomic>

#include "os/os.h"

namespace hm::page {

class SpinLock {
 public:
  void lock() {
    for (int spins = 0;; ++spins) {
      if (!held_.exchange(true, std::memory_order_acquire)) return;
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins > 64) {
          os::yield_cpu();
          spins = 0;
        } else {
          __builtin_ia32_pause();
        }
      }
    }
  }
  void unlock() { held_.store(false, std::memory_order_release); }
  // Only in a fork() child, where the thread that held the lock no longer exists.
  void reset() { held_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> held_{false};
};

class LockGuard {
 public:
  explicit LockGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~LockGuard() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace hm::page
