/* One heap-misuse program of the catch matrix (scripts/misuse-matrix, docs/hardening.md).
 * SIZE is the block size the program works on (small, medium or large); built at -O0 with
 * -fno-builtin so every call and access happens as written. A program that survives its misuse
 * prints "MISSED" and exits; one whose misuse was made harmless (the chosen block did not come
 * back, no old data was found) prints "PREVENTED" and exits 0; the runner counts a process that
 * dies by a signal before "MISSED", or that prints "PREVENTED", as a catch. */
#ifndef HM_MATRIX_H
#define HM_MATRIX_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SIZE
#define SIZE 24
#endif

static void say(const char* line) {
  fputs(line, stdout);
  fflush(stdout);
  _exit(0);
}
static void missed(void) { say("MISSED\n"); }
static void prevented(void) { say("PREVENTED\n"); }

/* Keeps the compiler from reasoning about a pointer's provenance. */
static void* volatile g_sink;
static char* launder(void* p) {
  g_sink = p;
  return (char*)g_sink;
}

/* After the misuse: allocations and frees of the same size, so a check made on reuse runs. */
static void churn(size_t n) {
  for (int i = 0; i < 16; ++i) {
    char* q = (char*)malloc(n);
    if (!q) return;
    memset(q, 'c', n);
    free(q);
  }
}

/* Whether [p, p + n) holds the secret fill: a whole aligned 8-byte word of it, in the first and
 * last 4 KiB. */
#define SECRET 'S'
static int holds_secret(const char* p, size_t n) {
  uint64_t s;
  memset(&s, SECRET, sizeof s);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    if (i == 4096 && n > 8192) i = (n - 4096) & ~(size_t)7;
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w == s) return 1;
  }
  return 0;
}

#endif
