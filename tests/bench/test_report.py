"""bench/report/report.py on a known raw.json: the report's tables, verdicts and charts."""
import json
import os
import tempfile
import unittest

from harness import run
import report

MACHINE = {"cpu": "Test CPU", "cores": 2, "memory": "1 kB", "kernel": "6.1", "thp": "[madvise]",
           "thp_defrag": "madvise", "hugepages_2m": "0 total", "hugepages_1g": "0", "glibc": "2.36",
           "compiler": "g++", "virtualization": "kvm"}


def raw(perf=None, huge=None):
    runs = []
    for i in range(3):
        runs += [run("w", "glibc", 2.0 + i, 1000, rep=i), run("w", "hugemem", 1.0, 2000, rep=i),
                 run("w", "mimalloc", 1.6, 1000, rep=i),
                 run("tlb", "glibc", 4.0, 100, rep=i, access_seconds=3.0, ns_per_access=300.0, setup_seconds=1.0,
                     huge_pct=0.0),
                 run("tlb", "hugemem", 3.0, 100, rep=i, access_seconds=1.0, ns_per_access=100.0, setup_seconds=2.0,
                     huge_pct=98.0)]
    runs.append(run("w", "mimalloc", 0, 0, rep=3, rc=-11))
    return {"mode": "quick", "reps": 3, "started": "2026-01-01T00:00:00+00:00", "seconds": 12.0,
            "machine": MACHINE,
            "allocators": [{"name": "tcmalloc", "preload": "/x.so", "missing": "/x.so not found"}],
            "workloads": {"w": {"kind": "time", "args": []}, "tlb": {"kind": "time", "args": ["mib=1"]}},
            "runs": runs, "perf": perf or {"available": False, "why": "no PMU in this VM", "runs": []},
            "hugetlb_2m": huge}


class Report(unittest.TestCase):
    def test_tables_ratios_and_verdicts(self):
        summary, tgts, text = report.build(raw(), None)
        self.assertIn("| CPU | Test CPU (2 cores; kvm) |", text)
        self.assertIn("Not run: tcmalloc (/x.so not found)", text)
        # w: glibc median 3.0 s, hugemem 1.0 s, mimalloc 1.6 s.
        self.assertIn("1.000 s<br>0.33× g · 0.62× m", text)
        self.assertIn("2.0 MiB<br>2.00× g · 2.00× m", text)  # hugemem's RSS, 2000 KiB vs 1000
        self.assertIn("| geometric-mean peak RSS ≤ 1.00× mimalloc |", text)
        self.assertRegex(text, r"no workload slower than 1\.15× the best peer \| worst 0\.75× \(tlb, best peer glibc\) \| \*\*met\*\*")
        self.assertIn("TLB-bound workload ≥ 1.3× faster than glibc (access phase) | 3.00× | **met**", text)
        self.assertIn("dTLB misses could not be measured: no PMU in this VM.", text)
        self.assertIn("| hugemem | 100 | 0.33× | 2.00 | 98% | not measured |", text)
        self.assertIn("w under mimalloc rep 4: rc -11", text)
        self.assertIn("Not run: the microbenchmark part", text)
        self.assertEqual(summary["w"]["glibc"]["cost"], 3.0)

    def test_final_rss_is_parsed_and_rendered(self):
        import proc
        line = ("RESULT workload=many_threads ops=40 seconds=0.5 checksum=ab final_rss_kib=20480 "
                "idle_seconds=0.2\n")
        parsed = proc.parse_result("noise\n" + line)
        self.assertEqual(parsed["final_rss_kib"], 20480)
        self.assertAlmostEqual(parsed["idle_seconds"], 0.2)
        r = raw()
        r["workloads"]["many_threads"] = {"kind": "time", "args": ["threads=2000"]}
        for i, (g, h, m) in enumerate([(10240, 30720, 40960), (12288, 20480, 51200), (8192, 40960, 40960)]):
            for a, kib in (("glibc", g), ("hugemem", h), ("mimalloc", m)):
                res = dict(parsed, final_rss_kib=kib)
                res.pop("workload")
                r["runs"].append(run("many_threads", a, 1.2, 2 * kib, rep=i, **res))
        summary, _, text = report.build(r, None)
        # Medians: glibc 10240 KiB, hugemem 30720, mimalloc 40960; ratios of the medians to mimalloc.
        self.assertEqual(summary["many_threads"]["hugemem"]["result"]["final_rss_kib"], 30720)
        self.assertIn("## Final RSS per workload", text)
        self.assertIn("| many_threads | 10.0 MiB<br>0.25× m | 30.0 MiB<br>0.75× m | 40.0 MiB<br>1.00× m |", text)
        section = text.split("## Final RSS per workload")[1].split("##")[0]
        self.assertNotIn("| w |", section)  # only the workloads that print it
        # The settle wait is not the allocator's time: 1.2 s wall less 0.2 s idle.
        self.assertAlmostEqual(summary["many_threads"]["glibc"]["cost"], 1.0)
        self.assertIn("| many_threads | 1.000 s<br>1.00× g", text)
        self.assertIn("Final RSS against mimalloc: many_threads 0.75×.", text)

    def test_no_final_rss_says_so(self):
        _, _, text = report.build(raw(), None)
        self.assertIn("No workload reported a final RSS.", text)

    def test_micro_section_and_figures_come_from_the_micro_part(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "micro.md"), "w") as f:
                f.write("### Fast paths\n\nmalloc+free 16 B: 30 instructions\n")
            with open(os.path.join(d, "micro.json"), "w") as f:
                json.dump({"hugemem": {"instructions_per_pair": 30.0, "ns_per_pair": 5.0}}, f)
            _, tgts, text = report.build(raw(), d)
        self.assertIn("malloc+free 16 B: 30 instructions", text)
        self.assertIn("| malloc+free fast path ≤ 35 instructions per pair | 30.0 | **met** |", text)
        self.assertIn("| malloc+free fast path ≤ 4 ns per pair | 5.0 ns | **missed** |", text)

    def test_perf_counts_and_the_hugetlb_run_are_shown(self):
        perf = {"available": True, "why": None,
                "runs": [dict(run("tlb", "hugemem", 1, 1), perf={"dTLB-load-misses": 1234567})]}
        huge = {"ran": True, "want_pages": 8, "got_pages": 6, "why": None,
                "runs": [run("tlb", "glibc", 1, 1, access_seconds=2.0, ns_per_access=200.0, huge_pct=0.0),
                         run("tlb", "hugemem", 1, 1, access_seconds=1.0, ns_per_access=100.0, huge_pct=100.0)]}
        _, _, text = report.build(raw(perf, huge), None)
        self.assertIn("| 1,234,567 |", text)
        self.assertNotIn("could not be measured", text)
        self.assertIn("glibc/hugemem 2.00×; 6 of 8 2 MiB pages reserved", text)
        self.assertIn("interleaved, 1 each", text)

    def test_writes_report_charts_csv_and_summary(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "raw.json"), "w") as f:
                json.dump(raw(), f)
            import sys
            argv = sys.argv
            sys.argv = ["report.py", "--out", d]
            try:
                report.main()
            finally:
                sys.argv = argv
            for name in ("REPORT.md", "time_ratio.svg", "rss_ratio.svg", "runs.csv", "summary.json"):
                self.assertTrue(os.path.getsize(os.path.join(d, name)) > 0, name)
            self.assertIn("<svg", open(os.path.join(d, "time_ratio.svg")).read())
            rows = open(os.path.join(d, "runs.csv")).read().splitlines()
            self.assertEqual(len(rows), 1 + 16)  # header, 3 reps × 5 runs, 1 failed run
            self.assertTrue(rows[0].startswith("workload,allocator,rep,rc,wall_s"))


if __name__ == "__main__":
    unittest.main()
