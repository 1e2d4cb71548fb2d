"""Figures from raw runs: medians per workload and allocator, ratios to a baseline allocator,
geometric means, and the performance targets marked met or missed."""
import math
import statistics

from allocators import NAMES as ALLOCATOR_ORDER

PEERS = [n for n in ALLOCATOR_ORDER if n != "hugemem"]


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    if any(x <= 0 for x in xs):
        raise ValueError("geometric mean of a non-positive value")
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def ok(run):
    return run["rc"] == 0 and run.get("result") is not None


def cost(run, kind):
    """What "time" means for a run: wall seconds for fixed work; seconds per operation for a
    fixed-time workload (kind "rate"), so lower is better in both. A workload that sleeps on purpose
    before reading its final RSS reports the sleep as `idle_seconds`, which is not the
    allocator's time and is taken out."""
    r = run["result"]
    if kind == "rate":
        return r["seconds"] / r["ops"] if r["ops"] else None
    return run["wall_s"] - r.get("idle_seconds", 0)


def summarize(runs, kinds):
    """{workload: {allocator: {n, failed, cost, wall_s, cpu_s, maxrss_kib, throughput, result}}}:
    each figure is the median of that allocator's successful runs of that workload; `result`
    holds the medians of the workload's own numeric outputs."""
    out = {}
    for w, kind in kinds.items():
        out[w] = {}
        for a in ALLOCATOR_ORDER:
            mine = [r for r in runs if r["workload"] == w and r["allocator"] == a]
            if not mine:
                continue
            good = [r for r in mine if ok(r)]
            s = {"n": len(good), "failed": len(mine) - len(good)}
            if good:
                s["cost"] = median([cost(r, kind) for r in good])
                for k in ("wall_s", "cpu_s", "maxrss_kib"):
                    s[k] = median([r[k] for r in good])
                if kind == "rate":
                    s["throughput"] = median([r["result"]["ops"] / r["result"]["seconds"] for r in good])
                keys = [k for k, v in good[0]["result"].items() if isinstance(v, (int, float))]
                s["result"] = {k: median([r["result"][k] for r in good if k in r["result"]]) for k in keys}
            out[w][a] = s
    return out


def result_key(summary, key):
    """The workloads whose result line gives `key` (e.g. final_rss_kib), in summary order."""
    return [w for w in summary if any(key in s.get("result", {}) for s in summary[w].values())]


def result_ratio(summary, workload, alloc, base, key):
    """Like ratio(), for a figure of the workload's own result line (medians of the runs)."""
    row = summary.get(workload, {})
    x = row.get(alloc, {}).get("result", {}).get(key)
    b = row.get(base, {}).get("result", {}).get(key)
    return x / b if x is not None and b else None


def ratio(summary, workload, alloc, base, key):
    """summary[workload][alloc][key] / summary[workload][base][key], None when either is missing."""
    row = summary.get(workload, {})
    x, b = row.get(alloc, {}).get(key), row.get(base, {}).get(key)
    return x / b if x is not None and b else None


def geomeans(summary, base, key):
    """{allocator: geometric mean over workloads of its `key` ratio to `base`}; a workload where
    either has no figure is left out (the count is returned beside: {alloc: (gm, n)})."""
    out = {}
    for a in ALLOCATOR_ORDER:
        rs = [ratio(summary, w, a, base, key) for w in summary]
        rs = [r for r in rs if r is not None]
        if rs:
            out[a] = (geomean(rs), len(rs))
    return out


def best_peer(summary, workload, key="cost"):
    """(peer name, figure) of the lowest `key` among the peers, or (None, None)."""
    cands = [(summary[workload][p][key], p) for p in PEERS
             if p in summary[workload] and summary[workload][p].get(key) is not None]
    if not cands:
        return None, None
    v, p = min(cands)
    return p, v


def _mark(value, limit, higher_is_better=False):
    if value is None:
        return None
    return value >= limit if higher_is_better else value <= limit


def targets(summary, micro=None, tlb_2m=None):
    """The performance targets: [{name, figure (text), met: True/False/None (not measured), note}]."""
    out = []
    for base, limit in (("mimalloc", 0.90), ("glibc", 0.75)):
        gm = geomeans(summary, base, "cost").get("hugemem")
        v = gm[0] if gm else None
        out.append({"name": f"geometric-mean time ≤ {limit:.2f}× {base}", "value": v,
                    "figure": f"{v:.3f}×" if v is not None else "not measured", "met": _mark(v, limit),
                    "note": f"over {gm[1]} workloads" if gm else f"no {base} or hugemem figures"})
    worst = []
    for w in summary:
        p, best = best_peer(summary, w)
        mine = summary[w].get("hugemem", {}).get("cost")
        if best and mine is not None:
            worst.append((mine / best, w, p))
    worst.sort(reverse=True)
    if worst:
        r, w, p = worst[0]
        over = [f"{ww} {rr:.2f}× {pp}" for rr, ww, pp in worst if rr > 1.15]
        out.append({"name": "no workload slower than 1.15× the best peer", "value": r,
                    "figure": f"worst {r:.2f}× ({w}, best peer {p})", "met": r <= 1.15,
                    "note": "over: " + ", ".join(over) if over else "every workload within"})
    else:
        out.append({"name": "no workload slower than 1.15× the best peer", "value": None,
                    "figure": "not measured", "met": None, "note": "no peer figures"})
    gm = geomeans(summary, "mimalloc", "maxrss_kib").get("hugemem")
    v = gm[0] if gm else None
    out.append({"name": "geometric-mean peak RSS ≤ 1.00× mimalloc", "value": v,
                "figure": f"{v:.3f}×" if v is not None else "not measured", "met": _mark(v, 1.0),
                "note": f"over {gm[1]} workloads" if gm else "no mimalloc or hugemem figures"})
    micro = micro or {}
    for key, name, limit, unit in (("instructions_per_pair", "malloc+free fast path ≤ 35 instructions per pair", 35, ""),
                                   ("ns_per_pair", "malloc+free fast path ≤ 4 ns per pair", 4, " ns")):
        v = micro.get(key)
        out.append({"name": name, "value": v, "figure": f"{v:.1f}{unit}" if v is not None else "not measured",
                    "met": _mark(v, limit),
                    "note": micro.get(f"{key}_source") or micro.get("why") or "micro.json gives no figure"})
    tlb = summary.get("tlb", {})
    g = tlb.get("glibc", {}).get("result", {}).get("access_seconds")
    h = tlb.get("hugemem", {}).get("result", {}).get("access_seconds")
    v = g / h if g and h else None
    pct = tlb.get("hugemem", {}).get("result", {}).get("huge_pct")
    out.append({"name": "TLB-bound workload ≥ 1.3× faster than glibc (access phase)", "value": v,
                "figure": f"{v:.2f}×" if v is not None else "not measured", "met": _mark(v, 1.3, True),
                "note": f"default THP backing, {pct:.0f}% of hugemem's heap in huge pages" if pct is not None
                else "no tlb figures"})
    if tlb_2m is not None:
        out.append({"name": "… the same with HUGEMEM_PAGES=2m (hugetlb)", "value": tlb_2m.get("value"),
                    "figure": f"{tlb_2m['value']:.2f}×" if tlb_2m.get("value") is not None else "not measured",
                    "met": _mark(tlb_2m.get("value"), 1.3, True), "note": tlb_2m.get("note", "")})
    return out


def tlb_2m_figure(hugetlb):
    """From run.py's hugetlb_2m record: {value: glibc/hugemem access-time ratio (medians of the
    interleaved runs), note}, or None when the run was not attempted."""
    if hugetlb is None:
        return None
    if not hugetlb.get("ran"):
        return {"value": None, "note": f"not run: {hugetlb.get('why')}"}
    acc = {}
    for r in hugetlb["runs"]:
        if ok(r):
            acc.setdefault(r["allocator"], []).append(r["result"]["access_seconds"])
    g, h = median(acc.get("glibc", [])), median(acc.get("hugemem", []))
    pcts = [r["result"]["huge_pct"] for r in hugetlb["runs"] if ok(r) and r["allocator"] == "hugemem"]
    mine = [r for r in hugetlb["runs"] if r["allocator"] == "hugemem"]
    fell_back = sum("pages left" in r.get("stderr", "") for r in mine)
    note = (f"{hugetlb['got_pages']} of {hugetlb['want_pages']} 2 MiB pages reserved; "
            f"{median(pcts):.0f}% of the heap in huge pages" if pcts else "no successful run")
    if fell_back:
        note += f"; in {fell_back} of {len(mine)} runs hugemem ran out of hugetlb pages and fell back to THP"
    return {"value": g / h if g and h else None, "note": note}
