"""Shared by the harness tests: bench/report on the import path, and synthetic runs."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "report"))


def run(workload, allocator, wall, rss, rep=0, rc=0, **result):
    """A raw.json run record with the given wall time and peak RSS."""
    res = {"workload": workload, "ops": result.pop("ops", 1000), "seconds": result.pop("seconds", wall),
           "checksum": "0"}
    res.update(result)
    return {"workload": workload, "allocator": allocator, "rep": rep, "args": [], "rc": rc, "wall_s": wall,
            "cpu_s": wall, "user_s": wall, "sys_s": 0.0, "maxrss_kib": rss, "stderr": "",
            "result": res if rc == 0 else None}
