// Secure mode (HUGEMEM_SECURE=1, api/secure.h): canaries after small objects, the word before
// an object, the quarantine (double free, write after free), freed large blocks made
// inaccessible, randomised allocation order. Secure mode is read at init, so every case runs in
// a re-executed child ("threadsafe" death tests) whose environment has HUGEMEM_SECURE=1.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

#include "hugemem/hugemem.h"
#include "report.h"

namespace {

class Secure : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ::setenv("HUGEMEM_SECURE", "1", 1);
  }
  void TearDown() override { ::unsetenv("HUGEMEM_SECURE"); }
};

void freed(void* p) { std::fprintf(stderr, "freeing %p\n", p); }

// The highest of a few objects of n bytes: never its slab's first, so it has a previous slot.
char* not_first(std::size_t n) {
  char* best = nullptr;
  for (int i = 0; i < 4; ++i) {
    auto* p = static_cast<char*>(hm_malloc(n));
    if (p > best) best = p;
  }
  return best;
}

TEST_F(Secure, OneByteOverflowIntoTheSlackIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(20));
        p[20] = 'x';
        freed(p);
        hm_free(p);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: heap overflow past the end of \\3 \\(20 bytes requested\\): its canary at offset 20 was overwritten.* \\(size class [0-9]+, 32 bytes\\)");
}

TEST_F(Secure, OneByteOverflowIntoTheCanaryIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(24));
        p[24] ^= 0x5a;  // a changed byte (a fixed value equals the keyed canary's byte 1 time in 256)
        hm_free(p);
      },
      "hugemem: heap overflow past the end of 0x[0-9a-f]+: its canary at offset 24 was overwritten");
}

TEST_F(Secure, MemcpyOverflowBy32BytesIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(64));
        char src[96];
        std::memset(src, 'A', sizeof src);
        std::memcpy(p, src, sizeof src);
        hm_free(p);
      },
      "hugemem: heap overflow past the end of 0x[0-9a-f]+");
}

TEST_F(Secure, MediumOverflowIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(10000));
        p[10000] = 1;
        hm_free(p);
      },
      "hugemem: heap overflow past the end of 0x[0-9a-f]+ \\(10000 bytes requested\\)");
}

TEST_F(Secure, LargeOneByteOverflowIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(100000));
        p[100000] = 'x';
        hm_free(p);
      },
      "hugemem: heap overflow past the end of 0x[0-9a-f]+ \\(100000 bytes requested\\): its canary at offset 100000 was overwritten, found when it was freed \\(large block, 102400 bytes\\)");
}

TEST_F(Secure, LargeMemcpyOverflowBy32BytesIsCaught) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(4096 * 40 - 8));  // the canary right after it
        static char src[4096 * 40 + 24];
        std::memcpy(p, src, sizeof src);
        hm_free(p);
      },
      "hugemem: heap overflow past the end of 0x[0-9a-f]+: its canary at offset 163832 was overwritten");
}

TEST_F(Secure, OneByteUnderflowIsCaught) {
  EXPECT_REPORTED(
      {
        char* p = not_first(40);
        p[-1] ^= 0x5a;  // a changed byte, whatever the previous slot's canary or fill held
        freed(p);
        hm_free(p);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: heap underflow before \\3: .* \\(size class [0-9]+, 48 bytes\\)");
}

// The lowest of many objects of a class nothing else uses is its slab's first: there is no
// previous slot, and the 8 bytes before it (after the slab header) hold a keyed word instead.
TEST_F(Secure, OneByteUnderflowOffASlabsFirstObjectIsCaught) {
  EXPECT_REPORTED(
      {
        char* first = nullptr;
        for (int i = 0; i < 32; ++i) {
          auto* p = static_cast<char*>(hm_malloc(1500));
          if (!first || p < first) first = p;
        }
        first[-1] ^= 0x5a;
        freed(first);
        hm_free(first);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: heap underflow before \\3: .* \\(size class [0-9]+, 1536 bytes\\)");
}

TEST_F(Secure, MemsetUnderflowBy32BytesIsCaught) {
  EXPECT_REPORTED(
      {
        char* p = not_first(100);
        std::memset(p - 32, 0, 32);
        hm_free(p);
      },
      "hugemem: heap underflow before 0x[0-9a-f]+");
}

TEST_F(Secure, DoubleFreeInQuarantineIsCaught) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(64);
        hm_free(p);
        freed(p);
        hm_free(p);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: double free of \\3");
}

TEST_F(Secure, WriteAfterFreeIsCaughtWhenTheObjectLeavesQuarantine) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(64));
        hm_free(p);
        freed(p);
        p[10] = 1;
        for (int i = 0; i < 10000; ++i) hm_free(hm_malloc(64));
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: write after free into \\3 at offset 10");
}

// The scrub checks objects already in the quarantine on later frees: a write after free is
// reported within a few frees, not only when the object leaves the quarantine.
TEST_F(Secure, WriteAfterFreeIsCaughtByTheScrubWithinAFewFrees) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(64));
        hm_free(p);
        freed(p);
        p[10] = 1;
        for (int i = 0; i < 8; ++i) hm_free(hm_malloc(64));
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: write after free into \\3 at offset 10");
}

TEST_F(Secure, WriteAfterFreeOfAOneByteBlockIsCaughtByTheScrub) {
  EXPECT_REPORTED(
      {
        auto* p = static_cast<char*>(hm_malloc(1));
        hm_free(p);
        freed(p);
        p[0] = 'x';
        for (int i = 0; i < 8; ++i) hm_free(hm_malloc(8));
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: write after free into \\3 at offset 0");
}

// A fault in secure mode is described (what, where, thread) before the signal kills.
#define EXPECT_FAULT_REPORTED(stmt, what) \
  EXPECT_EXIT(hm_misuse::on_thread([&] { stmt; }), ::testing::KilledBySignal(SIGSEGV), hm_misuse::report(what))

// A block of a page or more has pages of its own in secure mode: a read after free faults.
TEST_F(Secure, PageSizedReadAfterFreeFaults) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(4096));
        p[100] = 1;
        hm_free(const_cast<char*>(p));
        freed(const_cast<char*>(p));
        char c = p[100];
        std::fprintf(stderr, "the read landed %d\n", c);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: invalid access at 0x[0-9a-f]+: use after free of the large block \\3 \\(8192 bytes");
}

// A large block has a guard page before it: an underflow faults even when a live block lies
// right below, and is described.
TEST_F(Secure, LargeUnderflowHitsTheGuardPage) {
  EXPECT_FAULT_REPORTED(
      {
        auto* below = static_cast<char*>(hm_malloc(8192));
        auto* p = static_cast<volatile char*>(hm_malloc(8192));
        std::fprintf(stderr, "block %p above %p\n", const_cast<char*>(p), static_cast<void*>(below));
        p[-1] = 1;
        std::fprintf(stderr, "the write landed\n");
      },
      "block (0x[0-9a-f]+) above .*\n.*hugemem: invalid access at 0x[0-9a-f]+: the guard page before the large block \\3 \\(an underflow\\)");
}

TEST_F(Secure, GuardedLargeDoubleFreeIsCaught) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(8192);
        hm_free(p);
        freed(p);
        hm_free(p);
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: invalid pointer \\3 passed to free: a freed large block in quarantine \\(double free\\)");
}

// malloc(0) is an inaccessible page of its own: reading or writing it faults, live or freed.
TEST_F(Secure, ZeroSizeReadFaultsAndIsDescribed) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(0));
        std::fprintf(stderr, "malloc(0) = %p\n", const_cast<char*>(p));
        char c = p[0];
        std::fprintf(stderr, "the read landed %d\n", c);
      },
      "malloc\\(0\\) = (0x[0-9a-f]+)\n.*hugemem: invalid access at \\3: a read or write of the zero-size block \\3");
}

// Zero-size pages count against the budget of guards while live, and give it back when freed:
// past the budget malloc(0) is a small object, and after the frees a page again.
TEST_F(Secure, ZeroSizePagesAreBudgetedAndTheBudgetComesBack) {
  EXPECT_FAULT_REPORTED(
      {
        static void* live[9000];
        for (auto& p : live) p = hm_malloc(0);
        char first = static_cast<volatile char*>(live[8999])[0];  // past the budget: a small object
        std::fprintf(stderr, "read %d past the budget\n", first);
        for (auto* p : live) hm_free(p);
        auto* p = static_cast<volatile char*>(hm_malloc(0));
        std::fprintf(stderr, "malloc(0) = %p\n", const_cast<char*>(p));
        char c = p[0];
        std::fprintf(stderr, "the read landed %d\n", c);
      },
      "read -?[0-9]+ past the budget\nmalloc\\(0\\) = (0x[0-9a-f]+)\n.*hugemem: invalid access at \\3: a read or write of the zero-size block \\3");
}

TEST_F(Secure, ZeroSizeWriteAfterFreeFaults) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(0));
        hm_free(const_cast<char*>(p));
        freed(const_cast<char*>(p));
        p[0] = 1;
        std::fprintf(stderr, "the write landed\n");
      },
      "freeing (0x[0-9a-f]+)\n.*hugemem: invalid access at \\3: use after free of the large block \\3");
}

// Requests near SIZE_MAX fail with ENOMEM, as glibc's do: their canary must not wrap the size
// into a small class (found by the adversarial run: malloc(SIZE_MAX) handed out 16 bytes and
// wrote before them).
TEST_F(Secure, ImpossiblyLargeRequestsFailWithENOMEM) {
  EXPECT_EXIT(
      {
        bool ok = true;
        for (std::size_t k = 0; k < 16; ++k) {
          errno = 0;
          ok = ok && hm_malloc(SIZE_MAX - k) == nullptr && errno == ENOMEM;
          errno = 0;
          ok = ok && hm_calloc(1, SIZE_MAX - k) == nullptr && errno == ENOMEM;
        }
        void* p = hm_malloc(100);
        errno = 0;
        ok = ok && hm_realloc(p, SIZE_MAX) == nullptr && errno == ENOMEM;
        hm_free(p);  // still p's to free: the realloc failed
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}
TEST_F(Secure, ASizedFreeWithAnImpossibleSizeIsReported) {
  EXPECT_DEATH(
      {
        void* p = hm_malloc(16);
        hm_free_sized(p, SIZE_MAX);
      },
      "hugemem: .*size");
}

// What else a zero-size block answers: usable size 0, owned, realloc moves it, free_sized(p, 0).
TEST_F(Secure, ZeroSizeBlocksBehave) {
  EXPECT_EXIT(
      {
        void* p = hm_malloc(0);
        bool ok = p && hm_usable_size(p) == 0 && hm_owns(p);
        auto* q = static_cast<char*>(hm_realloc(p, 10));
        ok = ok && q && hm_usable_size(q) == 10;
        q[9] = 1;
        hm_free(q);
        void* r = hm_calloc(4, 0);
        ok = ok && r;
        hm_free_sized(r, 0);
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(Secure, LargeUseAfterFreeFaults) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(256 * 1024));
        p[100] = 1;
        hm_free(const_cast<char*>(p));
        freed(const_cast<char*>(p));
        p[5000] = 2;
        std::fprintf(stderr, "the write landed\n");
      },
      // (a page more than asked: secure mode adds 8 bytes for the canary)
      "freeing (0x[0-9a-f]+)\n.*hugemem: invalid access at 0x[0-9a-f]+: use after free of the large block \\3 \\(266240 bytes, freed, in quarantine\\)");
}

TEST_F(Secure, LargeReadAfterFreeFaults) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(64 * 1024));
        p[0] = 1;
        hm_free(const_cast<char*>(p));
        std::fprintf(stderr, "read %d\n", p[0]);
      },
      "hugemem: invalid access at 0x[0-9a-f]+: use after free of the large block 0x[0-9a-f]+ \\(69632 bytes");
}

TEST_F(Secure, OverflowBy1MiBFaultsAndIsDescribed) {
  EXPECT_FAULT_REPORTED(
      {
        auto* p = static_cast<volatile char*>(hm_malloc(32));
        p[32 + (1 << 20)] = 1;
        std::fprintf(stderr, "the write landed\n");
      },
      "hugemem: invalid access at 0x[0-9a-f]+: memory hugemem has not handed out");
}

TEST_F(Secure, UseAfterReallocIsCaught) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(100);
        void* q = hm_realloc(p, 50);  // always moves in secure mode
        std::fprintf(stderr, "%p\n", q);
        hm_realloc(p, 200);
      },
      "hugemem: invalid pointer 0x[0-9a-f]+ passed to realloc: a freed object in quarantine \\(use after free\\)");
}

TEST_F(Secure, LargeDoubleFreeIsCaught) {
  EXPECT_REPORTED(
      {
        void* p = hm_malloc(256 * 1024);
        hm_free(p);
        hm_free(p);
      },
      "hugemem: invalid pointer 0x[0-9a-f]+ passed to free: a freed large block in quarantine \\(double free\\)");
}

// Large blocks come zeroed: after enough frees to pass the quarantine, a freed block's pages
// are handed out again, without its data. Exits 1 if any new block holds the old bytes.
TEST_F(Secure, LargeBlocksNeverHoldAFreedBlocksData) {
  EXPECT_EXIT(
      {
        constexpr std::size_t n = 256 << 10;
        char* old[8];
        for (auto& p : old) std::memset(p = static_cast<char*>(hm_malloc(n)), 'S', n);
        for (auto* p : old) hm_free(p);
        int found = 0;
        for (int i = 0; i < 300; ++i) {
          auto* q = static_cast<char*>(hm_malloc(n));
          for (std::size_t k = 0; k < n; k += 512) found += q[k] == 'S';
          hm_free(q);
        }
        std::_Exit(found ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// realloc clears only what it does not copy: the grown tail holds no freed block's data either.
TEST_F(Secure, ReallocGrownTailNeverHoldsAFreedBlocksData) {
  EXPECT_EXIT(
      {
        constexpr std::size_t n = 256 << 10;
        char* old[8];
        for (auto& p : old) std::memset(p = static_cast<char*>(hm_malloc(n)), 'S', n);
        for (auto* p : old) hm_free(p);
        for (int i = 0; i < 300; ++i) hm_free(hm_malloc(n));
        int found = 0;
        std::size_t size = 40000;
        auto* q = static_cast<char*>(hm_calloc(1, size));
        while (size < (std::size_t{1} << 20)) {
          std::size_t grown = size + size / 2;
          q = static_cast<char*>(hm_realloc(q, grown));
          for (std::size_t k = size; k < grown; k += 256) found += q[k] != 0;
          size = grown;
        }
        hm_free(q);
        std::_Exit(found ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// Found by fuzzing secure mode: a direct mapping gets the request plus the 8 bytes every
// secure large block gets, so 178 MiB - 1 bytes took 180 MiB, and free_sized with the right
// size was reported as a size mismatch.
TEST_F(Secure, SizedFreeOfADirectMappingJustBelowA2MiBStep) {
  EXPECT_EXIT(
      {
        constexpr std::size_t n = (std::size_t{178} << 20) - 1;
        void* p = hm_malloc(n);
        if (!p) std::_Exit(2);
        hm_free_sized(p, n);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// What a correct program sees: the requested size as usable size, realloc and calloc keep
// contents, a freed block is not handed back at once, and allocation order is not sequential.
TEST_F(Secure, CorrectProgramsRun) {
  EXPECT_EXIT(
      {
        int bad = 0;
        auto* p = static_cast<char*>(hm_malloc(20));
        if (hm_usable_size(p) != 20) bad |= 1;
        std::memset(p, 7, 20);
        p = static_cast<char*>(hm_realloc(p, 3000));
        for (int i = 0; i < 20; ++i) bad |= p[i] != 7 ? 2 : 0;
        std::memset(p, 8, 3000);
        p = static_cast<char*>(hm_realloc(p, 10));
        for (int i = 0; i < 10; ++i) bad |= p[i] != 8 ? 4 : 0;
        hm_free_sized(p, 10);
        auto* big = static_cast<char*>(hm_malloc(100000));
        if (hm_usable_size(big) != 100000) bad |= 128;
        std::memset(big, 1, 100000);
        big = static_cast<char*>(hm_realloc(big, 200000));
        if (big[99999] != 1) bad |= 256;
        hm_free_sized(big, 200000);
        auto* zl = static_cast<unsigned char*>(hm_calloc(1, 300000));
        for (int i = 0; i < 300000; i += 999) bad |= zl[i] ? 512 : 0;
        hm_free(zl);
        auto* z = static_cast<unsigned char*>(hm_calloc(10, 10));
        for (int i = 0; i < 100; ++i) bad |= z[i] ? 8 : 0;
        hm_free(z);
        void* a = hm_malloc(64);
        hm_free(a);
        void* b = hm_malloc(64);
        if (a == b) bad |= 16;
        hm_free(b);
        void* al = hm_aligned_alloc(256, 300);
        if (reinterpret_cast<std::uintptr_t>(al) % 256) bad |= 32;
        hm_free(al);
        char* prev = nullptr;
        int ascending = 0;
        for (int i = 0; i < 200; ++i) {
          auto* q = static_cast<char*>(hm_malloc(48));
          if (q > prev) ++ascending;
          prev = q;
        }
        if (ascending == 200) bad |= 64;
        for (int i = 0; i < 100000; ++i) hm_free(hm_malloc(static_cast<std::size_t>(i % 5000) + 1));
        std::exit(bad);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
