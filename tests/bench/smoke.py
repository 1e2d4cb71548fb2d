"""One workload at tiny size under one allocator, through the harness's own runner:
`smoke.py <workload> <allocator>`. Exit 77 (ctest: Skipped) when the allocator's .so is absent.
Deterministic workloads must print the same checksum as under glibc: the allocator changed
nothing the program computes."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "report"))
import allocators  # noqa: E402
import proc  # noqa: E402
import workloads  # noqa: E402

# Whose checksum depends on timing (the fixed-time ones) or on addresses (tlb).
NONDETERMINISTIC = {"larson", "tlb", "xmalloc", "fixed_time_2t"}
# Whose result line must carry the resident memory after the work (the report's final-RSS table).
FINAL_RSS = {"many_threads", "exit_free"}


def run(build, name, alloc):
    cmd = [os.path.join(build, "bench", "workloads", f"wl_{workloads.binary(name)}")] + workloads.SMOKE[name]
    r = proc.run(os.path.join(build, "bench", "workloads", "wl_measure"), cmd, env=allocators.env_for(alloc),
                 timeout=25)
    if r["rc"] != 0 or not r["result"]:
        sys.exit(f"FAIL: {name} under {alloc['name']}: rc {r['rc']}\n{r['stdout']}\n{r['stderr']}")
    return r


def main():
    name, which = sys.argv[1], sys.argv[2]
    build = os.environ["HM_BUILD_DIR"]
    allocs = {a["name"]: a for a in allocators.resolve(build)}
    alloc = allocs[which]
    if alloc["missing"]:
        print(f"Skipped: {which} cannot run here: {alloc['missing']}")
        return 77
    r = run(build, name, alloc)
    res = r["result"]
    problems = []
    if res.get("workload") != workloads.binary(name):
        problems.append(f"result names {res.get('workload')!r}")
    if not res.get("ops", 0) > 0:
        problems.append("no operations counted")
    if not r["maxrss_kib"] > 0 or not r["wall_s"] > 0:
        problems.append(f"no rusage: {r}")
    if name == "tlb" and not 0 <= res.get("huge_pct", -1) <= 100:
        problems.append(f"huge_pct {res.get('huge_pct')}")
    if name in FINAL_RSS and not res.get("final_rss_kib", 0) > 0:
        problems.append(f"final_rss_kib {res.get('final_rss_kib')}")
    if name not in NONDETERMINISTIC and which != "glibc":
        ref = run(build, name, allocs["glibc"])["result"]["checksum"]
        if res["checksum"] != ref:
            problems.append(f"checksum {res['checksum']} differs from glibc's {ref}")
    if problems:
        sys.exit(f"FAIL: {name} under {which}: " + "; ".join(problems))
    print(f"ok: {name} under {which}: {res}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
