// Size classes: every request maps to the smallest class that holds it, objects are aligned,
// and the internal waste stays within the stated bounds (the mean is reported as a property).
#include <gtest/gtest.h>

#include "slab/size_class.h"
#include "slab/slab.h"

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

}  // namespace
