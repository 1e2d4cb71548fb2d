// realloc keeps the contents across every size-class boundary, from small to large to directly
// mapped blocks and back, and stays in place where the block already has room.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "family.h"

namespace {

unsigned char pattern(std::size_t i, unsigned seed) { return static_cast<unsigned char>((i * 131 + seed) >> 3); }

// The first 4 MiB are written and checked whole, beyond that every 512th byte: enough to catch
// a short or misplaced copy without writing hundreds of MiB.
constexpr std::size_t kDense = 4 * MiB, kStride = 512;

template <class Fn>
void for_sampled(std::size_t from, std::size_t to, Fn fn) {
  std::size_t i = from;
  for (; i < to && i < kDense; ++i) fn(i);
  for (i = (i + kStride - 1) / kStride * kStride; i < to; i += kStride) fn(i);
}

void fill(unsigned char* p, std::size_t from, std::size_t to, unsigned seed) {
  for_sampled(from, to, [&](std::size_t i) { p[i] = pattern(i, seed); });
}

// Bytes [0, n) still hold what fill() wrote.
::testing::AssertionResult holds(const unsigned char* p, std::size_t n, unsigned seed) {
  std::size_t bad = SIZE_MAX;
  for_sampled(0, n, [&](std::size_t i) {
    if (bad == SIZE_MAX && p[i] != pattern(i, seed)) bad = i;
  });
  if (bad == SIZE_MAX) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "byte " << bad << " of " << n << " lost";
}

// Every class size, and one byte beyond it, then large and direct sizes.
std::vector<std::size_t> growing_sizes() {
  std::set<std::size_t> s;
  for (std::size_t n = 1; n <= kSmallMax; ++n) {
    void* p = F.malloc(n);
    std::size_t u = F.usable_size(p);
    F.free(p);
    s.insert(u);
    s.insert(u + 1);
  }
  for (std::size_t n : {48 * KiB, 64 * KiB + 1, 256 * KiB, MiB + 4095, 16 * MiB, kDirect - 1, kDirect, kDirect + 1,
                        160 * MiB, 300 * MiB})
    s.insert(n);
  return {s.begin(), s.end()};
}

TEST(SUITE(Realloc), GrowingThroughEveryBoundaryKeepsTheContents) {
  std::vector<std::size_t> sizes = growing_sizes();
  auto* p = static_cast<unsigned char*>(F.malloc(1));
  fill(p, 0, 1, 1);
  std::size_t have = 1;
  for (std::size_t n : sizes) {
    p = static_cast<unsigned char*>(F.realloc(p, n));
    ASSERT_NE(p, nullptr) << n;
    ASSERT_TRUE(holds(p, have, 1)) << "growing " << have << " -> " << n;
    ASSERT_GE(F.usable_size(p), n);
    fill(p, have, n, 1);
    have = n;
  }
  F.free(p);
}

TEST(SUITE(Realloc), ShrinkingThroughEveryBoundaryKeepsTheContents) {
  std::vector<std::size_t> sizes = growing_sizes();
  std::size_t have = sizes.back();
  auto* p = static_cast<unsigned char*>(F.malloc(have));
  ASSERT_NE(p, nullptr);
  fill(p, 0, have, 2);
  for (auto it = sizes.rbegin() + 1; it != sizes.rend(); ++it) {
    std::size_t n = *it;
    p = static_cast<unsigned char*>(F.realloc(p, n));
    ASSERT_NE(p, nullptr) << n;
    ASSERT_TRUE(holds(p, n, 2)) << "shrinking " << have << " -> " << n;
    ASSERT_GE(F.usable_size(p), n);
    have = n;
  }
  F.free(p);
}

// Small -> large -> direct -> small, and direct -> small directly.
TEST(SUITE(Realloc), JumpsBetweenKindsKeepTheContents) {
  const std::size_t path[] = {100, 5 * MiB, 200 * MiB, 3000, 150 * MiB, 64, 40 * KiB, 16};
  auto* p = static_cast<unsigned char*>(F.malloc(16));
  fill(p, 0, 16, 3);
  std::size_t have = 16;
  for (std::size_t n : path) {
    p = static_cast<unsigned char*>(F.realloc(p, n));
    ASSERT_NE(p, nullptr) << n;
    std::size_t kept = have < n ? have : n;
    ASSERT_TRUE(holds(p, kept, 3)) << have << " -> " << n;
    fill(p, kept, n, 3);
    have = n;
  }
  F.free(p);
}

TEST(SUITE(Realloc), WithinTheSameClassStaysInPlace) {
  void* p = F.malloc(17);
  std::size_t u = F.usable_size(p);
  EXPECT_EQ(F.realloc(p, u), p);
  EXPECT_EQ(F.realloc(p, 17), p);
  EXPECT_EQ(F.realloc(p, u - 15), p);
  F.free(p);
}

TEST(SUITE(Realloc), LargeBlocksShrinkInPlace) {
  void* p = F.malloc(MiB);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(F.realloc(p, 512 * KiB), p);
  EXPECT_EQ(F.realloc(p, 100 * KiB), p);
  EXPECT_GE(F.usable_size(p), 100 * KiB);
  EXPECT_LT(F.usable_size(p), 512 * KiB) << "the tail went back";
  F.free(p);
}

// A large block with free pages behind it grows over them instead of moving.
TEST(SUITE(Realloc), LargeBlocksGrowInPlaceWhenTheNextPagesAreFree) {
  void* p = F.malloc(MiB);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(F.realloc(p, 512 * KiB), p);
  // The pages just released are behind p and free: growing back over them stays in place.
  EXPECT_EQ(F.realloc(p, 768 * KiB), p);
  EXPECT_EQ(F.realloc(p, MiB), p);
  F.free(p);
}

// Down to half its size a direct block stays where it is and gives its tail back to the OS (its
// usable size follows); growing again moves it, contents intact.
TEST(SUITE(Realloc), DirectBlocksShrinkInPlaceGivingTheTailBack) {
  auto* p = static_cast<char*>(F.malloc(300 * MiB));
  ASSERT_NE(p, nullptr);
  p[0] = 'a';
  p[199 * MiB] = 'b';
  ASSERT_EQ(F.realloc(p, 200 * MiB), p);
  EXPECT_GE(F.usable_size(p), 200 * MiB);
  EXPECT_LT(F.usable_size(p), 202 * MiB) << "the tail beyond the 2 MiB rounding is given back";
  auto* q = static_cast<char*>(F.realloc(p, 290 * MiB));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[0], 'a');
  EXPECT_EQ(q[199 * MiB], 'b');
  F.free(q);
}

// free_sized takes the size of the latest request, realloc's included, wherever realloc left
// the block (C23 7.24.3.4).
TEST(SUITE(Realloc), FreeSizedTakesTheSizeGivenToRealloc) {
  for (auto [from, to] : {std::pair{100ul, 90ul}, std::pair{MiB, 100 * KiB}, std::pair{MiB, 2 * MiB},
                          std::pair{300 * MiB, 200 * MiB}, std::pair{200 * MiB, 300 * MiB}, std::pair{300 * MiB, 100 * KiB}}) {
    void* p = F.malloc(from);
    ASSERT_NE(p, nullptr);
    void* q = F.realloc(p, to);
    ASSERT_NE(q, nullptr) << from << " -> " << to;
    F.free_sized(q, to);
  }
}

}  // namespace
