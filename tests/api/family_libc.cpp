// The family as a program sees it: the C library's names, which libhugemem.so (linked into this
// binary ahead of libc) defines. override_test.cpp checks that they really resolve there.
#include <malloc.h>
#include <stdlib.h>

#include "family.h"

// Not declared by glibc 2.36's headers (C23 additions; cfree was dropped from them).
extern "C" void free_sized(void*, std::size_t) noexcept;
extern "C" void free_aligned_sized(void*, std::size_t, std::size_t) noexcept;
extern "C" void cfree(void*) noexcept;

const Family F = {
    malloc, calloc, realloc, reallocarray, free, cfree, free_sized, free_aligned_sized,
    memalign, posix_memalign, aligned_alloc, valloc, pvalloc, malloc_usable_size, malloc_trim,
};
