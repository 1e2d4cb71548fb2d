#include <ctime>

#include "os/os.h"

namespace hm::os {

// CLOCK_MONOTONIC_COARSE is a vDSO read of the last tick (a few ns, ~4 ms resolution): enough
// for release delays, cheap enough to read on every large free.
std::uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace hm::os
