#include "hugemem/pktpool/ring.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>

namespace {

using hm::pkt::Ring;

void* tag(std::uintptr_t i) { return reinterpret_cast<void*>(i); }

TEST(PktRing, RejectsCapacitiesThatAreNotPowersOfTwo) {
  errno = 0;
  Ring r(12);
  EXPECT_FALSE(r);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_FALSE(Ring(0));
}

TEST(PktRing, HoldsExactlyItsCapacityInFifoOrder) {
  Ring r(8);
  ASSERT_TRUE(r);
  void* in[8];
  for (int i = 0; i < 8; ++i) in[i] = tag(i + 1);
  EXPECT_EQ(r.enqueue_bulk(in, 8), 8u);
  EXPECT_EQ(r.count(), 8u);
  EXPECT_EQ(r.free_count(), 0u);
  void* extra = tag(99);
  EXPECT_EQ(r.enqueue_bulk(&extra, 1), 0u);
  void* out[8];
  EXPECT_EQ(r.dequeue_bulk(out, 8), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], in[i]);
  EXPECT_EQ(r.dequeue_bulk(out, 1), 0u);
}

TEST(PktRing, BulkIsAllOrNothingAndBurstTakesWhatThereIs) {
  Ring r(8);
  void* in[8];
  for (int i = 0; i < 8; ++i) in[i] = tag(i + 1);
  ASSERT_EQ(r.enqueue_bulk(in, 5), 5u);
  EXPECT_EQ(r.enqueue_bulk(in, 4), 0u) << "only 3 free: bulk must enqueue nothing";
  EXPECT_EQ(r.count(), 5u);
  EXPECT_EQ(r.enqueue_burst(in, 4), 3u);
  EXPECT_EQ(r.count(), 8u);
  void* out[16];
  EXPECT_EQ(r.dequeue_bulk(out, 9), 0u) << "only 8 there: bulk must dequeue nothing";
  EXPECT_EQ(r.count(), 8u);
  EXPECT_EQ(r.dequeue_burst(out, 16), 8u);
  EXPECT_EQ(r.dequeue_burst(out, 16), 0u);
}

TEST(PktRing, IndicesWrapAroundManyTimes) {
  Ring r(4);
  void* in[3];
  void* out[3];
  for (std::uintptr_t round = 0; round < 100000; ++round) {
    for (std::uintptr_t i = 0; i < 3; ++i) in[i] = tag(round * 3 + i + 1);
    ASSERT_EQ(r.enqueue_bulk(in, 3), 3u);
    ASSERT_EQ(r.dequeue_bulk(out, 3), 3u);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(out[i], in[i]);
  }
  EXPECT_EQ(r.count(), 0u);
}

}  // namespace
