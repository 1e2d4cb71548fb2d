#!/usr/bin/python3
"""Turns run.py's raw.json (and the microbenchmarks' micro.md/micro.json) into REPORT.md, the
two SVG charts, summary.json (medians, ratios, geo-means, targets) and runs.csv (every run)."""
import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import micro  # noqa: E402
import plots  # noqa: E402
import render  # noqa: E402
import stats  # noqa: E402

CHARTS = ("time_ratio.svg", "rss_ratio.svg")


def build(raw, micro_dir, analysis_path=None):
    """(summary, targets, REPORT.md text) for `raw`."""
    kinds = {w: v["kind"] for w, v in raw["workloads"].items()}
    summary = stats.summarize(raw["runs"], kinds)
    micro_md, micro_figs = micro.read(micro_dir)
    tgts = stats.targets(summary, micro_figs, stats.tlb_2m_figure(raw.get("hugetlb_2m")))
    analysis = open(analysis_path).read() if analysis_path and os.path.exists(analysis_path) else ""
    text = render.report(raw, summary, tgts, micro_md, analysis, CHARTS)
    return summary, tgts, text


def write_csv(raw, path):
    cols = ["workload", "allocator", "rep", "rc", "wall_s", "cpu_s", "user_s", "sys_s", "maxrss_kib"]
    extra = sorted({k for r in raw["runs"] if r.get("result") for k in r["result"]} - {"workload"})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + extra)
        for r in raw["runs"]:
            res = r.get("result") or {}
            w.writerow([r.get(c) for c in cols] + [res.get(k) for k in extra])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="bench/results", help="holds raw.json; gets the report")
    ap.add_argument("--micro", help="folder with micro.md and micro.json (default <out>/micro)")
    ap.add_argument("--analysis", help="hand-written profiling notes to append (default <out>/analysis.md)")
    a = ap.parse_args()
    raw = json.load(open(os.path.join(a.out, "raw.json")))
    summary, tgts, text = build(raw, a.micro or os.path.join(a.out, "micro"),
                                a.analysis or os.path.join(a.out, "analysis.md"))
    with open(os.path.join(a.out, "REPORT.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"mode": raw["mode"], "started": raw["started"], "summary": summary, "targets": tgts,
                   "geomeans": {f"{k}_vs_{b}": stats.geomeans(summary, b, k)
                                for b in ("glibc", "mimalloc") for k in ("cost", "maxrss_kib")}}, f, indent=1)
    write_csv(raw, os.path.join(a.out, "runs.csv"))
    plots.ratio_chart(summary, "cost", "Time per workload, ratio to glibc", os.path.join(a.out, CHARTS[0]))
    plots.ratio_chart(summary, "maxrss_kib", "Peak RSS per workload, ratio to glibc", os.path.join(a.out, CHARTS[1]))

    gm = {b: stats.geomeans(summary, b, "cost").get("hugemem", (None,))[0] for b in ("glibc", "mimalloc")}
    rss = stats.geomeans(summary, "mimalloc", "maxrss_kib").get("hugemem", (None,))[0]
    print(f"bench: hugemem geo-mean time {render._x(gm['glibc'])} glibc, {render._x(gm['mimalloc'])} mimalloc; "
          f"peak RSS {render._x(rss)} mimalloc")
    for t in tgts:
        print(f"bench:   {render._mark(t['met']).strip('*'):12s} {t['name']}: {t['figure']}")
    print(f"bench: report in {os.path.join(a.out, 'REPORT.md')}")


if __name__ == "__main__":
    main()
