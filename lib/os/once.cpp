#include "os/once.h"

#include <unistd.h>

namespace hm::os {

bool Once::begin() {
  const int self = getpid();
  for (int seen = 0; !state_.compare_exchange_weak(seen, self, std::memory_order_acq_rel); seen = 0) {
    if (seen == kDone) return false;
    if (seen == self) __builtin_ia32_pause();  // another thread is at it: microseconds
    else state_.compare_exchange_strong(seen, 0, std::memory_order_acq_rel);  // forked mid-way
  }
  return true;
}

}  // namespace hm::os
