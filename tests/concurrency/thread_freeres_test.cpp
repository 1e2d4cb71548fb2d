// glibc frees its own per-thread buffers (strerror's, the resolver's, dlerror's) after the
// thread's key destructors ran, so after hugemem released the thread's heap. Those frees must
// not make a heap that nothing would release: thousands of such threads leave nothing behind.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "hugemem/hugemem.h"
#include "memory_probe.h"

namespace {

hm_stats after_threads(int n) {
  for (int i = 0; i < n; ++i) {
    std::thread([] {
      const char* text = std::strerror(12345);  // glibc mallocs a per-thread buffer for it
      ASSERT_NE(std::strstr(text, "12345"), nullptr);
    }).join();
  }
  hm_trim(0);
  return hm_now();
}

TEST(ThreadExitPreload, GlibcsOwnFreesAfterThreadExitLeaveNothing) {
  hm_stats few = after_threads(100);
  std::size_t rss_few = rss_bytes();
  hm_stats many = after_threads(5000);
  std::size_t rss_many = rss_bytes();
  std::printf("after 100 threads: active %zu KiB, resident %zu KiB; after 5000 more: active %zu KiB, resident %zu KiB\n",
              few.active / KiB, rss_few / KiB, many.active / KiB, rss_many / KiB);
  EXPECT_LE(many.active, few.active + MiB) << "each exiting thread left a heap behind";
  EXPECT_EQ(many.allocated, few.allocated) << "glibc's late frees were not counted";
}

}  // namespace
