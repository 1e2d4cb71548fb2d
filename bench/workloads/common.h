#pragma once
// What every whole-program workload shares: `name=value` arguments, a cheap PRNG, a size table,
// a clock and the single result line the harness parses. The workloads call only the plain
// malloc family and new/delete, so any allocator can be put under them with LD_PRELOAD.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace wl {

// Integer argument `name=value` with an optional k/m/g suffix (powers of 1024); `def` when absent.
// An argument naming nothing the workload asks for is not detected: the harness passes only
// names from its own table, which the smoke tests run.
inline std::uint64_t arg(int argc, char** argv, const char* name, std::uint64_t def) {
  const std::size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, n) != 0 || argv[i][n] != '=') continue;
    char* end = nullptr;
    std::uint64_t v = std::strtoull(argv[i] + n + 1, &end, 10);
    switch (*end) {
      case 'k': case 'K': v <<= 10; break;
      case 'm': case 'M': v <<= 20; break;
      case 'g': case 'G': v <<= 30; break;
      default: break;
    }
    return v;
  }
  return def;
}

// Fractional argument (seconds); `def` when absent.
inline double arg_seconds(int argc, char** argv, const char* name, double def) {
  const std::size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return std::atof(argv[i] + n + 1);
  return def;
}

// xorshift64*: one multiply per number; each thread seeds its own.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull | 1) {}
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

// 4096 sizes log-uniform in [lo, hi], drawn once so the measured loops pay a table load, not a
// logarithm: small sizes dominate, as in real programs.
class SizeTable {
 public:
  SizeTable(std::size_t lo, std::size_t hi, std::uint64_t seed) {
    Rng r(seed);
    const double span = std::log2(double(hi) / double(lo));
    for (auto& s : sizes_) {
      const double u = double(r.next() >> 11) / double(1ull << 53);
      s = std::size_t(double(lo) * std::exp2(u * span));
      if (s < lo) s = lo;
      if (s > hi) s = hi;
    }
  }
  std::size_t operator()(Rng& r) const { return sizes_[r.next() & 4095]; }

 private:
  std::size_t sizes_[4096];
};

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Writes one byte per 4 KiB page and the last byte, so the memory is really faulted in.
inline void touch_pages(void* p, std::size_t size, unsigned char v) {
  auto* c = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < size; i += 4096) c[i] = v;
  c[size - 1] = v;
}

// The one line the harness reads: `RESULT workload=<name> ops=<n> seconds=<s> checksum=<x>`
// followed by workload-specific `key=value` pairs in `extra`.
inline void print_result(const char* name, std::uint64_t ops, double seconds, std::uint64_t checksum,
                         const std::string& extra = {}) {
  std::printf("RESULT workload=%s ops=%llu seconds=%.6f checksum=%llx%s%s\n", name,
              static_cast<unsigned long long>(ops), seconds, static_cast<unsigned long long>(checksum),
              extra.empty() ? "" : " ", extra.c_str());
  std::fflush(stdout);
}

}  // namespace wl
