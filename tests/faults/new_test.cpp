// libhugemem.so's operator new (lib/api/cxx_new.cpp, built into this test over the static
// library) when memory runs out: throws std::bad_alloc, the nothrow forms return nullptr, and an
// installed new_handler is called and can make the retry succeed.
#include <gtest/gtest.h>

#include <new>

#include "hugemem/hugemem.h"
#include "os/os.h"

namespace {

constexpr std::size_t kDirect = std::size_t{256} << 20;
constexpr int kAll = 1 << 30;

struct Injected {
  Injected() { hm::os::fail_next_maps(kAll); }
  ~Injected() { hm::os::fail_next_maps(0); }
};

void* escape(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

TEST(OperatorNew, ThrowsBadAlloc) {
  long live = hm::os::live_mappings();
  {
    Injected fail;
    EXPECT_THROW(escape(::operator new(kDirect)), std::bad_alloc);
    EXPECT_THROW(escape(::operator new[](kDirect)), std::bad_alloc);
    EXPECT_THROW(escape(::operator new(kDirect, std::align_val_t{4096})), std::bad_alloc);
    EXPECT_EQ(::operator new(kDirect, std::nothrow), nullptr);
    EXPECT_EQ(::operator new[](kDirect, std::align_val_t{64}, std::nothrow), nullptr);
  }
  EXPECT_EQ(hm::os::live_mappings(), live);
  void* p = ::operator new(kDirect);  // memory is back
  EXPECT_TRUE(hm_owns(p));
  ::operator delete(p);
}

int g_handler_calls = 0;

TEST(OperatorNew, CallsTheNewHandlerAndRetries) {
  hm::os::fail_next_maps(kAll);
  g_handler_calls = 0;
  std::new_handler old = std::set_new_handler([] {
    ++g_handler_calls;
    hm::os::fail_next_maps(0);  // "frees memory"
  });
  void* p = nullptr;
  EXPECT_NO_THROW(p = ::operator new(kDirect));
  std::set_new_handler(old);
  EXPECT_EQ(g_handler_calls, 1);
  EXPECT_TRUE(hm_owns(p));
  ::operator delete(p);
}

}  // namespace
