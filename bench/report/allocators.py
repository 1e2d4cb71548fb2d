"""The allocators compared: glibc (no preload), hugemem (this build) and Debian's peers."""
import os

LIBDIR = "/usr/lib/x86_64-linux-gnu"
# name -> preload path (None: the system malloc); hugemem's path is relative to the build dir.
PEERS = [
    ("glibc", None),
    ("hugemem", "lib/api/libhugemem.so"),
    ("mimalloc", f"{LIBDIR}/libmimalloc.so.2"),
    ("jemalloc", f"{LIBDIR}/libjemalloc.so.2"),
    ("tcmalloc", f"{LIBDIR}/libtcmalloc_minimal.so.4"),
]
NAMES = [n for n, _ in PEERS]
BASELINES = ("glibc", "mimalloc")


def resolve(build_dir):
    """[{name, preload, missing}]: preload is the absolute .so path (None for glibc); missing is
    why the allocator cannot run here (its .so is absent), else None."""
    out = []
    for name, path in PEERS:
        if path is not None and not os.path.isabs(path):
            path = os.path.abspath(os.path.join(build_dir, path))
        missing = None
        if path is not None and not os.path.exists(path):
            missing = f"{path} not found"
        out.append({"name": name, "preload": path, "missing": missing})
    return out


def env_for(alloc, extra=None):
    """The environment a workload runs in under `alloc`: LD_PRELOAD set or removed."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if alloc["preload"]:
        env["LD_PRELOAD"] = alloc["preload"]
    env.update(extra or {})
    return env
