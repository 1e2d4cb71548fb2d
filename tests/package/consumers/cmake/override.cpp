// Linked with hugemem::hugemem: malloc, new and the C library's own allocations are hugemem's.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <hugemem/hugemem.h>

int main() {
  void* (*volatile m)(std::size_t) = std::malloc;
  void* p = m(100);
  auto s = std::make_unique<std::string>(1000, 'x');
  char* d = strdup("x");
  Dl_info info{};
  if (!hm_owns(p) || !hm_owns(s.get()) || !hm_owns(s->data()) || !hm_owns(d)) return std::puts("not hugemem's"), 1;
  if (!dladdr(reinterpret_cast<void*>(m), &info) || !std::strstr(info.dli_fname, "libhugemem.so"))
    return std::printf("malloc resolves into %s\n", info.dli_fname ? info.dli_fname : "?"), 1;
  std::free(d);
  std::free(p);
  std::printf("override ok: malloc from %s\n", info.dli_fname);
  return 0;
}
