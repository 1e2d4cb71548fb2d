// sqlite3 under LD_PRELOAD: a database file built, queried and checked (data/workload.sql).
#include "compare.h"

namespace {

TEST(Preload, SqliteWorkloadGivesTheSameResultsUnderHugemem) {
  REQUIRE_PROGRAM(sqlite, "sqlite3");
  // Each run builds its own database file from the same script.
  ScratchDir glibc_dir, hugemem_dir;
  Command glibc{{sqlite, "workload.db"}, PRELOAD_DATA "/workload.sql", glibc_dir.path()};
  Command hugemem = glibc;
  hugemem.cwd = hugemem_dir.path();
  Runs r = run_both(glibc, hugemem);
  EXPECT_NE(r.hugemem.out.find("45455|"), std::string::npos) << "50000 rows less every 11th:\n" << r.hugemem.out;
  EXPECT_NE(r.hugemem.out.rfind("ok\n"), std::string::npos) << "integrity_check";

  // The file written under hugemem reads back under glibc with the same contents.
  const char* query = "SELECT count(*), sum(price), total(length(note)), group_concat(name) FROM items";
  Result a = run(Command{{sqlite, (hugemem_dir / "workload.db").string(), query}}, false);
  Result b = run(Command{{sqlite, (glibc_dir / "workload.db").string(), query}}, false);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_TRUE(a.out == b.out);
}

}  // namespace
