"""bench/report/stats.py on known inputs: medians, ratios, geometric means, targets."""
import math
import unittest

from harness import run
import stats


def reps(workload, allocator, walls, rss=1000):
    return [run(workload, allocator, w, rss, rep=i) for i, w in enumerate(walls)]


class MedianAndGeomean(unittest.TestCase):
    def test_median_of_odd_and_even_counts(self):
        self.assertEqual(stats.median([10, 1, 2]), 2)  # not the mean: one slow run moves nothing
        self.assertEqual(stats.median([40, 1, 3, 2]), 2.5)
        self.assertIsNone(stats.median([]))

    def test_geomean(self):
        self.assertAlmostEqual(stats.geomean([0.5, 2.0]), 1.0)
        self.assertAlmostEqual(stats.geomean([1, 10, 100]), 10.0)
        self.assertIsNone(stats.geomean([]))
        with self.assertRaises(ValueError):
            stats.geomean([1.0, 0.0])


class Summaries(unittest.TestCase):
    def test_median_per_workload_and_allocator_ignores_failed_runs(self):
        runs = reps("a", "glibc", [1.0, 9.0, 2.0]) + [run("a", "glibc", 99.0, 9, rc=1)]
        s = stats.summarize(runs, {"a": "time"})["a"]["glibc"]
        self.assertEqual(s["cost"], 2.0)
        self.assertEqual(s["n"], 3)
        self.assertEqual(s["failed"], 1)

    def test_settle_wait_is_taken_out_of_the_time(self):
        runs = [run("f", "glibc", 1.5, 1, idle_seconds=0.25, final_rss_kib=100), run("f", "hugemem", 0.5, 1)]
        s = stats.summarize(runs, {"f": "time"})
        self.assertAlmostEqual(s["f"]["glibc"]["cost"], 1.25)
        self.assertAlmostEqual(s["f"]["hugemem"]["cost"], 0.5)
        self.assertEqual(stats.result_key(s, "final_rss_kib"), ["f"])
        self.assertIsNone(stats.result_ratio(s, "f", "glibc", "hugemem", "final_rss_kib"))

    def test_rate_workload_cost_is_seconds_per_operation(self):
        runs = [run("l", "glibc", 1.0, 1, ops=1000, seconds=1.0), run("l", "hugemem", 1.0, 1, ops=4000, seconds=1.0)]
        s = stats.summarize(runs, {"l": "rate"})
        self.assertAlmostEqual(s["l"]["hugemem"]["throughput"], 4000)
        self.assertAlmostEqual(stats.ratio(s, "l", "hugemem", "glibc", "cost"), 0.25)

    def test_ratios_and_geomeans_against_a_baseline(self):
        runs = (reps("a", "glibc", [2.0]) + reps("a", "hugemem", [1.0]) +
                reps("b", "glibc", [1.0]) + reps("b", "hugemem", [2.0]) +
                reps("c", "glibc", [1.0]) + reps("c", "hugemem", [8.0]))
        s = stats.summarize(runs, {"a": "time", "b": "time", "c": "time"})
        self.assertAlmostEqual(stats.ratio(s, "a", "hugemem", "glibc", "cost"), 0.5)
        gm, n = stats.geomeans(s, "glibc", "cost")["hugemem"]
        self.assertEqual(n, 3)
        self.assertAlmostEqual(gm, (0.5 * 2 * 8) ** (1 / 3))
        self.assertIsNone(stats.ratio(s, "a", "mimalloc", "glibc", "cost"))


def _target(tgts, prefix):
    return next(t for t in tgts if t["name"].startswith(prefix))


class Targets(unittest.TestCase):
    def summary(self, hugemem_walls, rss=(1000, 1000)):
        walls = {"glibc": [2.0, 2.0], "mimalloc": [1.0, 1.0], "jemalloc": [1.5, 0.8], "tcmalloc": [3.0, 3.0]}
        walls["hugemem"] = hugemem_walls
        runs = []
        for a, (w1, w2) in walls.items():
            r = rss[0] if a == "hugemem" else rss[1]
            runs += reps("x", a, [w1], r) + reps("y", a, [w2], r)
        return stats.summarize(runs, {"x": "time", "y": "time"})

    def test_met_when_faster_than_every_limit(self):
        t = stats.targets(self.summary([0.8, 0.8], rss=(900, 1000)))
        self.assertTrue(_target(t, "geometric-mean time ≤ 0.90× mimalloc")["met"])
        self.assertTrue(_target(t, "geometric-mean time ≤ 0.75× glibc")["met"])
        self.assertTrue(_target(t, "no workload slower")["met"])
        self.assertTrue(_target(t, "geometric-mean peak RSS")["met"])

    def test_missed_with_the_figure_and_the_offending_workload(self):
        t = stats.targets(self.summary([0.9, 1.2], rss=(1100, 1000)))
        g = _target(t, "geometric-mean time ≤ 0.90× mimalloc")
        self.assertFalse(g["met"])
        self.assertAlmostEqual(g["value"], math.sqrt(0.9 * 1.2))
        worst = _target(t, "no workload slower")
        self.assertFalse(worst["met"])
        self.assertAlmostEqual(worst["value"], 1.2 / 0.8)  # y: best peer is jemalloc at 0.8
        self.assertIn("y 1.50× jemalloc", worst["note"])
        self.assertFalse(_target(t, "geometric-mean peak RSS")["met"])

    def test_unmeasured_targets_are_neither_met_nor_missed(self):
        t = stats.targets(self.summary([1.0, 1.0]), micro={"why": "absent"})
        self.assertIsNone(_target(t, "malloc+free fast path ≤ 35")["met"])
        self.assertIsNone(_target(t, "TLB-bound")["met"])

    def test_micro_figures_are_judged(self):
        t = stats.targets(self.summary([1.0, 1.0]), micro={"instructions_per_pair": 40.0, "ns_per_pair": 3.5})
        self.assertFalse(_target(t, "malloc+free fast path ≤ 35")["met"])
        self.assertTrue(_target(t, "malloc+free fast path ≤ 4 ns")["met"])

    def test_tlb_target_uses_the_access_phase(self):
        runs = [run("tlb", "glibc", 10.0, 1, access_seconds=2.6, huge_pct=0.0),
                run("tlb", "hugemem", 20.0, 1, access_seconds=2.0, huge_pct=99.0)]
        t = _target(stats.targets(stats.summarize(runs, {"tlb": "time"})), "TLB-bound")
        self.assertAlmostEqual(t["value"], 1.3)
        self.assertTrue(t["met"])

    def test_tlb_2m_figure_is_the_ratio_of_medians(self):
        h = {"ran": True, "want_pages": 10, "got_pages": 10, "runs": [
            run("tlb", "glibc", 1, 1, rep=i, access_seconds=a, huge_pct=0.0) for i, a in enumerate([3.0, 1.0, 2.0])
        ] + [run("tlb", "hugemem", 1, 1, rep=i, access_seconds=a, huge_pct=100.0) for i, a in enumerate([1.0, 0.5])]}
        h["runs"][-1]["stderr"] = "hugemem: no 2MiB-hugetlb pages left; arenas now use THP\n"
        f = stats.tlb_2m_figure(h)
        self.assertAlmostEqual(f["value"], 2.0 / 0.75)
        self.assertIn("10 of 10", f["note"])
        self.assertIn("in 1 of 2 runs hugemem ran out of hugetlb pages", f["note"])
        self.assertIsNone(stats.tlb_2m_figure({"ran": False, "why": "not root"})["value"])


if __name__ == "__main__":
    unittest.main()
