// Running a real program twice, under glibc's malloc and with libhugemem.so preloaded, and
// comparing the two: same exit status, same output, and proof that the preload took effect.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

struct Command {
  std::vector<std::string> argv;  // argv[0]: an absolute path
  std::string stdin_path;         // empty: /dev/null
  std::filesystem::path cwd;      // empty: inherited
  std::vector<std::string> env;   // extra NAME=value entries, for both runs
  std::chrono::seconds timeout{60};
};

struct Result {
  bool timed_out = false;
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
  std::string out, err;
};

// Runs cmd with HUGEMEM_SHOW_STATS=1 and, when `preload`, LD_PRELOAD=<libhugemem.so> (without
// it, LD_PRELOAD is removed from the environment). stdout and stderr are captured whole.
Result run(const Command& cmd, bool preload);

// An executable by name: /usr/bin, /bin, then $PATH; empty if none.
std::string find_program(const std::string& name);

// A fresh directory under /tmp, removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);

// What libhugemem.so prints at exit under HUGEMEM_SHOW_STATS=1; its presence on stderr proves
// the preloaded allocator served the program.
inline constexpr const char* kStatsMarker = "hugemem: allocated ";

// Skips the calling test when a program is missing.
#define REQUIRE_PROGRAM(var, name)                                                            \
  std::string var = find_program(name);                                                       \
  if (var.empty()) GTEST_SKIP() << name << " is not installed (scripts/deps.sh installs it)"
