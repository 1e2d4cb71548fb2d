// The first allocations of a process come before main: from the executable's preinit_array
// (which runs before any shared library's constructor, libhugemem's and libstdc++'s included),
// from constructors, and from the dynamic initialisation of thread_local objects. With
// libhugemem.so linked, each of them is served by hugemem and can be freed later as usual.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hugemem/hugemem.h"

namespace {

struct Early {
  void* malloced;
  void* calloced;
  void* realloced;
  void* aligned;
  int* newed;
};
Early g_preinit, g_ctor;

void allocate_early(Early& e) {
  e.malloced = std::malloc(100);
  e.calloced = std::calloc(10, 100);
  e.realloced = std::realloc(std::malloc(10), 100000);
  if (posix_memalign(&e.aligned, 4096, 5000) != 0) e.aligned = nullptr;
  e.newed = new int[1000];
}

void preinit() { allocate_early(g_preinit); }
__attribute__((section(".preinit_array"), used)) void (*const g_preinit_entry)() = preinit;

__attribute__((constructor(101))) void early_constructor() { allocate_early(g_ctor); }

// A thread_local whose initialisation allocates, in the main thread and in new threads.
thread_local std::vector<std::string> t_words(64, std::string(100, 'w'));

void check_and_free(const Early& e, const char* when) {
  for (void* p : {e.malloced, e.calloced, e.realloced, e.aligned, static_cast<void*>(e.newed)}) {
    ASSERT_NE(p, nullptr) << when;
    EXPECT_TRUE(hm_owns(p)) << when;
  }
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(e.aligned) % 4096, 0u) << when;
  EXPECT_GE(malloc_usable_size(e.realloced), 100000u) << when;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(static_cast<unsigned char*>(e.calloced)[i], 0) << when;
  std::free(e.malloced);
  std::free(e.calloced);
  std::free(e.realloced);
  std::free(e.aligned);
  delete[] e.newed;
}

TEST(EarlyAllocation, BlocksFromPreinitArrayAreHugememsAndFreeable) { check_and_free(g_preinit, "preinit_array"); }

TEST(EarlyAllocation, BlocksFromConstructorsAreHugememsAndFreeable) { check_and_free(g_ctor, "constructor"); }

TEST(EarlyAllocation, ThreadLocalInitialisersAllocateFromHugemem) {
  EXPECT_TRUE(hm_owns(t_words.data()));
  EXPECT_TRUE(hm_owns(t_words[5].data()));
  bool in_thread = false;
  std::thread([&] { in_thread = hm_owns(t_words.data()) && hm_owns(t_words[63].data()); }).join();
  EXPECT_TRUE(in_thread);
}

}  // namespace
