"""micro.md and micro.json from the figures micro_measure.py collected."""
import json

# The performance targets for hugemem's malloc+free fast path.
TARGET_INSTRUCTIONS = 35
TARGET_NS = 4.0
# The pair the instruction counts measure (pair_count.cpp) and the targets are judged on.
TARGET_BENCH = "pair/32"
NOHARDENED = "hugemem-nohardened"  # hugemem built with -DHUGEMEM_HARDENED=OFF

PAIR_SIZES = [16, 32, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20]
OTHERS = [  # (benchmark, what one operation is)
    ("batch1000/64", "per object: 1000 × malloc(64), then 1000 frees"),
    ("calloc/64", "calloc(1, 64) + free"),
    ("calloc/4096", "calloc(1, 4 KiB) + free"),
    ("calloc/1048576", "calloc(1, 1 MiB) + free"),
    ("realloc_growth", "per realloc: 16 B grown by half to 64 KiB"),
    ("aligned_alloc/64", "aligned_alloc(64, 64) + free"),
    ("aligned_alloc/4096", "aligned_alloc(4096, 4096) + free"),
    ("cross_thread/64", "per object, CPU of both threads: one thread mallocs 64 B, another frees"),
    ("pair/64/threads:2", "per pair, 2 threads at once: malloc(64) + free"),
]


def size_label(n):
    if n >= 1 << 20:
        return f"{n >> 20} MiB"
    if n >= 1 << 10:
        return f"{n >> 10} KiB"
    return f"{n} B"


def _fmt(x):
    if x is None:
        return "–"
    return f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def _ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


# A figure whose slowest sample took more than this many times its fastest is marked: rough.
SPREAD_LIMIT = 2.0
SPREAD_MARK = " †"
SPREAD_NOTE = (f"{SPREAD_MARK.strip()} its samples spread more than {SPREAD_LIMIT:g}× between the fastest and the "
               "slowest (min_ns, max_ns in micro.json): a rough figure.")


def _spread(st):
    return st is not None and st[2] > 0 and st[3] / st[2] > SPREAD_LIMIT


def _peers(variants):
    return [v for v in variants if not v.startswith("hugemem")]


def _table(rows, variants, med, label_head):
    peers = _peers(variants)
    head = [label_head, *variants, "hugemem ÷ glibc", "hugemem ÷ mimalloc", "hugemem ÷ best peer"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for bench, label in rows:
        stats = {v: med.get(bench, {}).get(v) for v in variants}
        vals = {v: st[0] if st else None for v, st in stats.items()}
        best = min((vals[p] for p in peers if vals[p] is not None), default=None)
        hm = vals.get("hugemem")
        cells = [label, *(_fmt(vals[v]) + (SPREAD_MARK if _spread(stats[v]) else "") for v in variants),
                 _ratio(hm, vals.get("glibc")),
                 _ratio(hm, vals.get("mimalloc")), _ratio(hm, best)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _targets(med, counts):
    ns = med.get(TARGET_BENCH, {}).get("hugemem", (None,))[0]
    ins = counts["hugemem"][TARGET_BENCH]["allocator"] if counts and "hugemem" in counts else None
    return {
        "instructions_per_pair": {"limit": TARGET_INSTRUCTIONS, "measured": ins,
                                  "met": None if ins is None else ins <= TARGET_INSTRUCTIONS},
        "ns_per_pair": {"limit": TARGET_NS, "measured": ns, "met": None if ns is None else ns <= TARGET_NS},
    }


def _verdict(t, unit):
    if t["met"] is None:
        return "not measured"
    return f"{_fmt(t['measured'])} {unit} → **{'met' if t['met'] else 'missed'}**"


def markdown(variants, med, counts, ctx):
    L = ["## Microbenchmarks", ""]
    L.append(f"Google Benchmark fast paths, one binary per allocator (bench/malloc), each checking at startup "
             f"that malloc really is that allocator's. {ctx['rounds']} round(s) of every binary in alternating "
             f"order × {ctx['repetitions']} repetitions; each figure is the median of the samples (ns per "
             f"operation, CPU time). {ctx['machine']}; load average "
             f"{ctx['load_before']} before, {ctx['load_after']} after; {ctx['date']}. Mode: {ctx['mode']}. "
             f"Peers: {ctx['versions']}; {ctx['build']}.")
    L += ["", "### malloc + free pairs, one thread (ns per pair)", ""]
    L += _table([(f"pair/{n}", size_label(n)) for n in PAIR_SIZES], variants, med, "size")
    L += ["", "### Other patterns (ns per operation)", ""]
    L += _table(OTHERS, variants, med, "benchmark")
    if any(_spread(st) for per in med.values() for st in per.values()):
        L += ["", SPREAD_NOTE]
    L += ["", "### Instructions per malloc + free pair (callgrind)", ""]
    if counts:
        benches = sorted({b for c in counts.values() for b in c}, key=lambda b: int(b.split("/")[1]))
        head = ["allocator", *(f"{size_label(int(b.split('/')[1]))}: in malloc + free" for b in benches),
                f"{size_label(32)}: with the benchmark loop", "ns per pair (pair/32)"]
        L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for v in variants:
            if v in counts:
                ns = med.get(TARGET_BENCH, {}).get(v, (None,))[0]
                cells = [v, *(_fmt(counts[v][b]["allocator"]) for b in benches), _fmt(counts[v][TARGET_BENCH]["whole"]), _fmt(ns)]
                L.append("| " + " | ".join(cells) + " |")
        runs = ", ".join(f"{size_label(s)} × {n:,}" for s, n in ctx["pairs"].items())
        L += ["", f"A run with N pairs minus a run with none, divided by N ({runs}). \"In malloc + free\" "
              "leaves out the loop's own instructions (its calls and counter), which the whole-program "
              "difference includes. `perf stat -e instructions` is not used: callgrind counts the same "
              "on any machine, with hardware counters or without."]
    else:
        L.append("Not measured: valgrind (callgrind) is not installed.")
    hm = counts["hugemem"][TARGET_BENCH] if counts and "hugemem" in counts else None
    nh = counts[NOHARDENED][TARGET_BENCH] if counts and NOHARDENED in counts else None
    L += ["", "### Cost of the default misuse checks (HUGEMEM_HARDENED)", ""]
    if NOHARDENED in variants:
        ns_on = med.get(TARGET_BENCH, {}).get("hugemem", (None,))[0]
        ns_off = med.get(TARGET_BENCH, {}).get(NOHARDENED, (None,))[0]
        ins = f"{hm['allocator']:.1f} vs {nh['allocator']:.1f} instructions" if hm and nh else "instructions not measured"
        L.append(f"malloc(32) + free with the checks (default) vs `-DHUGEMEM_HARDENED=OFF`: {ins}, "
                 f"{_fmt(ns_on)} vs {_fmt(ns_off)} ns per pair (the column hugemem-nohardened above).")
    else:
        L.append("Not measured in this run: " + ctx["notes"].get(NOHARDENED, ""))
    t = _targets(med, counts)
    L += ["", "### Fast-path target (hugemem, malloc(32) + free)", "",
          f"- ≤ {TARGET_INSTRUCTIONS} instructions per pair: {_verdict(t['instructions_per_pair'], 'instructions')}",
          f"- ≤ {TARGET_NS:g} ns per pair: {_verdict(t['ns_per_pair'], 'ns')}", ""]
    missing = [text for key, text in ctx["notes"].items() if key != NOHARDENED]
    if missing:
        L += ["Not measured:", "", *(f"- {text}" for text in missing), ""]
    return "\n".join(L)


def as_json(variants, med, counts, ctx):
    results = []
    for bench in sorted(med):
        for v in variants:
            if v not in med[bench]:
                continue
            ns, n, lo, hi = med[bench][v]
            ins = counts[v][bench]["allocator"] if counts and bench in counts.get(v, {}) else None
            results.append({"benchmark": bench, "allocator": v, "median_ns": ns, "samples": n,
                            "min_ns": lo, "max_ns": hi, "instructions_per_op": ins})
    return json.dumps({
        "section": "micro", "mode": ctx["mode"], "date": ctx["date"], "machine": ctx["machine"],
        "load_average": [ctx["load_before"], ctx["load_after"]], "versions": ctx["versions"], "build": ctx["build"],
        "rounds": ctx["rounds"], "repetitions": ctx["repetitions"], "min_time_s": ctx["min_time"],
        "allocators": variants, "results": results,
        "instructions": {v: {b: {"instructions_per_op": c["allocator"], "instructions_per_op_with_loop": c["whole"]}
                             for b, c in per.items()} for v, per in (counts or {}).items()},
        "targets": _targets(med, counts), "notes": ctx["notes"],
    }, indent=1)
