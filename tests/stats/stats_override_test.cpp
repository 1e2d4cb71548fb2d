// glibc's statistics interfaces in a program linked with libhugemem.so, after allocating N
// bytes: mallinfo2 with glibc's field meanings, malloc_info's XML, malloc_stats' text.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hugemem/hugemem.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kN = 64 * kMiB;
constexpr std::size_t kSlack = 8 * kMiB;

std::ptrdiff_t delta(std::size_t after, std::size_t before) {
  return static_cast<std::ptrdiff_t>(after) - static_cast<std::ptrdiff_t>(before);
}

TEST(StatsOverride, Mallinfo2CountsWhatIsUsedNotWhatIsReserved) {
  struct mallinfo2 before = mallinfo2();
  // A program that has allocated little must not look as if it used its reservations.
  EXPECT_LT(before.arena + before.hblkhd, std::size_t{256} << 20);
  void* (*volatile m)(std::size_t) = std::malloc;
  auto* p = static_cast<unsigned char*>(m(kN));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kN);
  struct mallinfo2 during = mallinfo2();
  EXPECT_GE(delta(during.uordblks, before.uordblks), static_cast<std::ptrdiff_t>(kN));
  EXPECT_LE(delta(during.uordblks, before.uordblks), static_cast<std::ptrdiff_t>(kN + kSlack));
  std::size_t grew = (during.arena + during.hblkhd) - (before.arena + before.hblkhd);
  EXPECT_GE(grew, kN);
  EXPECT_LE(grew, kN + kSlack);
  // arena + hblkhd = uordblks + fordblks: what is committed, in use or free.
  EXPECT_EQ(during.arena + during.hblkhd, during.uordblks + during.fordblks);
  EXPECT_LE(during.keepcost, during.fordblks);
  std::free(p);
  malloc_trim(0);
  struct mallinfo2 after = mallinfo2();
  EXPECT_LE(after.arena + after.hblkhd, before.arena + before.hblkhd + kSlack);
}

std::size_t attr(const std::string& xml, const std::string& name) {
  std::size_t at = xml.find("<hugemem ");
  at = xml.find(name + "=\"", at);
  if (at == std::string::npos) return 0;
  return std::strtoull(xml.c_str() + at + name.size() + 2, nullptr, 10);
}

std::string info() {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  EXPECT_EQ(malloc_info(0, f), 0);
  std::fclose(f);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

TEST(StatsOverride, MallocInfoHasTheThreeMeasuresApart) {
  std::string before = info();
  void* (*volatile m)(std::size_t) = std::malloc;
  auto* p = static_cast<unsigned char*>(m(kN));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kN);
  std::string during = info();
  std::free(p);
  EXPECT_EQ(during.rfind("<malloc version=\"1\">", 0), 0u);
  EXPECT_NE(during.find("<hugemem "), std::string::npos) << during;
  EXPECT_EQ(during.find("</malloc>"), during.size() - std::strlen("</malloc>\n")) << "one document";
  EXPECT_GE(attr(during, "committed") - attr(before, "committed"), kN);
  EXPECT_GE(attr(during, "resident") - attr(before, "resident"), kN - kSlack);
  EXPECT_GT(attr(during, "reserved"), attr(during, "committed"));
  std::string aspace = "<aspace type=\"total\" size=\"" + std::to_string(attr(during, "reserved")) + "\"/>";
  EXPECT_NE(during.find(aspace), std::string::npos) << "aspace is the reserved address space";
}

TEST(StatsOverride, MallocStatsPrintsReservedCommittedResident) {
  char path[] = "/tmp/hm_mstats_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  int saved = dup(2);
  dup2(fd, 2);
  malloc_stats();
  dup2(saved, 2);
  close(saved);
  std::string text(8192, '\0');
  ssize_t n = pread(fd, text.data(), text.size(), 0);
  close(fd);
  unlink(path);
  ASSERT_GT(n, 0);
  EXPECT_NE(text.find("hugemem: reserved "), std::string::npos) << text;
  EXPECT_NE(text.find(" B (address space), committed "), std::string::npos) << text;
}

}  // namespace
