// Hugepages running out mid-run (HUGEMEM_PAGES=2m): with a pool that holds exactly one arena and
// one direct mapping, the first arena and mapping get 2 MiB pages; later ones fall back to
// smaller pages, still work, and the fallback is said once. Root only: the test reserves the
// pool and gives it back.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hugemem/hugemem.h"
#include "os/os.h"

namespace {

using hm::os::k2M;
constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kDirect = 130 * kMiB;               // a direct mapping of 66 pages
constexpr long kArenaPages = 512, kDirectPages = 66;

long resv_2m() {
  long resv = 0;
  if (FILE* f = std::fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "r")) {
    if (std::fscanf(f, "%ld", &resv) != 1) resv = 0;
    std::fclose(f);
  }
  return resv;
}
// Pages neither faulted in nor promised to a mapping.
long unpromised_2m() { return hm::os::hugepage_pool(k2M).free - resv_2m(); }

// The child's part, in a fresh process (this binary re-executed with HUGEMEM_PAGES=2m and
// HM_HUGEPAGE_CHILD set; hugemem reads its options when the process starts): prints one
// "check failed" line per failed check and exits with their number, before main runs.
int child_body() {
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stdout, "check failed: %s\n", what);
      ++failures;
    }
  };
  std::size_t b2m = static_cast<std::size_t>(hm::os::Backing::Huge2M);
  hm_free(hm_malloc(64));  // the first arena takes 512 pages
  hm_stats s;
  hm_get_stats(&s);
  check(s.bytes_by_backing[b2m] == hm::os::k1G, "first arena on 2 MiB pages");
  void* d1 = hm_malloc(kDirect);  // the pool's last 66 pages
  check(d1 != nullptr, "first direct mapping");
  check(unpromised_2m() <= 0, "the pool is used up");
  void* d2 = hm_malloc(kDirect);  // falls back
  check(d2 != nullptr, "second direct mapping on smaller pages");
  void* blocks[24];
  for (void*& b : blocks) b = hm_malloc(128 * kMiB);  // two more arenas, both on smaller pages
  for (void* b : blocks) {
    check(b != nullptr, "arena blocks after the pool ran out");
    if (b) std::memset(b, 1, 4096);
  }
  std::memset(d1, 1, 4 * kMiB);
  std::memset(d2, 1, 4 * kMiB);
  hm_get_stats(&s);
  check(s.bytes_by_backing[b2m] == hm::os::k1G, "still one arena on 2 MiB pages");
  check(s.arenas >= 3, "arenas were added after the pool ran out");
  for (void* b : blocks) hm_free(b);
  hm_free(d1);
  hm_free(d2);
  return failures;
}

int child_if_asked() {
  if (!std::getenv("HM_HUGEPAGE_CHILD")) return 0;
  int failures = child_body();
  std::fflush(stdout);
  std::_Exit(failures);
}
[[maybe_unused]] const int g_child = child_if_asked();

TEST(Hugepages, RunningOutFallsBackAndSaysSoOnce) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to reserve 2 MiB hugepages";
  char self[512] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof self - 1), 0);
  long before = hm::os::hugepage_pool(k2M).total;
  long want = kArenaPages + kDirectPages - unpromised_2m();
  long got = hm::os::reserve_hugepages(k2M, before + want) - before;
  struct Restore {
    long total;
    ~Restore() { hm::os::reserve_hugepages(k2M, total); }
  } restore{before};
  if (got < want || unpromised_2m() != kArenaPages + kDirectPages)
    GTEST_SKIP() << "could not make a pool of exactly " << kArenaPages + kDirectPages << " free 2 MiB pages (got "
                 << got << " of " << want << " more; memory fragmented or pages in use elsewhere)";

  int out[2], err[2];
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(err), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("HUGEMEM_PAGES", "2m", 1);
    ::setenv("HM_HUGEPAGE_CHILD", "1", 1);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execl(self, self, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto slurp = [](int fd) {
    std::string text;
    char buf[4096];
    for (long n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
  };
  std::string checks = slurp(out[0]);
  std::string messages = slurp(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "child died: " << messages;
  EXPECT_EQ(WEXITSTATUS(status), 0) << checks;
  const std::string line = "hugemem: no 2MiB-hugetlb pages left; arenas now use ";
  std::size_t first = messages.find(line);
  EXPECT_NE(first, std::string::npos) << "the fallback is reported; stderr: " << messages;
  if (first != std::string::npos) {
    EXPECT_EQ(messages.find(line, first + 1), std::string::npos) << "reported once: " << messages;
  }
}

}  // namespace
