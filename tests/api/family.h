// The malloc family under test, as function pointers: the same conformance tests run on the
// hm_* API (libhugemem.a beside glibc's malloc) and on the C library's names that
// libhugemem.so overrides. Calls through pointers also keep the compiler from folding away a
// malloc/free pair or assuming what malloc returns.
#pragma once

#include <cstddef>
#include <cstdint>

struct Family {
  void* (*malloc)(std::size_t);
  void* (*calloc)(std::size_t, std::size_t);
  void* (*realloc)(void*, std::size_t);
  void* (*reallocarray)(void*, std::size_t, std::size_t);
  void (*free)(void*);
  void (*cfree)(void*);
  void (*free_sized)(void*, std::size_t);
  void (*free_aligned_sized)(void*, std::size_t, std::size_t);
  void* (*memalign)(std::size_t, std::size_t);
  int (*posix_memalign)(void**, std::size_t, std::size_t);
  void* (*aligned_alloc)(std::size_t, std::size_t);
  void* (*valloc)(std::size_t);
  void* (*pvalloc)(std::size_t);
  std::size_t (*usable_size)(void*);
  int (*trim)(std::size_t);
};

// Both binaries run these tests: their suites carry the family's name (AlignmentHm,
// AlignmentLibc) so that ctest, which names a test by suite and test, keeps them apart.
#define SUITE(name) SUITE_CAT(name, FAMILY)
#define SUITE_CAT(a, b) SUITE_CAT2(a, b)
#define SUITE_CAT2(a, b) a##b

// Defined once per test binary: family_hm.cpp or family_libc.cpp.
extern const Family F;

inline bool is_aligned(const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }

inline constexpr std::size_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
// The largest small-object class and the size above which a block gets its own mapping
// (lib/slab/size_class.h, lib/api/malloc.cpp): the boundaries the tests cross.
inline constexpr std::size_t kSmallMax = 32 * KiB;
inline constexpr std::size_t kDirect = 128 * MiB;
