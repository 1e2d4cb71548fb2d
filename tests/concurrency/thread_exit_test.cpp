// Thread exit returns the thread's heap even when the thread allocates while it exits: in a
// thread_local destructor or a pthread key destructor that runs after hugemem's own. Thousands
// of such threads must not keep mapping memory, and every block is accounted for.
#include <gtest/gtest.h>
#include <pthread.h>

#include <thread>
#include <vector>

#include "hugemem/hugemem.h"
#include "memory_probe.h"

namespace {

pthread_key_t g_late_key;
thread_local void* hm_block_from_thread = nullptr;

// Runs at thread exit, after hugemem's key destructor (its key was created first, at load).
void late_destructor(void* value) {
  hm_free(value);
  void* p = hm_malloc(200);
  hm_free(hm_malloc(5000));
  hm_free(p);
}

struct AllocatesOnExit {
  void* block = hm_malloc(64);
  ~AllocatesOnExit() {
    hm_free(block);
    hm_free(hm_malloc(300));
  }
};
thread_local AllocatesOnExit t_on_exit;

void exiting_thread() {
  static_cast<void>(t_on_exit.block);
  pthread_setspecific(g_late_key, hm_malloc(100));
  for (int i = 0; i < 20; ++i) hm_free(hm_malloc(static_cast<std::size_t>(16 + i * 100)));
}

TEST(ThreadExit, AllocationsDuringExitDoNotLeakTheHeap) {
  ASSERT_EQ(pthread_key_create(&g_late_key, late_destructor), 0);
  auto run = [](int threads) {
    for (int base = 0; base < threads; base += 4) {
      std::vector<std::thread> wave;
      for (int i = 0; i < 4; ++i) wave.emplace_back(exiting_thread);
      for (auto& t : wave) t.join();
    }
    hm_trim(0);
    return hm_now();
  };
  hm_stats few = run(100);
  hm_stats many = run(2000);
  std::printf("after 100 threads: allocated %zu, active %zu; after 2000 more: allocated %zu, active %zu\n",
              few.allocated, few.active, many.allocated, many.active);
  EXPECT_EQ(many.allocated, few.allocated) << "blocks freed at exit are counted as freed";
  EXPECT_LE(many.active, few.active + 4 * MiB) << "each exiting thread left memory behind";
  pthread_key_delete(g_late_key);
}

// The last round of key destructors: a free there comes after hugemem released the thread's
// heap and after the last chance to be called again (glibc frees its own per-thread buffers at
// that point too). It must not make a heap that nothing would ever release.
pthread_key_t g_rounds_key;
void rounds_destructor(void* value) {
  auto round = reinterpret_cast<std::uintptr_t>(value);
  if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(g_rounds_key, reinterpret_cast<void*>(round + 1));
    return;
  }
  hm_free(hm_block_from_thread);
}

TEST(ThreadExit, FreesAfterTheLastDestructorRoundMakeNoHeap) {
  ASSERT_EQ(pthread_key_create(&g_rounds_key, rounds_destructor), 0);
  auto run = [](int threads) {
    for (int i = 0; i < threads; ++i) {
      std::thread([] {
        hm_block_from_thread = hm_malloc(48);
        pthread_setspecific(g_rounds_key, reinterpret_cast<void*>(std::uintptr_t{1}));
      }).join();
    }
    hm_trim(0);
    return hm_now();
  };
  hm_stats few = run(50);
  hm_stats many = run(2000);
  std::printf("after 50 threads: active %zu; after 2000 more: active %zu\n", few.active, many.active);
  EXPECT_EQ(many.allocated, few.allocated) << "the late frees were not counted";
  EXPECT_LE(many.active, few.active + MiB) << "each thread's last free made a heap of its own";
  pthread_key_delete(g_rounds_key);
}

// A key destructor that allocates and sets its key again runs in every round, the last one
// included: its allocation then comes after the thread's heap was released for good. It must
// not take a heap of its own that nothing would release (the block itself is the program's
// leak, as under any malloc).
pthread_key_t g_every_round_key;
void every_round_destructor(void* value) {
  hm_free(value);
  pthread_setspecific(g_every_round_key, hm_malloc(200));
}

TEST(ThreadExit, AllocationsInTheLastDestructorRoundMakeNoHeap) {
  ASSERT_EQ(pthread_key_create(&g_every_round_key, every_round_destructor), 0);
  auto run = [](int threads) {
    for (int i = 0; i < threads; ++i) {
      std::thread([] { pthread_setspecific(g_every_round_key, hm_malloc(200)); }).join();
    }
    hm_trim(0);
    return hm_now();
  };
  hm_stats few = run(50);
  hm_stats many = run(2000);
  std::printf("after 50 threads: active %zu KiB; after 2000 more: active %zu KiB (each left one 200-byte block)\n",
              few.active / KiB, many.active / KiB);
  EXPECT_LE(many.active, few.active + 2000 * 208 + MiB) << "each thread's last round made a heap of its own";
  pthread_key_delete(g_every_round_key);
}

// A thread whose first allocation comes in the last round of key destructors makes its heap
// there, and no round follows to release it (attack round 4: 388 KiB per thread, without
// bound). acquire_heap finds heaps of threads that are gone and releases them.
pthread_key_t g_first_late_key;
void first_allocation_in_last_round(void* value) {
  auto round = reinterpret_cast<std::uintptr_t>(value);
  if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(g_first_late_key, reinterpret_cast<void*>(round + 1));
    return;
  }
  for (int i = 0; i < 8; ++i) hm_free(hm_malloc(static_cast<std::size_t>(16 << i)));
  hm_free(hm_malloc(16 * KiB));
}

TEST(ThreadExit, AThreadWhoseFirstAllocationIsInTheLastRoundLeavesNoHeapBehind) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer tears a thread's state down in the last key-destructor round, "
                  "before this test's destructor runs there: its first atomic operation crashes "
                  "inside the sanitizer";
#endif
  ASSERT_EQ(pthread_key_create(&g_first_late_key, first_allocation_in_last_round), 0);
  auto run = [](int threads) {
    for (int i = 0; i < threads; ++i) {
      std::thread([] { pthread_setspecific(g_first_late_key, reinterpret_cast<void*>(std::uintptr_t{1})); }).join();
    }
    hm_trim(0);
    return hm_now();
  };
  hm_stats few = run(200);
  hm_stats many = run(2000);
  std::printf("after 200 threads: active %zu KiB; after 2000 more: active %zu KiB\n", few.active / KiB,
              many.active / KiB);
  EXPECT_EQ(many.allocated, few.allocated);
  EXPECT_LE(many.active, few.active + 4 * MiB) << "each thread's heap, made in the last round, was kept";
  pthread_key_delete(g_first_late_key);
}

}  // namespace
