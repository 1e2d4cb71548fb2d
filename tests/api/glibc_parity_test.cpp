// Every malloc-family name glibc 2.36 exports for programs to call is overridden too, so that
// no call reaches glibc's allocator and reports on (or frees into) the wrong heap.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// glibc's public malloc family (nm -D libc.so.6), beyond what override_test.cpp already lists.
const char* const kGlibcOnly[] = {"malloc_info", "__libc_mallinfo", "__libc_mallopt"};

TEST(Override, GlibcsRemainingMallocSymbolsResolveIntoLibhugemem) {
  for (const char* name : kGlibcOnly) {
    void* sym = dlsym(RTLD_DEFAULT, name);
    ASSERT_NE(sym, nullptr) << name;
    Dl_info info;
    ASSERT_TRUE(dladdr(sym, &info) && info.dli_fname) << name;
    EXPECT_NE(std::string(info.dli_fname).find("libhugemem.so"), std::string::npos)
        << name << " resolves into " << info.dli_fname;
  }
}

}  // namespace

namespace {

TEST(Override, MallocInfoWritesGlibcsXmlWithHugememsFigures) {
  void* keep = malloc(std::size_t{4} << 20);
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(malloc_info(0, f), 0);
  std::fclose(f);
  std::string xml(buf, len);
  free(buf);
  free(keep);
  EXPECT_EQ(xml.rfind("<malloc version=\"1\">", 0), 0u) << xml;
  EXPECT_NE(xml.find("</malloc>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<system type=\"current\" size=\"0\"/>"), std::string::npos) << "hugemem's mapped bytes: " << xml;
  errno = 0;
  EXPECT_EQ(malloc_info(1, stdout), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace
