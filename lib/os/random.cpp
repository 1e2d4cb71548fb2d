#include <sys/random.h>
#include <time.h>

#include "os/os.h"

namespace hm::os {

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) == sizeof v && v != 0) return v;
  // No entropy yet (very early boot): mix the clock and an address so the value still differs
  // between processes. Only hardening keys use this; none of them needs cryptographic quality.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  v = static_cast<std::uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&ts);
  return v | 1;
}

}  // namespace hm::os
