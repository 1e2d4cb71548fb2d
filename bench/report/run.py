#!/usr/bin/python3
"""Runs every workload under every allocator, interleaved (rep-major: each repetition runs every
workload under every allocator before the next starts, so drift in the machine's load spreads
over all of them), then the TLB workload under perf stat and with HUGEMEM_PAGES=2m when the
machine allows. Writes <out>/raw.json; report.py turns it into REPORT.md."""
import argparse
import datetime
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import allocators  # noqa: E402
import hugepages  # noqa: E402
import machine  # noqa: E402
import perfstat  # noqa: E402
import proc  # noqa: E402
import workloads  # noqa: E402


class Progress:
    def __init__(self, total):
        self.total, self.done, self.t0 = total, 0, time.monotonic()

    def line(self, what, run):
        self.done += 1
        el = int(time.monotonic() - self.t0)
        status = "ok" if ok(run) else f"FAILED rc={run['rc']}"
        print(f"[{self.done:4d}/{self.total} {el // 60:2d}:{el % 60:02d}] {what:44s} {run['wall_s']:7.2f}s "
              f"{run['maxrss_kib'] / 1024:8.1f} MiB  {status}", flush=True)


def ok(run):
    return run["rc"] == 0 and run["result"] is not None


def workload_cmd(build, name, args):
    return [os.path.join(build, "bench", "workloads", f"wl_{workloads.binary(name)}")] + args


def measure(build):
    return os.path.join(build, "bench", "workloads", "wl_measure")


def record(run, **keys):
    """What raw.json keeps of a run: the measurements, the parsed result, the stderr's tail."""
    out = dict(keys)
    out.update({k: run[k] for k in ("rc", "wall_s", "cpu_s", "user_s", "sys_s", "maxrss_kib", "result")})
    out["stderr"] = run["stderr"][-2000:]
    return out


def main_runs(build, mode, reps, names, allocs, progress):
    runs = []
    for rep in range(reps):
        for name in names:
            args = workloads.args_for(name, mode)
            # Rotate the allocator order each repetition: none always runs right after the same one.
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for a in order:
                r = proc.run(measure(build), workload_cmd(build, name, args), env=allocators.env_for(a))
                runs.append(record(r, workload=name, allocator=a["name"], rep=rep, args=args))
                progress.line(f"{name} {a['name']} rep {rep + 1}/{reps}", r)
    return runs


def perf_runs(build, mode, allocs, progress):
    why = perfstat.why_unavailable()
    if why:
        return {"available": False, "why": why, "runs": []}
    out = []
    args = workloads.args_for("tlb", mode)
    for a in allocs:
        with tempfile.NamedTemporaryFile(suffix=".perf") as f:
            r = proc.run(measure(build), perfstat.wrap(workload_cmd(build, "tlb", args), f.name), env=allocators.env_for(a))
            counts = perfstat.parse(open(f.name).read())
        rec = record(r, workload="tlb", allocator=a["name"], args=args)
        rec["perf"] = counts
        out.append(rec)
        progress.line(f"tlb {a['name']} under perf stat", r)
    return {"available": True, "why": None, "runs": out}


def hugetlb_runs(build, mode, reps, allocs, progress):
    """glibc and hugemem with HUGEMEM_PAGES=2m, interleaved, with 2 MiB pages reserved for it."""
    by_name = {a["name"]: a for a in allocs}
    if "hugemem" not in by_name or "glibc" not in by_name:
        return {"ran": False, "why": "hugemem or glibc cannot run here", "runs": []}
    args = workloads.args_for("tlb", mode)
    mib = int(next(a for a in args if a.startswith("mib=")).split("=")[1])
    # hugemem maps hugetlb arenas whole (1 GiB = 512 pages, reserved at mmap): enough arenas for
    # the heap plus a quarter (size-class rounding, slab headers), plus three (its metadata, the
    # large-block arena for the workload's own arrays, one spare; measured: a 256 MiB heap fell
    # back to THP with 2 arenas' worth, a 3 GiB one with 6).
    want = 512 * (math.ceil(mib * 1.25 / 1024) + 3)
    with hugepages.Reservation(want) as res:
        info = {"want_pages": want, "got_pages": res.got, "why": res.why_not, "runs": []}
        if res.why_not:
            info["ran"] = False
            return info
        info["ran"] = True
        for rep in range(min(reps, 3)):  # a side figure: three pairs keep the full run short
            for name, extra in (("glibc", {}), ("hugemem", {"HUGEMEM_PAGES": "2m"})):
                r = proc.run(measure(build), workload_cmd(build, "tlb", args), env=allocators.env_for(by_name[name], extra))
                info["runs"].append(record(r, workload="tlb", allocator=name, rep=rep, args=args, env=extra))
                progress.line(f"tlb {name}{' HUGEMEM_PAGES=2m' if extra else ''} rep {rep + 1}/{min(reps, 3)}", r)
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--mode", choices=["quick", "full"], default="full")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--workloads", help="comma-separated subset")
    a = ap.parse_args()

    reps = a.reps or workloads.REPS[a.mode]
    names = a.workloads.split(",") if a.workloads else workloads.NAMES
    resolved = allocators.resolve(a.build)
    runnable = [x for x in resolved if not x["missing"]]
    for x in resolved:
        if x["missing"]:
            print(f"bench: skipping {x['name']}: {x['missing']}", flush=True)
    perf_n = len(runnable) if "tlb" in names else 0
    total = reps * len(names) * len(runnable) + perf_n + (2 * min(reps, 3) if "tlb" in names else 0)
    progress = Progress(total)
    started = datetime.datetime.now(datetime.timezone.utc)

    runs = main_runs(a.build, a.mode, reps, names, runnable, progress)
    perf = perf_runs(a.build, a.mode, runnable, progress) if "tlb" in names else None
    if perf and not perf["available"]:
        print(f"bench: no dTLB counts: {perf['why']}", flush=True)
    huge = hugetlb_runs(a.build, a.mode, reps, runnable, progress) if "tlb" in names else None
    if huge and not huge["ran"]:
        print(f"bench: no HUGEMEM_PAGES=2m run: {huge['why']}", flush=True)

    raw = {
        "mode": a.mode,
        "reps": reps,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - progress.t0, 1),
        "machine": machine.describe(),
        "allocators": resolved,
        "workloads": {n: {"kind": workloads.KIND[n], "args": workloads.args_for(n, a.mode)} for n in names},
        "runs": runs,
        "perf": perf,
        "hugetlb_2m": huge,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    failed = [r for r in runs if not ok(r)]
    print(f"bench: {len(runs)} runs in {raw['seconds']:.0f} s, {len(failed)} failed; raw results in "
          f"{os.path.join(a.out, 'raw.json')}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
