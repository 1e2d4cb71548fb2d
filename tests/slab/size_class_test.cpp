// Size classes: every request maps to the smallest class that holds it, objects are aligned,
// and the internal waste stays within the stated bounds (the mean is reported as a property).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "slab/size_class.h"
#include "slab/slab.h"
#include "slab/thread_heap.h"

namespace {

using namespace hm::slab;

TEST(SizeClasses, EveryRequestGetsTheSmallestClassThatHoldsIt) {
  for (std::size_t n = 0; n <= kSmallMax; ++n) {
    int c = class_of(n);
    ASSERT_GE(class_size(c), n) << n;
    if (c > 0) {
      ASSERT_LT(class_size(c - 1), n) << n;
    }
  }
  for (int c = 1; c < kClasses; ++c) {
    EXPECT_GT(class_size(c), class_size(c - 1));
    EXPECT_EQ(class_size(c) % 16, 0u) << "class " << c << " keeps 16-byte alignment";
  }
}

TEST(SizeClasses, WasteIsBounded) {
  double sum = 0, worst_above_128 = 0;
  for (std::size_t n = 1; n <= kSmallMax; ++n) {
    double waste = static_cast<double>(class_size(class_of(n)) - n) / static_cast<double>(n);
    sum += waste;
    if (n > 128 && waste > worst_above_128) worst_above_128 = waste;
  }
  double mean = sum / kSmallMax;
  RecordProperty("mean_internal_waste_percent", std::to_string(mean * 100));
  std::printf("internal waste over 1..%zu B: mean %.1f%%, worst above 128 B %.1f%%\n", kSmallMax, mean * 100,
              worst_above_128 * 100);
  EXPECT_LE(worst_above_128, 0.25);
  EXPECT_LE(mean, 0.15);
}

TEST(SizeClasses, AlignedClassesGiveAlignedObjects) {
  for (std::size_t align = 32; align <= 4096; align *= 2) {
    for (std::size_t n : {1ul, 17ul, 100ul, 1000ul, 5000ul, 20000ul}) {
      int c = aligned_class(n, align);
      if (n > kSmallMax) continue;
      ASSERT_GE(c, 0) << n << " @ " << align;
      EXPECT_GE(class_size(c), n);
      EXPECT_EQ(class_size(c) % align, 0u);
      EXPECT_EQ(slab_offset(c) % align, 0u) << "slab's first object aligned too";
    }
  }
}

TEST(SizeClasses, SlabsHoldSeveralObjectsAndTheHeader) {
  for (int c = 0; c < kClasses; ++c) {
    std::size_t bytes = full_slab_pages(c) * 4096;
    std::size_t objects = (bytes - slab_offset(c)) / class_size(c);
    EXPECT_GE(objects, 7u) << "class " << class_size(c);
    EXPECT_GE(slab_offset(c), sizeof(Slab));
  }
}

// contains_object is one multiply, rotate and compare: it must say yes exactly at the object
// starts, for every class and slab length, and no at every other address near or far.
TEST(SlabGeometry, TheObjectStartCheckAcceptsExactlyTheObjectStarts) {
  std::vector<std::uint64_t> far = {0, 1, 16, 0x7fffffffffffull, 0x800000000000ull, ~0ull, ~0ull - 15};
  for (int c = 0; c < kClasses; ++c) {
    for (std::size_t pages : {slab_pages(c, 0), full_slab_pages(c)}) {
      // Only the header is written: the slab's memory is a page-aligned buffer of its length.
      void* mem = std::aligned_alloc(4096, pages * 4096);
      ASSERT_NE(mem, nullptr);
      Slab* s = format_slab(mem, pages, c, 0);
      ASSERT_EQ(s->capacity, (pages * 4096 - slab_offset(c)) / class_size(c));
      for (std::int64_t off = -4096; off < static_cast<std::int64_t>(s->span) + 4096; ++off) {
        bool start = off >= 0 && off < static_cast<std::int64_t>(s->span) && off % class_size(c) == 0;
        ASSERT_EQ(s->contains_object(s->begin + off), start) << "class " << c << " offset " << off;
      }
      for (std::uint64_t a : far) EXPECT_FALSE(s->contains_object(reinterpret_cast<void*>(a))) << a;
      std::free(mem);
    }
  }
}

// malloc's fast path finds its slab by size (ThreadHeap::by_size): every table entry must name
// the active slab of the class the size belongs to.
TEST(SlabGeometry, TheBySizeTableFollowsEachClassesActiveSlab) {
  static ThreadHeap h;
  static Slab fake[kTableClasses];
  for (int c = 0; c < kTableClasses; ++c) h.set_active(c, &fake[c]);
  for (std::size_t n = 0; n <= kTableMax; ++n) ASSERT_EQ(h.by_size[(n + 7) >> 3], &fake[class_of(n)]) << n;
  h.set_active(3, &g_empty_slab);
  for (std::size_t n = 0; n <= kTableMax; ++n)
    ASSERT_EQ(h.by_size[(n + 7) >> 3], class_of(n) == 3 ? &g_empty_slab : &fake[class_of(n)]) << n;
}

}  // namespace
