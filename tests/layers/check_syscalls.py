#!/usr/bin/env python3
"""Only lib/os makes system calls (lib/README.md, docs/architecture.md): every other file of the
malloc's layers reaches the kernel through os.h. Fails naming each file and call that does not."""
import pathlib
import re
import sys

# Names only the C library has: a call in any spelling. Names a project function may share (a
# member or local write()): only the global ::name( spelling the code uses for the C library's.
ONLY_LIBC = ["mmap", "munmap", "mremap", "madvise", "mprotect", "mincore", "mbind", "ioctl", "fcntl",
             "prctl", "getrlimit", "setrlimit", "sched_yield", "syscall", "sigaction", "getrandom",
             "clock_gettime", "move_pages", "get_mempolicy"]
SHARED = ["open", "openat", "read", "write", "close"]
CALL = re.compile(r"(?<![\w.>])(?:::)?(" + "|".join(ONLY_LIBC) + r")\s*\(|(?<![\w.>])::(" + "|".join(SHARED) + r")\s*\(")
LAYERS = ["lib/api", "lib/page", "lib/slab", "lib/dma"]

root = pathlib.Path(sys.argv[1])
bad = []
for layer in LAYERS:
    for f in sorted((root / layer).glob("*.[ch]*")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("//", 1)[0]
            for m in CALL.finditer(code):
                name = m.group(1) or m.group(2)
                bad.append(f"{f.relative_to(root)}:{n}: {name}() outside lib/os: {line.strip()}")
print("\n".join(bad) if bad else f"no system calls outside lib/os in {', '.join(LAYERS)}")
sys.exit(1 if bad else 0)
