// hm_get_stats after allocating N bytes: allocated, committed and resident move by about N;
// reserved (address space) does not count as used. And the printer with an output callback.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "hugemem/hugemem.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kN = 64 * kMiB;
// Rounding to huge pages, the arena's own metadata, the test framework's other allocations.
constexpr std::size_t kSlack = 8 * kMiB;

hm_stats stats() {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

std::ptrdiff_t delta(std::size_t after, std::size_t before) {
  return static_cast<std::ptrdiff_t>(after) - static_cast<std::ptrdiff_t>(before);
}

TEST(Stats, AllocatingNBytesMovesCommittedAndResidentByN) {
  hm_trim(0);
  hm_stats before = stats();
  auto* p = static_cast<unsigned char*>(hm_malloc(kN));
  ASSERT_NE(p, nullptr);
  hm_stats untouched = stats();
  std::memset(p, 0x5a, kN);
  hm_stats after = stats();

  EXPECT_GE(delta(after.allocated, before.allocated), static_cast<std::ptrdiff_t>(kN));
  EXPECT_LE(delta(after.allocated, before.allocated), static_cast<std::ptrdiff_t>(kN + kSlack));
  EXPECT_GE(delta(after.committed, before.committed), static_cast<std::ptrdiff_t>(kN));
  EXPECT_LE(delta(after.committed, before.committed), static_cast<std::ptrdiff_t>(kN + kSlack));
  // Resident is the kernel's word: nothing of the block before it is touched, all of it after.
  EXPECT_LT(delta(untouched.resident, before.resident), static_cast<std::ptrdiff_t>(kSlack))
      << "resident counted memory that was never touched";
  EXPECT_GE(delta(after.resident, before.resident), static_cast<std::ptrdiff_t>(kN - kSlack));
  EXPECT_LE(delta(after.resident, before.resident), static_cast<std::ptrdiff_t>(kN + kSlack));

  // The orders the header promises.
  EXPECT_LE(after.allocated, after.active);
  EXPECT_LE(after.active, after.committed);
  EXPECT_LE(after.committed, after.reserved);
  EXPECT_LE(after.resident, after.reserved);
  EXPECT_EQ(after.mapped, after.reserved);
  // Reserved is address space: at least the 1 GiB arena, far beyond what is in use.
  EXPECT_GE(after.reserved, std::size_t{1} << 30);
  EXPECT_LT(after.committed, after.reserved / 4) << "committed must not count reserved address space";

  hm_free(p);
  hm_trim(0);
  hm_stats freed = stats();
  EXPECT_LE(freed.allocated, before.allocated + kSlack);
  EXPECT_LE(freed.committed, before.committed + kSlack) << "trimmed memory is no longer committed";
  EXPECT_LE(freed.resident, before.resident + kSlack) << "trimmed memory is no longer resident";
}

// A block above the arenas' largest gets a mapping of its own, which ends inside its last
// 1 GiB registry slot: resident counts what is mapped and touched, up to where it ends.
TEST(Stats, DirectMappingsCountInAllThreeMeasures) {
  constexpr std::size_t kBig = 200 * kMiB;
  hm_trim(0);
  hm_stats before = stats();
  auto* p = static_cast<unsigned char*>(hm_malloc(kBig));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x33, kBig);
  hm_stats after = stats();
  EXPECT_GE(delta(after.reserved, before.reserved), static_cast<std::ptrdiff_t>(kBig));
  EXPECT_GE(delta(after.committed, before.committed), static_cast<std::ptrdiff_t>(kBig));
  EXPECT_LE(delta(after.committed, before.committed), static_cast<std::ptrdiff_t>(kBig + kSlack));
  EXPECT_GE(delta(after.resident, before.resident), static_cast<std::ptrdiff_t>(kBig - kSlack));
  EXPECT_LE(delta(after.resident, before.resident), static_cast<std::ptrdiff_t>(kBig + kSlack));
  hm_free(p);
  hm_stats freed = stats();
  EXPECT_LE(freed.reserved + kBig, after.reserved) << "the mapping is gone";
  EXPECT_LE(freed.resident, before.resident + kSlack);
}

TEST(Stats, PrinterHandsEachLineToTheCallback) {
  void* keep = hm_malloc(1000);
  std::vector<std::string> lines;
  hm_stats_print([](const char* line, void* arg) { static_cast<std::vector<std::string>*>(arg)->push_back(line); },
                 &lines);
  hm_free(keep);
  ASSERT_EQ(lines.size(), 4u);
  for (const std::string& l : lines) {
    EXPECT_EQ(l.rfind("hugemem: ", 0), 0u) << l;
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l.back(), '\n') << l;
    EXPECT_EQ(l.find('\n'), l.size() - 1) << "one line per call: " << l;
  }
  EXPECT_EQ(lines[0].rfind("hugemem: allocated ", 0), 0u);
  EXPECT_NE(lines[1].find("reserved "), std::string::npos);
  EXPECT_NE(lines[1].find("committed "), std::string::npos);
  EXPECT_NE(lines[1].find("resident "), std::string::npos);
}

TEST(Stats, PrinterWithoutCallbackWritesToStderr) {
  char path[] = "/tmp/hm_stats_errXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  hm_stats_print(nullptr, nullptr);
  hm_print_stats();
  dup2(saved, 2);
  close(saved);
  std::string text(8192, '\0');
  ssize_t n = pread(fd, text.data(), text.size(), 0);
  close(fd);
  unlink(path);
  ASSERT_GT(n, 0);
  text.resize(static_cast<std::size_t>(n));
  std::size_t first = text.find("hugemem: reserved ");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find("hugemem: reserved ", first + 1), std::string::npos) << "both print the same report";
}

}  // namespace
