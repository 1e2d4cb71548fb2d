/* hugemem: the embedding API. These functions are the allocator itself, without overriding
 * the system malloc: link libhugemem.a (or libhugemem.so) and call hm_* directly.
 * libhugemem.so additionally exports malloc, free, ... and C++ operator new/delete, so that
 * LD_PRELOAD=libhugemem.so replaces the system allocator for a whole program.
 *
 * Contracts (the same as the C/POSIX functions they mirror):
 *  - every pointer returned is aligned to at least 16 bytes (alignof(max_align_t)), whatever
 *    the size: the smallest size class is 16 bytes;
 *  - on failure the functions return NULL with errno = ENOMEM (EINVAL where POSIX says so for
 *    bad alignments); hm_posix_memalign returns the error code and leaves errno alone;
 *  - hm_free(NULL) does nothing; hm_free of a pointer hugemem did not return, or one already
 *    freed, is reported on stderr ("hugemem: ...") and aborts: it never corrupts silently;
 *  - hm_free and hm_free_sized preserve errno.
 */
#ifndef HUGEMEM_HUGEMEM_H
#define HUGEMEM_HUGEMEM_H

#include <stddef.h>

#include "hugemem/version.h"

#ifdef __cplusplus
#define HM_NOTHROW noexcept
extern "C" {
#else
#define HM_NOTHROW
#endif

void* hm_malloc(size_t size) HM_NOTHROW;
void* hm_calloc(size_t count, size_t size) HM_NOTHROW;
void* hm_realloc(void* p, size_t size) HM_NOTHROW;
void* hm_reallocarray(void* p, size_t count, size_t size) HM_NOTHROW;
void hm_free(void* p) HM_NOTHROW;
/* free with the size (and alignment) the block was requested with; a wrong size is reported. */
void hm_free_sized(void* p, size_t size) HM_NOTHROW;
void hm_free_aligned_sized(void* p, size_t alignment, size_t size) HM_NOTHROW;

void* hm_memalign(size_t alignment, size_t size) HM_NOTHROW;
int hm_posix_memalign(void** out, size_t alignment, size_t size) HM_NOTHROW;
void* hm_aligned_alloc(size_t alignment, size_t size) HM_NOTHROW;
void* hm_valloc(size_t size) HM_NOTHROW;
void* hm_pvalloc(size_t size) HM_NOTHROW;

/* Bytes usable at p (>= the size requested); 0 for NULL. */
size_t hm_usable_size(const void* p) HM_NOTHROW;
/* Returns free memory to the OS now; 1 if anything was released. */
int hm_trim(size_t pad) HM_NOTHROW;

/* Statistics. Three measures of memory are kept apart:
 *  - reserved:  address space hugemem has mapped (arenas are 1 GiB reservations, mostly never
 *               touched); it costs no RAM and is not "memory in use";
 *  - committed: the part of it hugemem has handed out or still holds after a free (pages in
 *               blocks, free pages not yet given back, large mappings): what may be in RAM;
 *  - resident:  the part that is in RAM now, as the kernel reports it (mincore over hugemem's
 *               mappings, metadata included); the cost of this figure is one pass over them.
 * allocated <= active <= committed <= reserved, and resident <= reserved.
 * Arenas on hugetlb pages (HUGEMEM_PAGES=1g or 2m) take all their pages from the kernel's pool
 * when they are mapped: bytes_by_backing shows those; committed still counts what is in use.
 * Reading the statistics never slows an allocation: the counters are per thread and the reader
 * sums them. */
struct hm_stats {
  size_t allocated;      /* bytes in live blocks handed out (usable sizes) */
  size_t active;         /* bytes in slabs and large blocks holding live objects */
  size_t mapped;         /* = reserved (kept for older readers) */
  size_t resident_free;  /* free bytes in arenas not yet given back (part of committed) */
  size_t released;       /* bytes given back to the OS since start */
  size_t arenas;         /* arenas mapped now */
  size_t bytes_by_backing[4]; /* arena bytes per backing: 1 GiB, 2 MiB, THP, 4 KiB */
  size_t reserved;       /* address space of arenas and large mappings */
  size_t committed;      /* active + resident_free: what hugemem uses or keeps */
  size_t resident;       /* bytes of hugemem's mappings in RAM now */
};
void hm_get_stats(struct hm_stats* out) HM_NOTHROW;
/* Prints statistics to stderr (malloc_stats). */
void hm_print_stats(void) HM_NOTHROW;
/* Hands the statistics to `out`, one line at a time (each ending in a newline), with `arg`:
 * for programs that route them to their own log. out == NULL prints to stderr. */
typedef void (*hm_output_fn)(const char* line, void* arg);
void hm_stats_print(hm_output_fn out, void* arg) HM_NOTHROW;

/* The version of the library that is loaded: HUGEMEM_VERSION and HUGEMEM_VERSION_STRING as it
 * was built (compare with the macros of hugemem/version.h this program was compiled with). */
int hm_version(void) HM_NOTHROW;
const char* hm_version_string(void) HM_NOTHROW;

/* Reports whether p is a live block owned by hugemem (for embedding tests and debuggers). */
int hm_owns(const void* p) HM_NOTHROW;

#ifdef __cplusplus
}
#endif

#endif /* HUGEMEM_HUGEMEM_H */
