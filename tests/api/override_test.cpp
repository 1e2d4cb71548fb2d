// libhugemem.so linked into a program: every malloc-family symbol the program (or the C
// library, or a dlsym caller) can reach resolves into libhugemem.so, memory from each of them
// is hugemem's, and the glibc extras (mallinfo2, malloc_stats, malloc_trim) report on it.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "family.h"
#include "hugemem/hugemem.h"

namespace {

// Every name a glibc program or library may call, C++ operators by their mangled names.
const char* const kSymbols[] = {
    "malloc", "free", "cfree", "calloc", "realloc", "reallocarray", "free_sized", "free_aligned_sized",
    "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim",
    "mallinfo", "mallinfo2", "malloc_stats", "mallopt",
    "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign", "__libc_valloc",
    "__libc_pvalloc", "__posix_memalign",
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv", "_ZdaPv", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvm", "_ZdaPvm",
    "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
    "_ZdaPvSt11align_val_tRKSt9nothrow_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
};

std::string object_of(const void* addr) {
  Dl_info info;
  if (!dladdr(addr, &info) || !info.dli_fname) return "(none)";
  return info.dli_fname;
}

TEST(Override, EveryMallocSymbolResolvesIntoLibhugemem) {
  for (const char* name : kSymbols) {
    void* sym = dlsym(RTLD_DEFAULT, name);
    ASSERT_NE(sym, nullptr) << name << " is not exported";
    EXPECT_NE(object_of(sym).find("libhugemem.so"), std::string::npos) << name << " resolves into " << object_of(sym);
  }
}

// The C names are aliases of the hm_* functions, not wrappers around them.
TEST(Override, CNamesAreTheHmFunctions) {
  const std::pair<const char*, const char*> same[] = {
      {"malloc", "hm_malloc"},       {"free", "hm_free"},       {"calloc", "hm_calloc"},
      {"realloc", "hm_realloc"},     {"__libc_malloc", "hm_malloc"}, {"__libc_free", "hm_free"},
      {"malloc_usable_size", "hm_usable_size"},
  };
  for (auto [c, hm] : same) EXPECT_EQ(dlsym(RTLD_DEFAULT, c), dlsym(RTLD_DEFAULT, hm)) << c;
}

TEST(Override, PlainMallocAndNewAndLibcInternalsUseHugemem) {
  for (std::size_t n : {1ul, 100ul, 5000ul, 100 * KiB, kDirect + 1}) {
    void* p = F.malloc(n);
    EXPECT_TRUE(hm_owns(p)) << n;
    F.free(p);
  }
  char* s = strdup("allocated inside the C library");
  EXPECT_TRUE(hm_owns(s));
  free(s);
  auto v = std::make_unique<std::vector<int>>(1000);
  EXPECT_TRUE(hm_owns(v.get()));
  EXPECT_TRUE(hm_owns(v->data()));
  std::string big(100000, 'x');
  EXPECT_TRUE(hm_owns(big.data()));
  // stdio allocates its buffers with malloc.
  FILE* f = fopen("/proc/self/stat", "r");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(fgetc(f), EOF);
  char* line = nullptr;
  std::size_t cap = 0;
  ASSERT_GT(getline(&line, &cap, f), 0);
  EXPECT_TRUE(hm_owns(line));
  free(line);
  fclose(f);
}

template <class Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

TEST(Override, LibcAliasesAllocateAndFree) {
  auto lm = lookup<void* (*)(std::size_t)>("__libc_malloc");
  auto lc = lookup<void* (*)(std::size_t, std::size_t)>("__libc_calloc");
  auto lr = lookup<void* (*)(void*, std::size_t)>("__libc_realloc");
  auto lma = lookup<void* (*)(std::size_t, std::size_t)>("__libc_memalign");
  auto lv = lookup<void* (*)(std::size_t)>("__libc_valloc");
  auto lpv = lookup<void* (*)(std::size_t)>("__libc_pvalloc");
  auto lpm = lookup<int (*)(void**, std::size_t, std::size_t)>("__posix_memalign");
  auto lf = lookup<void (*)(void*)>("__libc_free");
  ASSERT_TRUE(lm && lc && lr && lma && lv && lpv && lpm && lf);

  auto* p = static_cast<char*>(lm(100));
  std::memset(p, 'a', 100);
  p = static_cast<char*>(lr(p, 100000));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[99], 'a');
  auto* z = static_cast<unsigned char*>(lc(10, 10));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(z[i], 0);
  void* m = lma(256, 10);
  void* v = lv(10);
  void* pv = lpv(10);
  void* pm = nullptr;
  ASSERT_EQ(lpm(&pm, 512, 10), 0);
  EXPECT_TRUE(is_aligned(m, 256));
  EXPECT_TRUE(is_aligned(v, 4096));
  EXPECT_TRUE(is_aligned(pv, 4096));
  EXPECT_TRUE(is_aligned(pm, 512));
  for (void* q : {static_cast<void*>(p), static_cast<void*>(z), m, v, pv, pm}) {
    EXPECT_TRUE(hm_owns(q));
    lf(q);
  }
}

TEST(Override, Mallinfo2CountsLiveAndDirectBytes) {
  struct mallinfo2 before = mallinfo2();
  void* small = F.malloc(1000);
  void* large = F.malloc(MiB);
  void* direct = F.malloc(kDirect + 1);
  struct mallinfo2 during = mallinfo2();
  EXPECT_GE(during.uordblks, before.uordblks + 1000 + MiB + kDirect);
  EXPECT_GT(during.arena, 0u);
  EXPECT_GE(during.hblkhd, kDirect + 1) << "the direct mapping";
  EXPECT_GE(during.hblks, 1u);
  F.free(small);
  F.free(large);
  F.free(direct);
  struct mallinfo2 after = mallinfo2();
  EXPECT_EQ(after.uordblks, before.uordblks);
  EXPECT_EQ(after.hblkhd, before.hblkhd);
  // The deprecated int version saturates instead of wrapping.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
  EXPECT_GE(old.uordblks, 0);
}

// Runs fn with stderr sent to a file; returns what it wrote.
template <class Fn>
std::string stderr_of(Fn fn) {
  char path[] = "/tmp/hm_api_stderr_XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unlink(path);
  return text;
}

TEST(Override, MallocStatsPrintsHugememStatistics) {
  void* p = F.malloc(MiB);
  std::string text = stderr_of([] { malloc_stats(); });
  F.free(p);
  EXPECT_NE(text.find("hugemem: allocated "), std::string::npos) << text;
  EXPECT_NE(text.find("live objects per class"), std::string::npos) << text;
}

long rss_pages() {
  long size = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  if (f) fclose(f);
  return resident;
}

TEST(Override, MallocTrimGivesFreeMemoryBack) {
  // The first free of a block larger than any freed before is given back at once (api/secure.h,
  // glibc's threshold): one of their size first, so that they are kept until the trim.
  F.free(F.malloc(4 * MiB));
  malloc_trim(0);
  // 12 MiB stays below the default release watermark (16 MiB): only a trim gives it back.
  constexpr std::size_t kBlocks = 3, kBlock = 4 * MiB;
  std::vector<void*> ps;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    ps.push_back(F.malloc(kBlock));
    std::memset(ps.back(), 1, kBlock);
  }
  for (void* p : ps) F.free(p);
  hm_stats before;
  hm_get_stats(&before);
  long rss_before = rss_pages();
  EXPECT_EQ(malloc_trim(0), 1);
  hm_stats after;
  hm_get_stats(&after);
  long rss_after = rss_pages();
  constexpr std::size_t kMostOf = kBlocks * kBlock * 3 / 4;
  EXPECT_GE(before.resident_free - after.resident_free, kMostOf);
  EXPECT_GE(after.released - before.released, kMostOf);
  EXPECT_GE((rss_before - rss_after) * 4096, static_cast<long>(kMostOf)) << "RSS " << rss_before << " -> " << rss_after;
  EXPECT_EQ(malloc_trim(0), 0) << "nothing left to give back";
}

TEST(Override, MalloptIsAcceptedAndIgnored) { EXPECT_EQ(mallopt(M_ARENA_MAX, 1), 1); }

}  // namespace
