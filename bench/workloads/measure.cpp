// wl_measure <report-file> <program> [args...]: runs the program and writes one line to
// report-file: `rc=<exit status or -signal> wall_s=<s> user_s=<s> sys_s=<s> maxrss_kib=<KiB>`,
// the CPU times and peak RSS being the kernel's rusage of that child (wait4).
//
// Why a launcher: at exec the kernel keeps the larger of the old and the new image's peak RSS
// in ru_maxrss, so a program started straight from the Python harness would report at least
// the harness's own size. Forked from this small process, the floor is this process's size
// (about 1.5 MiB). The child dies with this process (PR_SET_PDEATHSIG), so a harness timeout
// that kills the launcher also ends the workload.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

double seconds(const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }

double monotonic() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <report-file> <program> [args...]\n", argv[0]);
    return 2;
  }
  const double t0 = monotonic();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("wl_measure: fork");
    return 2;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(argv[2], argv + 2);
    std::perror("wl_measure: exec");
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid) {
    std::perror("wl_measure: wait4");
    return 2;
  }
  const double wall = monotonic() - t0;
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::FILE* f = std::fopen(argv[1], "w");
  if (!f) {
    std::perror("wl_measure: report file");
    return 2;
  }
  std::fprintf(f, "rc=%d wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kib=%ld\n", rc, wall, seconds(ru.ru_utime),
               seconds(ru.ru_stime), ru.ru_maxrss);
  std::fclose(f);
  return 0;
}
