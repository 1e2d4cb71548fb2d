#include "which_malloc.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(HM_MICRO_HUGEMEM)
#include "hugemem/hugemem.h"
#elif defined(HM_MICRO_MIMALLOC)
#include <mimalloc.h>
#elif defined(HM_MICRO_JEMALLOC)
#include <cstdint>
#include <jemalloc/jemalloc.h>
#elif defined(HM_MICRO_TCMALLOC)
#include <gperftools/malloc_extension_c.h>
#endif

namespace {

#if defined(HM_MICRO_HUGEMEM)
constexpr const char* kName = "hugemem";
constexpr const char* kLibrary = "libhugemem.so";
bool owns(void* p) { return hm_owns(p) != 0; }
#elif defined(HM_MICRO_MIMALLOC)
constexpr const char* kName = "mimalloc";
constexpr const char* kLibrary = "libmimalloc.so";
bool owns(void* p) { return mi_is_in_heap_region(p); }
#elif defined(HM_MICRO_JEMALLOC)
constexpr const char* kName = "jemalloc";
constexpr const char* kLibrary = "libjemalloc.so";
// jemalloc has no ownership query; its per-thread byte counter must move by the block's size.
std::uint64_t thread_allocated() {
  std::uint64_t v = 0;
  std::size_t len = sizeof v;
  return mallctl("thread.allocated", &v, &len, nullptr, 0) == 0 ? v : 0;
}
bool owns_after(std::uint64_t before) { return thread_allocated() - before >= 4096; }
#elif defined(HM_MICRO_TCMALLOC)
constexpr const char* kName = "tcmalloc";
constexpr const char* kLibrary = "libtcmalloc_minimal.so";
bool owns(void* p) { return MallocExtension_GetOwnership(p) == MallocExtension_kOwned; }
#else
constexpr const char* kName = "glibc";
constexpr const char* kLibrary = "libc.so";
#endif

// The object file the dynamic linker bound the name "malloc" to.
const char* malloc_library() {
  Dl_info info{};
  void* sym = dlsym(RTLD_DEFAULT, "malloc");
  if (!sym || !dladdr(sym, &info) || !info.dli_fname) return "(unknown)";
  return info.dli_fname;
}

}  // namespace

const char* allocator_name() { return kName; }

bool malloc_is_expected() {
  const char* lib = malloc_library();
  if (!std::strstr(lib, kLibrary)) {
    std::fprintf(stderr, "micro: built for %s, but malloc comes from %s\n", kName, lib);
    return false;
  }
#if defined(HM_MICRO_JEMALLOC)
  std::uint64_t before = thread_allocated();
  void* p = std::malloc(4096);
  bool ok = owns_after(before);
#elif defined(HM_MICRO_HUGEMEM) || defined(HM_MICRO_MIMALLOC) || defined(HM_MICRO_TCMALLOC)
  void* p = std::malloc(4096);
  bool ok = owns(p);
#else
  void* p = std::malloc(4096);
  bool ok = p != nullptr;
#endif
  std::free(p);
  if (!ok) std::fprintf(stderr, "micro: malloc resolves into %s, but %s does not own its blocks\n", lib, kName);
  return ok;
}
