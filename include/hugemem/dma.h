/* hugemem DMA heaps (C99): the malloc, per-thread slabs and size classes included, serving memory
 * a device can reach, with the device address (IOVA) of any byte found in O(1).
 *
 * A heap's memory comes from 1 GiB arenas of the page layer on hugetlb pages (1 GiB pages
 * preferred, then 2 MiB; never THP or 4 KiB pages). Each arena is mapped for the device when it is
 * created, before any block of it is handed out, and unmapped from the device before its memory
 * goes back to the OS. The arena's own metadata (its first 8 MiB: header, page descriptors,
 * guard) is never mapped for the device; the slab headers between the blocks are, as DPDK's
 * malloc element headers are.
 *
 * The rule for freed memory: stop the device's use of a block (reset the ring, wait for its
 * completion) before hm_dma_free; the block may be handed out again at once, to any thread, by
 * the same heap (never by another heap: an arena belongs to one heap for its life). A heap made
 * with `debug` set poisons every freed block and checks the poison when the block is handed out
 * again: a device write after free is reported ("hugemem: write after free ...") and aborts.
 * Destroying a heap (or trimming it) unmaps arenas from the device first, so a late device write
 * through an old IOVA faults in the IOMMU instead of landing in memory reused by someone else.
 *
 * Threads: every function may be called from any thread, concurrently, except hm_dma_heap_destroy,
 * which requires that no other thread uses the heap or its blocks any more.
 * Errors: NULL (or -1) with errno set; hm_dma_last_error() says what failed and what to do.
 */
#ifndef HUGEMEM_DMA_H
#define HUGEMEM_DMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define HM_DMA_NOTHROW noexcept
extern "C" {
#else
#define HM_DMA_NOTHROW
#endif

typedef struct hm_dma_heap hm_dma_heap;

/* How a heap's arenas become reachable by devices: an IOMMU container (C++: the vfio library's
 * hm::vfio::dma_mapper(container)) or a test's fake. Both calls return 0 on success, -1 on failure. */
typedef struct hm_dma_mapper {
  void* ctx;
  /* Maps [va, va + len) (4 KiB aligned) for device reads and writes; stores the IOVA of va. */
  int (*map)(void* ctx, void* va, size_t len, uint64_t* iova);
  /* Removes that mapping (the same va, len and iova). */
  int (*unmap)(void* ctx, void* va, size_t len, uint64_t iova);
} hm_dma_mapper;

/* Which hugetlb pages a heap's arenas take. */
enum { HM_DMA_PAGES_1G = 0, /* 1 GiB pages, falling back to 2 MiB pages */
       HM_DMA_PAGES_2M = 1  /* 2 MiB pages only */ };

typedef struct hm_dma_heap_config {
  const char* name;            /* for hm_dma_heap_name and messages (copied, up to 31 bytes) */
  const hm_dma_mapper* mapper; /* copied; NULL: IOVA = physical address (root, no IOMMU: the
                                  pages never move, but nothing confines the device) */
  int pages;                   /* HM_DMA_PAGES_1G (default) or HM_DMA_PAGES_2M */
  int node;                    /* NUMA node the memory is bound to; -1 (default): none */
  unsigned max_arenas;         /* arenas (1 GiB each) the heap may map; default 4 */
  int debug;                   /* poison freed blocks and check them on reuse */
} hm_dma_heap_config;

/* The defaults above. */
void hm_dma_heap_config_init(hm_dma_heap_config* c) HM_DMA_NOTHROW;

/* A new heap with its first arena mapped for the device. NULL with errno: ENOMEM (no hugepages for
 * an arena), EIO (the mapper failed), ENOSPC (64 heaps exist), EPERM (physical addresses without
 * root), EINVAL (a bad configuration). */
hm_dma_heap* hm_dma_heap_create(const hm_dma_heap_config* c) HM_DMA_NOTHROW;
/* Frees every block, unmaps every arena from the device, then gives it back to the OS. No thread
 * may use the heap or any of its blocks any more; the device must have stopped using them. */
void hm_dma_heap_destroy(hm_dma_heap* h) HM_DMA_NOTHROW;
/* Gives back (device first) every arena of h that holds no block, except its first. Returns how
 * many. Empty slabs that threads keep for their next allocations keep their arena. */
size_t hm_dma_heap_trim(hm_dma_heap* h) HM_DMA_NOTHROW;
const char* hm_dma_heap_name(const hm_dma_heap* h) HM_DMA_NOTHROW;

typedef struct hm_dma_heap_stats {
  size_t arenas;      /* mapped now */
  size_t page_size;   /* of the first arena: 1 GiB or 2 MiB */
  size_t maps;        /* arenas mapped for the device, since creation */
  size_t unmaps;      /* arenas unmapped from the device, since creation */
} hm_dma_heap_stats;
void hm_dma_heap_get_stats(const hm_dma_heap* h, hm_dma_heap_stats* out) HM_DMA_NOTHROW;

/* The malloc family on heap h. Blocks are 16-byte aligned; hm_dma_memalign takes any power of two
 * (rings: 128 bytes or 4 KiB). NULL with errno ENOMEM when the heap's arenas are full and no
 * other may be mapped (nothing leaks: the heap stays usable); E2BIG when a block of more than
 * 2 MiB cannot be IOVA-contiguous (physical addresses on 2 MiB pages). */
void* hm_dma_malloc(hm_dma_heap* h, size_t n) HM_DMA_NOTHROW;
void* hm_dma_calloc(hm_dma_heap* h, size_t count, size_t size) HM_DMA_NOTHROW;
void* hm_dma_memalign(hm_dma_heap* h, size_t align, size_t n) HM_DMA_NOTHROW;
/* Frees a block of any DMA heap, from any thread. NULL is ignored; anything else that is not a
 * live DMA block (malloc memory, an interior pointer, a second free) is reported, then abort. */
void hm_dma_free(void* p) HM_DMA_NOTHROW;
size_t hm_dma_usable_size(const void* p) HM_DMA_NOTHROW;

/* The device address of the byte at p: any byte of a DMA heap's arenas, or of a packet pool chunk
 * mapped for a device. HM_IOVA_NONE for a pointer that is not DMA memory. O(1): a few loads. */
#define HM_IOVA_NONE UINT64_MAX
uint64_t hm_iova_of(const void* p) HM_DMA_NOTHROW;

/* Where a DMA block lives (for reports). -1 with errno EINVAL when p is not in a DMA heap. */
typedef struct hm_dma_block_info {
  hm_dma_heap* heap;
  size_t page_size;   /* of its arena: 1 GiB or 2 MiB */
  uint64_t iova;      /* of p */
} hm_dma_block_info;
int hm_dma_block_info_of(const void* p, hm_dma_block_info* out) HM_DMA_NOTHROW;

/* The calling thread's last hm_dma_heap_create failure, in words ("" if none). */
const char* hm_dma_last_error(void) HM_DMA_NOTHROW;

#ifdef __cplusplus
}
#endif

#endif /* HUGEMEM_DMA_H */
