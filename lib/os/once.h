// One-time initialisation that survives fork. pthread_once and function-local statics make a
// second thread wait for the first; a child forked while the first thread was inside would wait
// forever, since that thread does not exist in it. Once records which process is running the
// initialisation, and a forked child starts it over instead.
#pragma once

#include <atomic>

namespace hm::os {

class Once {
 public:
  bool done() const { return state_.load(std::memory_order_acquire) == kDone; }
  // true: the caller must initialise now and then call finish(); false: already done (or done
  // by another thread of this process while the caller waited).
  bool begin();
  void finish() { state_.store(kDone, std::memory_order_release); }

 private:
  static constexpr int kDone = -1;
  std::atomic<int> state_{0};  // 0, the pid of the process initialising, or kDone
};

}  // namespace hm::os
