// Heap corruption through the public API: a write past an object's end into the next free
// object's freelist link (on the owner's local list and on a slab's remote list) must be caught
// before the bad address is handed out; a write into a freed object must be caught on its reuse
// in checked mode (HUGEMEM_CHECK=1).
#include <cstdlib>
#include <cstring>

#include "hugemem/hugemem.h"
#include "report.h"

namespace {

constexpr std::size_t kSize = 80;  // size class 4

// Two live neighbours in the calling thread's active slab: *p, and *q right after it.
void adjacent_pair(char** p, char** q) {
  *q = static_cast<char*>(hm_malloc(kSize));
  do {
    *p = *q;
    *q = static_cast<char*>(hm_malloc(kSize));
  } while (*q != *p + kSize);
}

// Prints what malloc returned: a line that must never appear once the heap is corrupted.
void handed_out(void* r) { std::fprintf(stderr, "handed out %p\n", r); }

TEST(FreelistCorruption, OverflowIntoALocallyFreedNeighbour) {
  EXPECT_REPORTED(
      {
        char* p = nullptr;
        char* q = nullptr;
        adjacent_pair(&p, &q);
        hm_free(q);
        std::memset(p, 'A', kSize + 8);  // 8 bytes past p's end: q's link
        handed_out(hm_malloc(kSize));
        handed_out(hm_malloc(kSize));
      },
      "hugemem: corrupted freelist: the free object 0x[0-9a-f]+ has a link outside its slab.* \\(size class 4, 80 bytes\\)");
}

TEST(FreelistCorruption, OverflowIntoARemotelyFreedNeighbour) {
  EXPECT_REPORTED(
      {
        char* p = nullptr;
        char* q = nullptr;
        adjacent_pair(&p, &q);
        std::thread([q] { hm_free(q); }).join();  // q goes onto the slab's remote list
        std::memset(p, 'B', kSize + 8);
        for (int i = 0; i < 100000; ++i) {  // drains the slab, then collects its remote list
          void* r = hm_malloc(kSize);
          if (r == q) handed_out(r);
        }
      },
      "hugemem: corrupted freelist: the free object 0x[0-9a-f]+ has a link outside its slab.* \\(size class 4, 80 bytes\\)");
}

// Checked mode is read at first use, so these run in a re-executed child ("threadsafe" death
// test style) whose environment has HUGEMEM_CHECK=1 before hugemem initialises.
class CheckedMode : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ::setenv("HUGEMEM_CHECK", "1", 1);
  }
  void TearDown() override { ::unsetenv("HUGEMEM_CHECK"); }
};

TEST_F(CheckedMode, WriteAfterFreeIsCaughtOnReuse) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(kSize));
        hm_free(p);
        std::fprintf(stderr, "freed %p\n", static_cast<void*>(p));
        p[40] = 1;
        handed_out(hm_malloc(kSize));
      },
      "freed (0x[0-9a-f]+)\n.*hugemem: write after free into \\3 at offset 40 \\(size class 4, 80 bytes\\)");
}

TEST_F(CheckedMode, WriteAfterFreeIntoTheLinkIsCaughtOnReuse) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(kSize));
        hm_free(p);
        std::memset(p, 0, 8);
        handed_out(hm_malloc(kSize));
      },
      "hugemem: corrupted freelist: .* \\(size class 4, 80 bytes\\)");
}

TEST_F(CheckedMode, DoubleFreeIsStillReported) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(kSize);
        hm_free(p);
        std::fprintf(stderr, "freed %p\n", p);
        hm_free(p);
      },
      "freed (0x[0-9a-f]+)\n.*hugemem: double free of \\3 \\(size class 4, 80 bytes\\)");
}

TEST_F(CheckedMode, UntouchedFreedObjectsAreReusedSilently) {
  EXPECT_EXIT(
      {
        for (int i = 0; i < 1000; ++i) {
          void* p = hm_malloc(kSize);
          std::memset(p, i, kSize);
          hm_free(p);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
