// Python 3 under LD_PRELOAD: dicts, big integers, threads and strings (data/workload.py).
#include "compare.h"

namespace {

TEST(Preload, PythonWorkloadPrintsTheSameUnderHugemem) {
  REQUIRE_PROGRAM(python, "python3");
  Command cmd{{python, PRELOAD_DATA "/workload.py"}};
  cmd.env = {"PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1"};
  Runs r = run_both(cmd);
  EXPECT_NE(r.hugemem.out.find("threads (4000,"), std::string::npos) << r.hugemem.out;
}

}  // namespace
