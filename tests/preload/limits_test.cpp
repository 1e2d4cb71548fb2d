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

// Under such a limit the arenas leave room for what else a program maps (thread stacks), a block
// no arena can hold gets a mapping of its own, and a malloc that succeeds leaves errno alone
// even though a mapping failed on its way.
TEST(Preload, ThreadsAndLargeBlocksFitUnderAnAddressSpaceLimitAndErrnoStaysClean) {
  REQUIRE_PROGRAM(sh, "sh");
  REQUIRE_PROGRAM(python, "python3");
  run_both(Command{{sh, "-c",
                    "ulimit -v 300000 && exec " + python +
                        " -c 'import threading\n"
                        "ts = [threading.Thread(target=lambda: None) for _ in range(8)]\n"
                        "[t.start() for t in ts]; [t.join() for t in ts]; print(\"threads ok\")'"}});
  run_both(Command{{sh, "-c",
                    "ulimit -v 300000 && exec " + python +
                        " -c 'import ctypes\n"
                        "libc = ctypes.CDLL(None, use_errno=True)\n"
                        "libc.malloc.restype = ctypes.c_void_p\n"
                        "ctypes.set_errno(0)\n"
                        "p = libc.malloc(64 << 20)\n"
                        "print(p is not None, ctypes.get_errno())'"}});
}

// Reserved address space counts against the limit whether used or not: under a limit an arena
// takes at most a quarter of what is left, so a block of a third of the limit still gets its
// own mapping in a fresh process (two whole arenas left a 500 MB block no room).
TEST(Preload, ABlockOfAThirdOfAnAddressSpaceLimitStillFits) {
  REQUIRE_PROGRAM(sh, "sh");
  REQUIRE_PROGRAM(python, "python3");
  run_both(Command{{sh, "-c",
                    "ulimit -v 1500000 && exec " + python +
                        " -c 'b = bytearray(500 << 20); b[-1] = 1; print(len(b), sum(b[-4096:]))'"}});
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
