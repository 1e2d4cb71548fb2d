// Default-mode hardening (docs/hardening.md): address space around what an arena has handed out
// is not read-write (the commit frontier and the guard after the descriptors), direct mappings
// have guards on both sides, a kept large block's head and tail are checked on reuse, and a
// freelist link must decode to an object start. Each misuse runs in a fresh process
// ("threadsafe" death tests re-execute the binary), so the heap is as a small program's.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "hugemem/hugemem.h"
#include "report.h"
#include "slab/free.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// A write `off` bytes from p must fault (SIGSEGV) instead of landing.
void stray_write(void* p, std::ptrdiff_t off) {
  volatile char* at = static_cast<char*>(p) + off;
  *at = 1;
  std::fprintf(stderr, "the write landed\n");
}

#define EXPECT_FAULTS(stmt) \
  EXPECT_EXIT(hm_misuse::on_thread([&] { stmt; }), ::testing::KilledBySignal(SIGSEGV), "misuse in thread")

TEST_F(Hardening, SmallOverflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(32);
    stray_write(p, 32 + kMiB);
  });
}
TEST_F(Hardening, SmallUnderflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(32);
    stray_write(p, -static_cast<std::ptrdiff_t>(kMiB));
  });
}
TEST_F(Hardening, MediumOverflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(16384);
    std::memset(p, 0, 16384);
    stray_write(p, 16384 + kMiB);
  });
}
TEST_F(Hardening, MediumUnderflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(16384);
    stray_write(p, -static_cast<std::ptrdiff_t>(kMiB));
  });
}
TEST_F(Hardening, LargeOverflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(256 * 1024);
    std::memset(p, 0, 256 * 1024);
    stray_write(p, 256 * 1024 + kMiB);
  });
}
TEST_F(Hardening, LargeUnderflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(256 * 1024);
    stray_write(p, -static_cast<std::ptrdiff_t>(kMiB));
  });
}
TEST_F(Hardening, MemcpyOverflowBy1MiBFaults) {
  EXPECT_FAULTS({
    char* p = static_cast<char*>(hm_malloc(64));
    static char src[2 * kMiB];
    std::memcpy(p, src, sizeof src);
    std::fprintf(stderr, "the write landed\n");
  });
}
TEST_F(Hardening, DirectOverflowBy1MiBFaults) {
  EXPECT_FAULTS({
    std::size_t n = 200 * kMiB;
    void* p = hm_malloc(n);
    stray_write(p, static_cast<std::ptrdiff_t>(hm_usable_size(p) + kMiB));
  });
}
TEST_F(Hardening, DirectUnderflowBy1MiBFaults) {
  EXPECT_FAULTS({
    void* p = hm_malloc(200 * kMiB);
    stray_write(p, -static_cast<std::ptrdiff_t>(kMiB));
  });
}

// A link forged with the leaked key to point inside the slab, but not at an object start, is
// refused before the address is handed out (a range check alone hands out the interior
// address, which overlaps a live object).
TEST_F(Hardening, ForgedInteriorLinkIsCaught) {
  EXPECT_REPORTED(
      {
        constexpr std::size_t kSize = 80;
        char* q = static_cast<char*>(hm_malloc(kSize));
        char* p;
        do {
          p = q;
          q = static_cast<char*>(hm_malloc(kSize));
        } while (q != p + kSize);
        char* target = p + 8;  // interior of a live object
        hm_free(q);
        std::uintptr_t key = hm::slab::slab_of(q)->key;  // the slab's link key, as an attacker who leaked it
        auto link = reinterpret_cast<std::uintptr_t>(target) ^ key;
        std::memcpy(q, &link, sizeof link);  // the overflow from p into q's link
        // ... and p's own data (the attacker's) makes the target end the list, so that it
        // would be handed out without another link being decoded.
        auto end = key;
        std::memcpy(target, &end, sizeof end);
        void* a = hm_malloc(kSize);
        void* b = hm_malloc(kSize);
        std::fprintf(stderr, "handed out %p %p\n", a, b);
      },
      "hugemem: corrupted freelist: .* \\(size class 4, 80 bytes\\)");
}

// Large blocks kept for reuse: a write after free into the block's first or last word is
// reported when the block would be handed out again.
TEST_F(Hardening, LargeWriteAfterFreeIsCaughtOnReuse) {
  EXPECT_REPORTED(
      {
        constexpr std::size_t n = 64 * 1024;
        auto* p = static_cast<char*>(hm_malloc(n));
        hm_free(p);
        std::fprintf(stderr, "freed %p\n", static_cast<void*>(p));
        std::memset(p, 'A', 16);
        std::fprintf(stderr, "handed out %p\n", hm_malloc(n));
      },
      "freed (0x[0-9a-f]+)\n.*hugemem: write after free into the large block \\3 at offset 0 \\(large block, 65536 bytes\\)");
}
TEST_F(Hardening, LargeWriteAfterFreeAtTheEndIsCaughtOnReuse) {
  EXPECT_REPORTED(
      {
        constexpr std::size_t n = 300 * 1024;
        hm_free(hm_malloc(n));  // the first free of this size is quarantined (below): now it is kept
        auto* p = static_cast<char*>(hm_malloc(n));
        hm_free(p);
        p[n - 1] = 1;
        std::fprintf(stderr, "handed out %p\n", hm_malloc(n));
      },
      "hugemem: write after free into the large block 0x[0-9a-f]+ at offset 307192 \\(large block, 307200 bytes\\)");
}
// glibc's mmap threshold, on arena blocks: the free of a block larger than any freed before
// (above 128 KiB) makes it inaccessible, as glibc's munmap would, so a use after free faults and
// its data is gone; the threshold rises to its size, so blocks of that size are kept for reuse
// from then on.
TEST_F(Hardening, ALargeBlockBiggerThanAnyFreedBeforeFaultsAfterItsFree) {
  EXPECT_FAULTS({
    constexpr std::size_t n = 256 * 1024;
    auto* p = static_cast<char*>(hm_malloc(n));
    std::memset(p, 'S', n);
    hm_free(p);
    void* q = hm_malloc(n);
    std::fprintf(stderr, "handed out %p, reading %p\n", q, static_cast<void*>(p));
    std::fprintf(stderr, "read %d\n", *static_cast<volatile char*>(p + n / 2));
  });
}
TEST_F(Hardening, ADoubleFreeOfAQuarantinedLargeBlockIsReported) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(512 * 1024);
        hm_free(p);
        void* q = hm_malloc(512 * 1024);  // not p: p is in quarantine
        hm_free(p);
        std::fprintf(stderr, "%p\n", q);
      },
      "hugemem: invalid pointer 0x[0-9a-f]+ passed to free: a freed large block in quarantine \\(double free\\)");
}
TEST_F(Hardening, BlocksOfASizeFreedBeforeAreReusedWithoutASystemCall) {
  EXPECT_EXIT(
      {
        constexpr std::size_t n = 384 * 1024;
        hm_free(hm_malloc(n));  // quarantined, and the threshold is now n
        void* p = hm_malloc(n);
        std::memset(p, 1, n);
        hm_free(p);
        void* q = hm_malloc(n);
        std::fprintf(stderr, q == p ? "reused\n" : "not reused\n");
        static_cast<char*>(q)[0] = 1;  // accessible
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "^reused\n$");
}
// glibc maps every block above its threshold and unmaps each at its free, even after the first
// such free raised the threshold: blocks allocated above it all lose their data when freed, and
// none is handed out again with it.
TEST_F(Hardening, EveryBlockAllocatedAboveTheThresholdLosesItsDataAtItsFree) {
  EXPECT_EXIT(
      {
        constexpr std::size_t n = 320 * 1024;
        char* b[8];
        for (char*& p : b) {
          p = static_cast<char*>(hm_malloc(n));
          std::memset(p, 'S', n);
        }
        for (char* p : b) hm_free(p);  // the first raises the threshold to n
        int found = 0;
        for (int i = 0; i < 64; ++i) {
          auto* q = static_cast<char*>(hm_malloc(n));
          for (std::size_t k = 0; k < n; k += 4096) found += q[k] == 'S';
          hm_free(q);
        }
        std::fprintf(stderr, "old data found %d times\n", found);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "^old data found 0 times\n$");
}
// A small block realloc moved away is not the next malloc of its size (glibc grows in place): a
// pointer still naming the old block does not name the new one.
TEST_F(Hardening, ASmallBlockReallocMovedIsNotTheNextMallocOfItsSize) {
  for (std::size_t n : {24, 100, 1000}) {
    void* p = hm_malloc(n);
    void* q = hm_realloc(p, 4 * n);
    ASSERT_NE(q, p) << n;
    void* r = hm_malloc(n);
    EXPECT_NE(r, p) << n;
    hm_free(r);
    hm_free(q);
  }
}
TEST_F(Hardening, LargeDoubleFreeIsReported) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(64 * 1024);
        hm_free(p);
        hm_free(p);
      },
      "hugemem: invalid pointer 0x[0-9a-f]+ passed to free: a freed large block \\(double free\\)");
}

}  // namespace
