// Multi-threaded tools under LD_PRELOAD: xz -T2 (compress and decompress a few MiB, blocks small
// enough that both threads work) and sort --parallel=2.
#include <algorithm>
#include <cstdint>

#include "compare.h"

namespace {

// Text that compresses and sorts non-trivially: numbered lines of pseudo-random words.
std::string make_text(std::size_t lines) {
  static const char* const kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                                       "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};
  std::string s;
  std::uint64_t x = 88172645463325252ull;
  for (std::size_t i = 0; i < lines; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s += kWords[x % 16];
    s += ' ';
    s += std::to_string(x % 1000003);
    s += ' ';
    s += kWords[(x >> 8) % 16];
    s += kWords[(x >> 16) % 16];
    s += '\n';
  }
  return s;
}

TEST(Preload, XzRoundTripWithTwoThreadsUnderHugemem) {
  REQUIRE_PROGRAM(xz, "xz");
  ScratchDir dir;
  std::string text = make_text(120000);  // ~3 MiB
  write_file(dir / "input", text);
  Command compress{{xz, "-T2", "--block-size=512KiB", "-1", "-c"}, (dir / "input").string()};
  Runs c = run_both(compress);
  ASSERT_GT(c.hugemem.out.size(), 1000u);
  EXPECT_LT(c.hugemem.out.size(), text.size() / 2);

  write_file(dir / "input.xz", c.hugemem.out);
  Command decompress{{xz, "-d", "-T2", "-c"}, (dir / "input.xz").string()};
  Runs d = run_both(decompress);
  EXPECT_TRUE(d.hugemem.out == text) << "round trip lost data";
}

// GNU sort gives each thread at least 128 Ki lines: 300000 lines keep two threads busy.
TEST(Preload, ParallelSortUnderHugemem) {
  REQUIRE_PROGRAM(sort, "sort");
  ScratchDir dir;
  write_file(dir / "input", make_text(300000));
  for (std::vector<std::string> keys : {std::vector<std::string>{}, {"-k2,2n", "-k1,1"}, {"-r", "-k3"}}) {
    Command cmd{{sort, "--parallel=2", "-S", "64M", "-T", dir.path().string()}, (dir / "input").string()};
    cmd.argv.insert(cmd.argv.end(), keys.begin(), keys.end());
    cmd.env = {"LC_ALL=C"};
    Runs r = run_both(cmd);
    EXPECT_EQ(std::count(r.hugemem.out.begin(), r.hugemem.out.end(), '\n'), 300000);
  }
}

}  // namespace

namespace {

// The statistics asked for with HUGEMEM_SHOW_STATS go to the stderr the program started with,
// even when it closed fd 2 before exiting (they are written through a copy taken at init).
TEST(Preload, StatsReachTheOriginalStderrAfterTheProgramClosesIt) {
  REQUIRE_PROGRAM(python, "python3");
  Command closes{{python, "-c", "import os; os.close(2)"}};
  Result r = run(closes, true);
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.err.find(kStatsMarker), std::string::npos) << "stderr: " << r.err;
}

}  // namespace
