// Every HUGEMEM_* option, each in a fresh process (option_probe, which prints what the code is
// using): a good value takes effect; a bad one gives exactly one line on stderr naming the
// option, the value and what it accepts, and the default is used. And the documentation's list
// (docs/options.md) is the code's table (os::options()), name for name, default for default.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "os/env.h"

extern char** environ;

namespace {

struct Result {
  int status = -1;
  std::string out, err;
  std::vector<std::string> err_lines() const {
    std::vector<std::string> v;
    std::istringstream in(err);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs the probe with no HUGEMEM_* variable from this environment, plus `vars`.
Result probe(const std::vector<std::string>& vars) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "HUGEMEM_", 8) != 0) env.emplace_back(*e);
  }
  env.insert(env.end(), vars.begin(), vars.end());
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  char out_path[] = "/tmp/hm_opt_outXXXXXX";
  char err_path[] = "/tmp/hm_opt_errXXXXXX";
  int out = mkstemp(out_path), err = mkstemp(err_path);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    char* argv[] = {const_cast<char*>(HM_OPTION_PROBE), nullptr};
    execve(HM_OPTION_PROBE, argv, envp.data());
    _exit(127);
  }
  Result r;
  waitpid(pid, &r.status, 0);
  close(out);
  close(err);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return r;
}

bool thp_enabled() {
  std::string s = slurp("/sys/kernel/mm/transparent_hugepage/enabled");
  return s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos;
}

// What the probe prints for `name` with nothing set: the table's default, except that the
// backing is 4k on a machine without THP.
std::string code_default(const hm::os::Option& o) {
  if (std::string(o.name) == "HUGEMEM_PAGES" && !thp_enabled()) return "4k";
  return o.fallback;
}

// The probe's "NAME=value" token for an option; "" if it does not print that option.
std::string shown(const std::string& out, const std::string& name) {
  std::size_t at = out.find(name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  return out.substr(at, out.find_first_of(" \n", at) - at);
}

struct Case {
  const char* name;
  const char* good;      // a valid value...
  const char* expect;    // ...and how the probe shows it
  const char* bad;       // an invalid value
};
// SHOW_STATS and VERBOSE act at exit / at start instead of setting a variable the probe reads:
// their cases are below.
const Case kCases[] = {
    {"HUGEMEM_PAGES", "4K", "4k", "banana"},
    {"HUGEMEM_RELEASE_HIGH", "32m", "32m", "lots"},
    {"HUGEMEM_RELEASE_LOW", "1024k", "1m", "-1"},
    {"HUGEMEM_RELEASE_DELAY_MS", "250", "250", "10ms"},
    {"HUGEMEM_ARENA_LIMIT", "8", "8", "many"},
    {"HUGEMEM_SEGREGATE", "off", "0", "banana"},
    {"HUGEMEM_CHECK", "yes", "1", "maybe"},
    {"HUGEMEM_SECURE", "on", "1", "sometimes"},
};

// The one warning line for a bad value.
void expect_one_warning(const Result& r, const std::string& name, const std::string& value, const std::string& fallback) {
  const hm::os::Option* o = hm::os::find_option(name.c_str());
  ASSERT_NE(o, nullptr) << name;
  std::vector<std::string> lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << name << "=" << value << ": stderr was\n" << r.err;
  const std::string& l = lines[0];
  EXPECT_NE(l.find(name + "=\"" + value + "\""), std::string::npos) << l;
  EXPECT_NE(l.find(std::string("accepts ") + o->accepts), std::string::npos) << l;
  EXPECT_NE(l.find("using the default " + fallback), std::string::npos) << l;
}

TEST(Options, EveryOptionHasACase) {
  std::size_t n = 0;
  const hm::os::Option* t = hm::os::options(&n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = t[i].name;
    bool found = name == "HUGEMEM_SHOW_STATS" || name == "HUGEMEM_VERBOSE";
    for (const Case& c : kCases) found = found || name == c.name;
    EXPECT_TRUE(found) << name << " is read by the code but not tested here";
  }
}

TEST(Options, DefaultsWithNothingSet) {
  Result r = probe({});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  for (const Case& c : kCases) {
    const hm::os::Option* o = hm::os::find_option(c.name);
    ASSERT_NE(o, nullptr) << c.name << " is not in the table";
    EXPECT_EQ(shown(r.out, c.name), code_default(*o)) << "the table's default for " << c.name << " is not the code's";
  }
}

TEST(Options, GoodValuesTakeEffect) {
  for (const Case& c : kCases) {
    Result r = probe({std::string(c.name) + "=" + c.good});
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "") << c.name << "=" << c.good;
    EXPECT_EQ(shown(r.out, c.name), c.expect) << c.name << "=" << c.good;
    EXPECT_NE(shown(r.out, c.name), code_default(*hm::os::find_option(c.name))) << "a case must differ from the default";
  }
}

TEST(Options, BadValuesWarnOnceAndKeepTheDefault) {
  for (const Case& c : kCases) {
    Result r = probe({std::string(c.name) + "=" + c.bad});
    ASSERT_EQ(r.status, 0);
    std::string def = code_default(*hm::os::find_option(c.name));
    EXPECT_EQ(shown(r.out, c.name), def) << c.name << "=" << c.bad;
    expect_one_warning(r, c.name, c.bad, def);
  }
}

TEST(Options, FlagsAcceptOnlyTheFourPairs) {
  for (const char* v : {"1", "on", "yes", "true", "TRUE", "On", "YES"}) {
    Result r = probe({std::string("HUGEMEM_CHECK=") + v});
    EXPECT_EQ(shown(r.out, "HUGEMEM_CHECK"), "1") << v;
    EXPECT_EQ(r.err, "") << v;
  }
  for (const char* v : {"0", "off", "no", "false", "FALSE"}) {
    Result r = probe({std::string("HUGEMEM_SEGREGATE=") + v});
    EXPECT_EQ(shown(r.out, "HUGEMEM_SEGREGATE"), "0") << v;
    EXPECT_EQ(r.err, "") << v;
  }
  for (const char* v : {"banana", "maybe", "2", "yes please", "onn", " 1", "1 ", "y", "n", "enable"}) {
    Result r = probe({std::string("HUGEMEM_CHECK=") + v});
    EXPECT_EQ(shown(r.out, "HUGEMEM_CHECK"), "0") << "'" << v << "' must not turn the option on";
    expect_one_warning(r, "HUGEMEM_CHECK", v, "0");
  }
}

TEST(Options, SizesAndCountsAreStrict) {
  for (const char* v : {"16", "0x10", "16mb", "1.5g", "16 m", "m", "99999999999999999999999", "17179869184g"}) {
    Result r = probe({std::string("HUGEMEM_RELEASE_HIGH=") + v});
    EXPECT_EQ(shown(r.out, "HUGEMEM_RELEASE_HIGH"), std::string(v) == "16" ? "16" : "16m") << v;
    if (std::string(v) != "16") expect_one_warning(r, "HUGEMEM_RELEASE_HIGH", v, "16m");
  }
  Result r = probe({"HUGEMEM_ARENA_LIMIT=4k"});
  EXPECT_EQ(shown(r.out, "HUGEMEM_ARENA_LIMIT"), "1024") << "a count takes no size suffix";
  expect_one_warning(r, "HUGEMEM_ARENA_LIMIT", "4k", "1024");
}

TEST(Options, EmptyIsUnset) {
  Result r = probe({"HUGEMEM_CHECK=", "HUGEMEM_RELEASE_HIGH="});
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(shown(r.out, "HUGEMEM_CHECK"), "0");
  EXPECT_EQ(shown(r.out, "HUGEMEM_RELEASE_HIGH"), "16m");
}

TEST(Options, ShowStats) {
  Result on = probe({"HUGEMEM_SHOW_STATS=true"});
  EXPECT_NE(on.err.find("hugemem: allocated "), std::string::npos) << on.err;
  EXPECT_NE(on.err.find("hugemem: reserved "), std::string::npos) << on.err;
  Result bad = probe({"HUGEMEM_SHOW_STATS=banana"});
  EXPECT_EQ(bad.err.find("hugemem: allocated "), std::string::npos) << "a bad value must not turn it on";
  expect_one_warning(bad, "HUGEMEM_SHOW_STATS", "banana", "0");
}

TEST(Options, VerbosePrintsTheSettingsInEffectAndTheBacking) {
  Result r = probe({"HUGEMEM_VERBOSE=on", "HUGEMEM_RELEASE_HIGH=32m", "HUGEMEM_PAGES=4k"});
  std::vector<std::string> lines = r.err_lines();
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_EQ(lines[0].rfind("hugemem 0.", 0), 0u) << lines[0];
  // The first line is the settings, each as the probe (the code) sees it.
  for (const Case& c : kCases) EXPECT_EQ(shown(lines[0], c.name), shown(r.out, c.name)) << c.name;
  EXPECT_EQ(shown(lines[0], "HUGEMEM_RELEASE_HIGH"), "32m");
  EXPECT_EQ(shown(lines[0], "HUGEMEM_PAGES"), "4k");
  EXPECT_EQ(shown(lines[0], "HUGEMEM_VERBOSE"), "1");
  EXPECT_NE(lines[1].find("hugemem: machine: THP "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("arenas will use 4KiB"), std::string::npos) << lines[1];
  Result bad = probe({"HUGEMEM_VERBOSE=2"});
  expect_one_warning(bad, "HUGEMEM_VERBOSE", "2", "0");
}

// docs/options.md lists each option as a row of its first table, before any "## " heading:
//   | `NAME` | `default` | accepts | what it does |
TEST(Options, DocumentationListsExactlyTheCodesTable) {
  std::ifstream doc(HM_OPTIONS_DOC);
  ASSERT_TRUE(doc) << HM_OPTIONS_DOC;
  std::map<std::string, std::vector<std::string>> rows;
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("## ", 0) == 0) break;
    if (line.rfind("| `HUGEMEM_", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream in(line.substr(1));
    for (std::string cell; std::getline(in, cell, '|');) {
      std::size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
      cell = b == std::string::npos ? "" : cell.substr(b, e - b + 1);
      if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') cell = cell.substr(1, cell.size() - 2);
      cells.push_back(cell);
    }
    ASSERT_GE(cells.size(), 4u) << line;
    EXPECT_TRUE(rows.emplace(cells[0], cells).second) << cells[0] << " is listed twice";
  }
  std::size_t n = 0;
  const hm::os::Option* t = hm::os::options(&n);
  EXPECT_EQ(rows.size(), n) << "docs/options.md lists " << rows.size() << " options, the code reads " << n;
  for (std::size_t i = 0; i < n; ++i) {
    auto it = rows.find(t[i].name);
    if (it == rows.end()) {
      ADD_FAILURE() << t[i].name << " is not in docs/options.md";
      continue;
    }
    EXPECT_EQ(it->second[1], t[i].fallback) << t[i].name << ": default";
    EXPECT_EQ(it->second[2], t[i].accepts) << t[i].name << ": accepts";
    EXPECT_EQ(it->second[3], t[i].summary) << t[i].name << ": description";
  }
}

}  // namespace
