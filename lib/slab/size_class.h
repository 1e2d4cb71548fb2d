// Size classes: multiples of 16 up to 128, then four per doubling up to kSmallMax. Every class
// is a multiple of 16, so every object is 16-byte aligned (alignof(max_align_t), what glibc
// guarantees and programs rely on); that is why there is no 8-byte class.
// Internal waste (class size / request - 1): at most 25% above 128 B (e.g. 129 -> 160); below
// it at most 15 bytes (17 -> 32 is the worst ratio, 47%). tests/slab measures the mean.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hm::slab {

inline constexpr std::size_t kSmallMax = 32768;
inline constexpr int kClasses = 8 + 8 * 4;

constexpr std::size_t class_size_calc(int c) {
  if (c < 8) return static_cast<std::size_t>(c + 1) * 16;
  int g = (c - 8) / 4, i = (c - 8) % 4;
  std::size_t base = std::size_t{128} << g;
  return base + (base / 4) * static_cast<std::size_t>(i + 1);
}

constexpr int class_of_calc(std::size_t n) {
  if (n <= 16) return 0;
  if (n <= 128) return static_cast<int>((n + 15) / 16) - 1;
  int b = 63 - __builtin_clzll(n - 1);  // 7 for 129..256
  return 8 + (b - 7) * 4 + static_cast<int>(((n - 1) >> (b - 2)) & 3);
}

// Requests up to kTableMax find their class in one table load.
inline constexpr std::size_t kTableMax = 1024;
// The classes the table reaches.
inline constexpr int kTableClasses = class_of_calc(kTableMax) + 1;
struct ClassTable {
  std::uint32_t size[kClasses];
  std::uint8_t small[kTableMax / 8 + 1];  // class of n for n <= kTableMax, indexed by (n + 7) / 8
  // The indices of `small` holding class c (contiguous: classes grow with n).
  std::uint8_t first_index[kTableClasses];
  std::uint8_t last_index[kTableClasses];
  constexpr ClassTable() : size(), small(), first_index(), last_index() {
    for (int c = 0; c < kClasses; ++c) size[c] = static_cast<std::uint32_t>(class_size_calc(c));
    for (std::size_t i = 0; i <= kTableMax / 8; ++i) {
      int c = class_of_calc(i * 8);
      small[i] = static_cast<std::uint8_t>(c);
      if (i == 0 || small[i - 1] != c) first_index[c] = static_cast<std::uint8_t>(i);
      last_index[c] = static_cast<std::uint8_t>(i);
    }
  }
};
inline constexpr ClassTable kClassTable{};
static_assert(kTableMax / 8 <= 255, "table indices fit a byte");
static_assert(class_size_calc(kClasses - 1) == kSmallMax);
static_assert(kClasses <= 255, "a class fits the page descriptor's tag byte");

// Requires n <= kTableMax.
inline int class_of_small(std::size_t n) { return kClassTable.small[(n + 7) >> 3]; }
// Requires n <= kSmallMax.
inline int class_of(std::size_t n) { return n <= kTableMax ? class_of_small(n) : class_of_calc(n); }
inline std::size_t class_size(int c) { return kClassTable.size[c]; }

// Slab geometry: a run of pages from the buddy allocator, the header at its start. A heap's
// slabs of a class grow geometrically, from the shortest slab that holds one object (with its
// offset) to the full length: a thread holding a few objects of many
// classes (thousands of threads may) pins a few pages per class, not a full slab each, while a
// thread that keeps allocating a class reaches full-length slabs after a few.
inline constexpr std::size_t kSlabHeader = 192;  // three cache lines (slab.h)
inline constexpr std::size_t kMaxSlabPages = 64;
// Objects start after the header; power-of-two classes start at a multiple of their size (up to
// a page) so that they serve aligned requests too.
inline std::size_t slab_offset(int c) {
  std::size_t s = class_size(c);
  if ((s & (s - 1)) == 0 && s > kSlabHeader) return s < 4096 ? s : 4096;
  return kSlabHeader;
}

inline std::size_t full_slab_pages(int c) {
  std::size_t s = class_size(c);
  return s <= 1024 ? 16 : s <= 4096 ? 32 : kMaxSlabPages;
}
// The length of a heap's next slab of class c after it made `made` of them: room for 2^made
// objects (and at least 2^made pages), up to the full length. Any page count is a valid slab.
inline std::size_t slab_pages(int c, unsigned made) {
  std::size_t full = full_slab_pages(c);
  if (made >= 8) return full;
  std::size_t pages = (slab_offset(c) + (std::size_t{1} << made) * class_size(c) + 4095) / 4096;
  if (pages < (std::size_t{1} << made)) pages = std::size_t{1} << made;
  return pages < full ? pages : full;
}
// The smallest class that can hold n bytes at `align` (a power of two <= 4096), or -1.
int aligned_class(std::size_t n, std::size_t align);

}  // namespace hm::slab
