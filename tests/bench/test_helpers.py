"""The harness's small helpers: perf output, the micro part's files, the hugepage reservation,
the allocator and workload tables."""
import json
import os
import tempfile
import unittest

import harness  # noqa: F401
import allocators
import hugepages
import micro
import perfstat
import workloads


class Perf(unittest.TestCase):
    def test_parse_counts_and_unsupported(self):
        text = ("# started on ...\n\n1234,,dTLB-load-misses,100,100.00,,\n"
                "<not supported>,,dTLB-loads,0,100.00,,\n")
        self.assertEqual(perfstat.parse(text), {"dTLB-load-misses": 1234, "dTLB-loads": None})

    def test_wrap_runs_the_command_under_perf_stat(self):
        self.assertEqual(perfstat.wrap(["a", "b"], "/o")[-3:], ["--", "a", "b"])


class Micro(unittest.TestCase):
    def test_absent_part_says_so(self):
        md, figs = micro.read(None)
        self.assertIn("Not run", md)
        self.assertIsNone(figs.get("instructions_per_pair"))

    def test_figures_from_the_targets_of_bench_malloc(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "micro.md"), "w").write("## Microbenchmarks\n")
            json.dump({"targets": {"instructions_per_pair": {"limit": 35, "measured": 33, "met": True},
                                   "ns_per_pair": {"limit": 4, "measured": None, "met": None}}},
                      open(os.path.join(d, "micro.json"), "w"))
            _, figs = micro.read(d)
        self.assertEqual(figs["instructions_per_pair"], 33)
        self.assertIsNone(figs.get("ns_per_pair"))

    def test_figures_prefer_hugemem(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "micro.md"), "w").write("x")
            json.dump({"glibc": {"ns_per_pair": 9.0}, "hugemem": {"ns_per_pair": 3.0, "instructions_per_pair": 31}},
                      open(os.path.join(d, "micro.json"), "w"))
            _, figs = micro.read(d)
        self.assertEqual(figs["ns_per_pair"], 3.0)
        self.assertEqual(figs["instructions_per_pair"], 31)
        self.assertEqual(figs["ns_per_pair_source"], "micro.json: hugemem.ns_per_pair")


class Hugepages(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "the reservation is root-only")
    def test_reserves_reads_back_and_restores(self):
        with tempfile.NamedTemporaryFile("w+") as f:
            f.write("3")
            f.flush()
            with hugepages.Reservation(5, path=f.name) as r:
                self.assertIsNone(r.why_not)
                self.assertEqual(r.got, 5)
                self.assertEqual(open(f.name).read(), "8")
            self.assertEqual(open(f.name).read(), "3")

    def test_unwritable_pool_says_why(self):
        with hugepages.Reservation(5, path="/nonexistent/nr_hugepages") as r:
            self.assertEqual(r.got, 0)
            self.assertIsNotNone(r.why_not)


class Tables(unittest.TestCase):
    def test_missing_allocator_has_a_reason_and_glibc_preloads_nothing(self):
        res = {a["name"]: a for a in allocators.resolve("/nonexistent-build")}
        self.assertIn("not found", res["hugemem"]["missing"])
        self.assertIsNone(res["glibc"]["missing"])
        os.environ["LD_PRELOAD"] = "/x.so"
        try:
            self.assertNotIn("LD_PRELOAD", allocators.env_for(res["glibc"]))
            self.assertEqual(allocators.env_for(res["hugemem"])["LD_PRELOAD"], res["hugemem"]["preload"])
        finally:
            del os.environ["LD_PRELOAD"]

    def test_every_workload_has_quick_full_and_smoke_arguments(self):
        for name in workloads.NAMES:
            self.assertIn(name, workloads.SMOKE)
            self.assertTrue(workloads.args_for(name, "quick"))
            self.assertTrue(workloads.args_for(name, "full"))
        self.assertEqual(set(workloads.KIND.values()), {"time", "rate"})

    def test_an_entry_may_run_another_entrys_binary(self):
        self.assertEqual(workloads.binary("random_sizes_1t"), "random_sizes")
        self.assertEqual(workloads.binary("larson"), "larson")
        self.assertIn("threads=1", workloads.args_for("random_sizes_1t", "full"))
        for name, binary in workloads.BINARY.items():
            self.assertIn(binary, workloads.NAMES)
        import run
        self.assertTrue(run.workload_cmd("/b", "random_sizes_1t", ["x=1"])[0].endswith("/wl_random_sizes"))

    def test_cmake_builds_and_smoke_tests_every_entry(self):
        import re
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "workloads",
                               "CMakeLists.txt")) as f:
            text = f.read()
        names = re.search(r"set\(names ([^)]*)\)", text).group(1).split()
        variants = re.search(r"set\(variants ([^)]*)\)", text).group(1).split()
        self.assertEqual(sorted(names + variants), sorted(workloads.NAMES))
        self.assertEqual(sorted(variants), sorted(workloads.BINARY))


if __name__ == "__main__":
    unittest.main()
