"""The harness's measurement of a run (bench/report/proc.py through wl_measure): exit status,
wall and CPU time, and peak RSS from wait4."""
import os
import unittest

import harness  # noqa: F401
import proc

BUILD = os.environ.get("HM_BUILD_DIR", "build")
MEASURE = os.path.join(BUILD, "bench", "workloads", "wl_measure")
TLB = os.path.join(BUILD, "bench", "workloads", "wl_tlb")


class Measure(unittest.TestCase):
    def test_peak_rss_is_the_childs_own(self):
        small = proc.run(MEASURE, ["true"])
        self.assertEqual(small["rc"], 0)
        # Not the harness's size: python3 is well above 5 MiB.
        self.assertLess(small["maxrss_kib"], 5 * 1024)
        big = proc.run(MEASURE, [TLB, "mib=64", "steps=10"])
        self.assertEqual(big["rc"], 0)
        self.assertGreaterEqual(big["maxrss_kib"], 64 * 1024)
        self.assertLess(big["maxrss_kib"], 64 * 1024 + 48 * 1024)
        self.assertEqual(big["result"]["workload"], "tlb")

    def test_cpu_and_wall_time(self):
        r = proc.run(MEASURE, ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 0.2"])
        self.assertGreaterEqual(r["wall_s"], 0.2)
        self.assertGreater(r["cpu_s"], 0.0)
        self.assertAlmostEqual(r["cpu_s"], r["user_s"] + r["sys_s"])

    def test_exit_status_and_signals(self):
        self.assertEqual(proc.run(MEASURE, ["false"])["rc"], 1)
        self.assertEqual(proc.run(MEASURE, ["sh", "-c", "kill -SEGV $$"])["rc"], -11)

    def test_timeout_kills_the_workload(self):
        r = proc.run(MEASURE, ["sleep", "30"], timeout=0.5)
        self.assertNotEqual(r["rc"], 0)
        self.assertIsNone(r["result"])

    def test_result_line_parsing(self):
        out = "noise\nRESULT workload=tlb ops=12 seconds=0.5 checksum=00ff huge_pct=99.5\nmore\n"
        self.assertEqual(proc.parse_result(out),
                         {"workload": "tlb", "ops": 12, "seconds": 0.5, "checksum": "00ff", "huge_pct": 99.5})
        self.assertIsNone(proc.parse_result("no result here\n"))


if __name__ == "__main__":
    unittest.main()
