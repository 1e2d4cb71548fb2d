/* Linked with `pkg-config --libs hugemem` (libhugemem.so): the program's own malloc must be
 * hugemem's. hm_owns() answers for hugemem's heap only, and dladdr names the object that
 * defines the malloc this program calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <hugemem/hugemem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  void* (*volatile m)(size_t) = malloc;
  Dl_info info;
  char* p = (char*)m(100);
  char* q = strdup("strdup is the C library's, its malloc must be hugemem's");
  if (!p || !q) return 1;
  if (!hm_owns(p) || !hm_owns(q)) {
    fprintf(stderr, "malloc did not come from hugemem\n");
    return 1;
  }
  if (!dladdr((void*)m, &info) || !info.dli_fname || !strstr(info.dli_fname, "libhugemem.so")) {
    fprintf(stderr, "malloc resolves into %s\n", info.dli_fname ? info.dli_fname : "?");
    return 1;
  }
  free(q);
  free(p);
  printf("override ok: malloc from %s\n", info.dli_fname);
  return 0;
}
