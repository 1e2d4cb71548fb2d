// A compiler run under LD_PRELOAD: gcc (and cc1, as, collect2, ld, which inherit the preload)
// builds data/program.c; the program built that way runs under hugemem too. The two builds are
// byte-identical and print the same.
#include "compare.h"

namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Preload, GccBuildsAndRunsAProgramUnderHugemem) {
  REQUIRE_PROGRAM(gcc, "gcc");
  ScratchDir glibc_dir, hugemem_dir;
  Command glibc{{gcc, "-O2", "-Wall", "-o", "program", PRELOAD_DATA "/program.c"}, "", glibc_dir.path()};
  Command hugemem = glibc;
  hugemem.cwd = hugemem_dir.path();
  Runs build = run_both(glibc, hugemem);
  // gcc, cc1, as, collect2 and ld each print hugemem's statistics at exit.
  EXPECT_GE(count(build.hugemem.err, kStatsMarker), 3) << build.hugemem.err;
  std::string a = read_file(glibc_dir / "program"), b = read_file(hugemem_dir / "program");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the two builds differ";

  Runs ran = run_both(Command{{(glibc_dir / "program").string()}}, Command{{(hugemem_dir / "program").string()}});
  EXPECT_NE(ran.hugemem.out.find("longest chain"), std::string::npos) << ran.hugemem.out;
}

}  // namespace
