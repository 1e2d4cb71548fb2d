// The fuzz target under a fixed, deterministic driver for ctest: hand-written edge-case programs
// and pseudo-random ones (fixed seeds), a bounded number of each. Open-ended coverage-guided
// runs: scripts/sanitize --fuzz.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hugemem/hugemem.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// After malloc_trim, which in secure mode also empties the quarantines (a block in them still
// counts as allocated).
hm_stats stats() {
  hm_trim(0);
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

TEST(Fuzz, EdgeCasePrograms) {
  std::size_t allocated = stats().allocated;
  const std::vector<std::vector<std::uint8_t>> programs = {
      {},
      {0},
      {0, 0, 0, 0, 0, 0, 0},                                  // malloc(0)
      {0, 1, 200, 0, 0, 0x80, 0, 2, 1, 0, 0, 0, 0, 0},        // malloc 32 KiB, realloc to 0 (frees)
      {0, 1, 255, 0, 0, 0, 0, 6, 1, 7, 1, 2, 1, 0, 0, 0, 0, 16},  // a direct mapping, checked, shrunk
      {3, 2, 21, 1, 240, 0, 1, 0, 0, 3},                       // 2 MiB-aligned large block
      {3, 3, 12, 2, 10, 0, 0, 0, 16},                          // page-aligned small object
      {1, 4, 7, 250, 0, 0x10, 0, 0, 5, 4},                     // calloc, sized free
  };
  for (const auto& p : programs) LLVMFuzzerTestOneInput(p.data(), p.size());
  EXPECT_EQ(stats().allocated, allocated) << "every program frees what it allocated";
}

TEST(Fuzz, PseudoRandomPrograms) {
  std::size_t allocated = stats().allocated;
  std::mt19937 rng(20261201);
  std::vector<std::uint8_t> program;
  for (int run = 0; run < 1500; ++run) {
    program.resize(1 + rng() % 600);
    for (auto& b : program) b = static_cast<std::uint8_t>(rng());
    LLVMFuzzerTestOneInput(program.data(), program.size());
  }
  EXPECT_EQ(stats().allocated, allocated);
}

}  // namespace
