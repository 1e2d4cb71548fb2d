// Every C++ operator new / delete form in libhugemem.so: memory is hugemem's and aligned as
// asked, new throws std::bad_alloc (after the new_handler) on an impossible size, the nothrow
// forms return nullptr, and sized / aligned deletes accept what new handed out.
#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <vector>

#include "family.h"
#include "hugemem/hugemem.h"

namespace {

constexpr std::size_t kImpossible = std::size_t{1} << 47;
const std::size_t kSizes[] = {1, 16, 100, 4000, kSmallMax + 1, 300 * KiB, kDirect + 1};
const std::size_t kAlignments[] = {32, 64, 4096, 64 * KiB, 2 * MiB};

TEST(CxxNew, PlainAndArrayFormsWithEveryDelete) {
  for (std::size_t n : kSizes) {
    void* a = ::operator new(n);
    void* b = ::operator new[](n);
    void* c = ::operator new(n);
    void* d = ::operator new[](n);
    void* e = ::operator new(n, std::nothrow);
    void* f = ::operator new[](n, std::nothrow);
    for (void* p : {a, b, c, d, e, f}) {
      ASSERT_TRUE(hm_owns(p)) << n;
      EXPECT_TRUE(is_aligned(p, 16)) << n;
    }
    ::operator delete(a);
    ::operator delete[](b);
    ::operator delete(c, n);
    ::operator delete[](d, n);
    ::operator delete(e, std::nothrow);
    ::operator delete[](f, std::nothrow);
  }
}

TEST(CxxNew, AlignedFormsWithEveryDelete) {
  for (std::size_t al : kAlignments) {
    auto a = std::align_val_t{al};
    for (std::size_t n : kSizes) {
      void* p[6] = {::operator new(n, a), ::operator new[](n, a), ::operator new(n, a, std::nothrow),
                    ::operator new[](n, a, std::nothrow), ::operator new(n, a), ::operator new[](n, a)};
      for (void* q : p) {
        ASSERT_TRUE(hm_owns(q)) << n << " @ " << al;
        EXPECT_TRUE(is_aligned(q, al)) << n << " @ " << al << ": " << q;
      }
      ::operator delete(p[0], a);
      ::operator delete[](p[1], a);
      ::operator delete(p[2], a, std::nothrow);
      ::operator delete[](p[3], a, std::nothrow);
      ::operator delete(p[4], n, a);
      ::operator delete[](p[5], n, a);
    }
  }
}

struct alignas(256) OverAligned {
  char bytes[300];
};

// What the compiler emits for new-expressions: aligned new for over-aligned types, sized
// delete (-fsized-deallocation is the C++14+ default).
TEST(CxxNew, NewExpressionsUseHugemem) {
  auto* one = new OverAligned;
  auto* many = new OverAligned[7];
  auto* ints = new int[1000];
  auto owned = std::make_unique<std::vector<double>>(50000);
  for (void* p : {static_cast<void*>(one), static_cast<void*>(many), static_cast<void*>(ints)}) EXPECT_TRUE(hm_owns(p));
  EXPECT_TRUE(hm_owns(owned->data()));
  EXPECT_TRUE(is_aligned(one, 256));
  EXPECT_TRUE(is_aligned(many, 256));
  delete one;
  delete[] many;
  delete[] ints;
}

// Where a throwing new's result goes, so that the call is neither unused nor optimised away.
void* volatile g_sink;

TEST(CxxNew, ImpossibleSizeThrowsBadAlloc) {
  EXPECT_THROW(g_sink = ::operator new(kImpossible), std::bad_alloc);
  EXPECT_THROW(g_sink = ::operator new[](kImpossible), std::bad_alloc);
  EXPECT_THROW(g_sink = ::operator new(kImpossible, std::align_val_t{64}), std::bad_alloc);
  EXPECT_THROW(g_sink = ::operator new[](kImpossible, std::align_val_t{4096}), std::bad_alloc);
  EXPECT_THROW(g_sink = ::operator new(SIZE_MAX), std::bad_alloc);
}

TEST(CxxNew, NothrowFormsReturnNull) {
  EXPECT_EQ(::operator new(kImpossible, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](kImpossible, std::nothrow), nullptr);
  EXPECT_EQ(::operator new(kImpossible, std::align_val_t{64}, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](kImpossible, std::align_val_t{64}, std::nothrow), nullptr);
}

int g_handler_calls = 0;

// The standard's loop: new calls the installed handler and retries; a handler that gives up
// (uninstalls itself) makes new throw.
TEST(CxxNew, NewHandlerIsCalledBeforeThrowing) {
  g_handler_calls = 0;
  std::set_new_handler([] {
    if (++g_handler_calls == 3) std::set_new_handler(nullptr);
  });
  EXPECT_THROW(g_sink = ::operator new(kImpossible), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3);
  g_handler_calls = 0;
  std::set_new_handler([] {
    if (++g_handler_calls == 2) std::set_new_handler(nullptr);
  });
  EXPECT_EQ(::operator new(kImpossible, std::nothrow), nullptr);
  EXPECT_EQ(g_handler_calls, 2);
  std::set_new_handler(nullptr);
}

}  // namespace
