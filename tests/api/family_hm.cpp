// The family as the embedding API: libhugemem.a's hm_* functions.
#include "family.h"
#include "hugemem/hugemem.h"

const Family F = {
    hm_malloc, hm_calloc, hm_realloc, hm_reallocarray, hm_free, hm_free, hm_free_sized, hm_free_aligned_sized,
    hm_memalign, hm_posix_memalign, hm_aligned_alloc, hm_valloc, hm_pvalloc,
    [](void* p) { return hm_usable_size(p); }, hm_trim,
};
