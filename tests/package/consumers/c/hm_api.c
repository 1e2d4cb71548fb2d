/* Built by the package test with the C compiler, -std=c99, and nothing but
 * `pkg-config --cflags --libs hugemem-static` against the installed prefix. */
#include <hugemem/hugemem.h>
#include <hugemem/version.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  char* p = (char*)hm_malloc(1000);
  struct hm_stats s;
  if (!p) return 1;
  memset(p, 1, 1000);
  if (!hm_owns(p)) {
    fprintf(stderr, "hm_owns: no\n");
    return 1;
  }
  if (hm_version() != HUGEMEM_VERSION || strcmp(hm_version_string(), HUGEMEM_VERSION_STRING) != 0) {
    fprintf(stderr, "version %d (%s), compiled against %d\n", hm_version(), hm_version_string(), HUGEMEM_VERSION);
    return 1;
  }
  hm_get_stats(&s);
  if (s.allocated < 1000 || s.committed < s.allocated || s.reserved < s.committed) {
    fprintf(stderr, "stats: allocated %zu committed %zu reserved %zu\n", s.allocated, s.committed, s.reserved);
    return 1;
  }
  hm_free(p);
  printf("hm_api ok %s\n", hm_version_string());
  return 0;
}
