// Programs under limits that glibc's malloc runs within: an address-space limit (ulimit -v),
// where each arena must be reserved at its own size, and an arena limit of one, where small and
// large blocks share the only arena.
#include "compare.h"

namespace {

TEST(Preload, LsAndPythonRunUnderAnAddressSpaceLimit) {
  REQUIRE_PROGRAM(sh, "sh");
  REQUIRE_PROGRAM(ls, "ls");
  REQUIRE_PROGRAM(python, "python3");
  run_both(Command{{sh, "-c", "ulimit -v 1500000 && exec " + ls + " -la /usr/lib"}});
  run_both(Command{{sh, "-c",
                    "ulimit -v 2500000 && exec " + python +
                        " -c 'import json; print(sum(range(10**6)), len(json.dumps(list(range(100000)))))'"}});
}

// Below 1 GiB of address space no whole arena fits: arenas become the first part of their slot.
TEST(Preload, LsAndPythonRunUnderAnAddressSpaceLimitSmallerThanAnArena) {
  REQUIRE_PROGRAM(sh, "sh");
  REQUIRE_PROGRAM(ls, "ls");
  REQUIRE_PROGRAM(python, "python3");
  run_both(Command{{sh, "-c", "ulimit -v 200000 && exec " + ls + " -la /usr/lib"}});
  run_both(Command{{sh, "-c",
                    "ulimit -v 300000 && exec " + python +
                        " -c 'import json; print(sum(range(10**6)), len(json.dumps(list(range(100000)))))'"}});
}

TEST(Preload, OneArenaServesSmallAndLargeBlocksUnderAnArenaLimitOfOne) {
  REQUIRE_PROGRAM(python, "python3");
  Command c{{python, "-c",
             "s = [str(i) * 3 for i in range(20000)]\n"
             "b = [bytearray(1 << 20) for _ in range(16)]\n"
             "print(len(s), sum(len(x) for x in b))"}};
  c.env = {"HUGEMEM_ARENA_LIMIT=1"};
  run_both(c);
}

}  // namespace
