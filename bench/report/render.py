"""REPORT.md from the summary: machine, per-workload tables, geometric means, targets, the TLB
section, the microbenchmarks and the closing note."""
import stats

A = stats.ALLOCATOR_ORDER


def _x(v):
    return f"{v:.2f}×" if v is not None else "–"


def _mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib is not None else "–"


def _time(s, kind):
    if s.get("cost") is None:
        return "failed"
    if kind == "rate":
        return f"{s['throughput'] / 1e6:.2f} Mops/s"
    return f"{s['cost']:.3f} s"


def _mark(met):
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


def table(summary, kinds, allocs, key, fmt):
    """One row per workload: per allocator the median figure, its ratio to glibc and to mimalloc."""
    head = "| workload | " + " | ".join(allocs) + " |"
    lines = [head, "|---" * (len(allocs) + 1) + "|"]
    for w, kind in kinds.items():
        cells = []
        for a in allocs:
            s = summary[w].get(a)
            if not s or s.get(key) is None:
                cells.append("–")
                continue
            rg = stats.ratio(summary, w, a, "glibc", key)
            rm = stats.ratio(summary, w, a, "mimalloc", key)
            cells.append(f"{fmt(s, kind)}<br>{_x(rg)} g · {_x(rm)} m")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def final_rss_table(summary, allocs):
    """For the workloads that print `final_rss_kib` (resident memory after everything is freed
    and a settle wait): per allocator its median in MiB and the ratio of the medians to
    mimalloc's in the same run."""
    ws = stats.result_key(summary, "final_rss_kib")
    if not ws:
        return "No workload reported a final RSS."
    lines = ["| workload | " + " | ".join(allocs) + " |", "|---" * (len(allocs) + 1) + "|"]
    for w in ws:
        cells = []
        for a in allocs:
            v = summary[w].get(a, {}).get("result", {}).get("final_rss_kib")
            if v is None:
                cells.append("–")
                continue
            cells.append(f"{_mib(v)}<br>{_x(stats.result_ratio(summary, w, a, 'mimalloc', 'final_rss_kib'))} m")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def geomean_table(summary, allocs):
    lines = ["| allocator | time vs glibc | time vs mimalloc | peak RSS vs glibc | peak RSS vs mimalloc |",
             "|---|---|---|---|---|"]
    g = {(b, k): stats.geomeans(summary, b, k) for b in ("glibc", "mimalloc") for k in ("cost", "maxrss_kib")}
    for a in allocs:
        cells = [_x(g[(b, k)].get(a, (None,))[0]) for k in ("cost", "maxrss_kib") for b in ("glibc", "mimalloc")]
        cells = [cells[0], cells[1], cells[2], cells[3]]
        name = f"**{a}**" if a == "hugemem" else a
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_table(tgts):
    lines = ["| target | figure | verdict | note |", "|---|---|---|---|"]
    for t in tgts:
        lines.append(f"| {t['name']} | {t['figure']} | {_mark(t['met'])} | {t['note']} |")
    return "\n".join(lines)


def tlb_section(summary, raw, allocs):
    tlb = summary.get("tlb")
    if not tlb:
        return "The TLB workload was not run."
    args = " ".join(raw["workloads"]["tlb"]["args"])
    lines = [f"`wl_tlb {args}`: medians; *access* is the timed pointer chase, *set-up* allocating and "
             "touching the heap; *huge* is the share of the heap's mappings resident in huge pages "
             "(/proc/self/smaps: AnonHugePages, Private_Hugetlb).", "",
             "| allocator | access ns/step | access vs glibc | set-up s | huge pages | dTLB-load-misses |",
             "|---|---|---|---|---|---|"]
    perf = raw.get("perf") or {}
    misses = {r["allocator"]: (r.get("perf") or {}).get("dTLB-load-misses") for r in perf.get("runs", [])}
    for a in allocs:
        s = tlb.get(a)
        if not s or "result" not in s:
            continue
        r = s["result"]
        g = tlb.get("glibc", {}).get("result", {}).get("access_seconds")
        vs = _x(r["access_seconds"] / g) if g else "–"
        m = misses.get(a)
        mcell = f"{m:,}" if m is not None else "not measured"
        lines.append(f"| {a} | {r['ns_per_access']:.0f} | {vs} | {r['setup_seconds']:.2f} | {r['huge_pct']:.0f}% | {mcell} |")
    lines.append("")
    if not perf.get("available", False):
        lines.append(f"dTLB misses could not be measured: {perf.get('why', 'perf stat was not attempted')}.")
    h = raw.get("hugetlb_2m")
    if h is None:
        pass
    elif not h.get("ran"):
        lines.append(f"\nHUGEMEM_PAGES=2m run: not done ({h.get('why')}).")
    else:
        t = stats.tlb_2m_figure(h)
        acc = {}
        for r in h["runs"]:
            if stats.ok(r):
                acc.setdefault(r["allocator"], []).append(r["result"]["ns_per_access"])
        cells = ", ".join(f"{a} {stats.median(v):.0f} ns/step" for a, v in acc.items())
        n = len(acc.get("hugemem", []))
        lines.append(f"\nHUGEMEM_PAGES=2m run (glibc and hugemem interleaved, {n} each): {cells}; "
                     f"glibc/hugemem {_x(t['value'])}; {t['note']}. (ru_maxrss does not count hugetlb "
                     "pages, so this run's peak RSS is not comparable and is left out.)")
    return "\n".join(lines)


def failures(raw):
    bad = [r for r in raw["runs"] if not stats.ok(r)]
    if not bad:
        return "None."
    return "\n".join(f"- {r['workload']} under {r['allocator']} rep {r['rep'] + 1}: rc {r['rc']}; "
                     f"stderr: `{r['stderr'].strip().splitlines()[-1] if r['stderr'].strip() else ''}`"
                     for r in bad)


def closing(summary, tgts):
    """The biggest misses, computed: hugemem's worst time ratios to the best peer and its worst
    peak-RSS ratios to mimalloc."""
    rows = []
    for w in summary:
        p, best = stats.best_peer(summary, w)
        mine = summary[w].get("hugemem", {}).get("cost")
        if best and mine is not None:
            rows.append((mine / best, w, p))
    rows.sort(reverse=True)
    rss = [(stats.ratio(summary, w, "hugemem", "mimalloc", "maxrss_kib"), w) for w in summary]
    rss = sorted([x for x in rss if x[0] is not None], reverse=True)
    missed = [t["name"] for t in tgts if t["met"] is False]
    out = [f"Targets missed: {len(missed)} of {sum(t['met'] is not None for t in tgts)} measured."]
    out.append("Slowest against the best peer: " +
               ", ".join(f"{w} {r:.2f}× {p}" for r, w, p in rows[:3] if r > 1.0) + "." if rows and rows[0][0] > 1.0
               else "hugemem is the fastest on every workload.")
    out.append("Largest peak RSS against mimalloc: " + ", ".join(f"{w} {r:.2f}×" for r, w in rss[:3]) + ".")
    fin = [(stats.result_ratio(summary, w, "hugemem", "mimalloc", "final_rss_kib"), w)
           for w in stats.result_key(summary, "final_rss_kib")]
    fin = sorted([x for x in fin if x[0] is not None], reverse=True)
    if fin:
        out.append("Final RSS against mimalloc: " + ", ".join(f"{w} {r:.2f}×" for r, w in fin) + ".")
    return " ".join(out)


def report(raw, summary, tgts, micro_md, analysis_md, charts):
    m = raw["machine"]
    kinds = {w: v["kind"] for w, v in raw["workloads"].items()}
    allocs = [a for a in A if any(a in summary[w] for w in summary)]
    missing = [f"{x['name']} ({x['missing']})" for x in raw["allocators"] if x["missing"]]
    parts = [
        "# hugemem benchmark report",
        "",
        f"Generated by `scripts/bench --{raw['mode']}` on {raw['started']} (UTC): {raw['reps']} "
        f"repetitions, interleaved (rep-major, allocator order rotated each repetition), {raw['seconds']:.0f} s. "
        "Every figure is the median of the repetitions; ratios are against glibc (g) and mimalloc (m) "
        "in the same run; lower is better.",
        "",
        "| machine | |", "|---|---|",
        f"| CPU | {m['cpu']} ({m['cores']} cores; {m['virtualization']}) |",
        f"| memory | {m['memory']} |", f"| kernel | {m['kernel']} (glibc {m['glibc']}) |",
        f"| THP | enabled: {m['thp']}; defrag: {m['thp_defrag']} |",
        f"| hugetlb pages | 2 MiB: {m['hugepages_2m']}; 1 GiB: {m['hugepages_1g']} |",
        f"| compiler | {m['compiler']} |",
        "",
        "Allocators: glibc (no preload), hugemem (this build's libhugemem.so), and Debian's "
        "libmimalloc.so.2, libjemalloc.so.2 and libtcmalloc_minimal.so.4, each by LD_PRELOAD."
        + (f" Not run: {', '.join(missing)}." if missing else ""),
        "",
        "## Geometric means",
        "",
        geomean_table(summary, allocs),
        "",
        "## Targets",
        "",
        targets_table(tgts),
        "",
        "## Pictures",
        "",
        f"![time ratio to glibc]({charts[0]})",
        "",
        f"![peak RSS ratio to glibc]({charts[1]})",
        "",
        "## Time per workload",
        "",
        "Wall time of the whole process (fixed-work workloads; less the settle wait of those that report "
        "a final RSS) or throughput (" + (", ".join(w for w, k in kinds.items() if k == "rate") or "none") +
        ": fixed time; their ratio is of time per operation).",
        "",
        table(summary, kinds, allocs, "cost", _time),
        "",
        "## Peak RSS per workload",
        "",
        "ru_maxrss of the workload process (wait4), including its own arrays.",
        "",
        table(summary, kinds, allocs, "maxrss_kib", lambda s, k: _mib(s["maxrss_kib"])),
        "",
        "## Final RSS per workload",
        "",
        "Resident memory (/proc/self/statm) the workload reads after all its threads have exited and "
        "everything is freed, after a settle wait (`settle_ms`, 200 ms unless the arguments say otherwise): "
        "what the allocator keeps. "
        "Median of the repetitions, ratio of the medians to mimalloc's (m).",
        "",
        final_rss_table(summary, allocs),
        "",
        "## CPU time per workload",
        "",
        table(summary, kinds, allocs, "cpu_s", lambda s, k: f"{s['cpu_s']:.3f} s"),
        "",
        "## The TLB-bound workload",
        "",
        tlb_section(summary, raw, allocs),
        "",
        "## Microbenchmarks",
        "",
        micro_md.strip(),
        "",
        "## Failed runs",
        "",
        failures(raw),
        "",
        "## Closing note",
        "",
        closing(summary, tgts),
    ]
    if analysis_md:
        parts += ["", analysis_md.strip()]
    return "\n".join(parts) + "\n"
