#include <cstdio>

#include <hugemem/hugemem.h>

int main() {
  void* p = hm_malloc(4096);
  int ok = p && hm_owns(p) && hm_version() == HUGEMEM_VERSION;
  hm_free(p);
  std::printf("parent_app %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
