/* hugemem pktpool, the C API (C99): hm::pkt::Pool and hm::pkt::Mbuf for C drivers.
 *
 * The same pools as the C++ API (include/hugemem/pktpool/pktpool.h, mbuf.h): a pool created
 * here is a hm::pkt::Pool, an hm_mbuf is a hm::pkt::Mbuf (same layout, checked when the library
 * is built), so C and C++ code may share pools and mbufs. The semantics of each function are
 * those of the C++ member it is named after; the comments here say only what differs.
 *
 * Return conventions: functions returning a pointer return NULL on failure (creation sets
 * errno); functions returning int return 0 / HM_PKT_OK on success, or a status (hm_pkt_status)
 * or 0 / 1 for yes / no where said.
 *
 * Link: libhugemem_pktpool.a (a C++ library: link with a C++ compiler driver, or add -lstdc++).
 */
#ifndef HUGEMEM_PKTPOOL_H
#define HUGEMEM_PKTPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hm_pktpool hm_pktpool; /* opaque: a hm::pkt::Pool */

/* Statuses of get / put / alloc_bulk (hm::pkt::Status). */
enum hm_pkt_status {
  HM_PKT_OK = 0,
  HM_PKT_EXHAUSTED = 1, /* not enough free elements (nothing was taken) */
  HM_PKT_DOUBLE_PUT = 2, /* debug mode: an element put back that was not out */
  HM_PKT_FOREIGN = 3, /* debug mode: not an element of this pool */
  HM_PKT_INVALID = 4 /* more than the pool holds */
};
const char* hm_pkt_status_name(int status);

/* Backings, best first (Config::best); IOVA modes; debug modes. */
enum hm_pkt_backing { HM_PKT_HUGE1G = 0, HM_PKT_HUGE2M = 1, HM_PKT_THP = 2, HM_PKT_SMALL = 3 };
const char* hm_pkt_backing_name(int backing);
enum hm_pkt_iova_mode { HM_PKT_IOVA_VA = 0, HM_PKT_IOVA_PA = 1 };
enum hm_pkt_debug { HM_PKT_DEBUG_OFF = 0, HM_PKT_DEBUG_REPORT = 1, HM_PKT_DEBUG_ABORT = 2 };

typedef struct hm_pktpool_config {
  const char* name;    /* labels the mapping and the messages; "pktpool" when NULL */
  uint32_t count;      /* elements, >= 1 */
  uint32_t elt_size;   /* raw pools: bytes per element; 0: an mbuf pool */
  uint16_t headroom;   /* mbuf pools (128 by default) */
  uint16_t data_room;  /* mbuf pools (2048 by default) */
  uint16_t priv_size;  /* mbuf pools: private area per mbuf, a multiple of 8 */
  uint32_t cache_size; /* per-thread cache, objects (256 by default; 0: none) */
  int node;            /* NUMA node, -1: none */
  int best;            /* enum hm_pkt_backing: the best backing tried (HM_PKT_HUGE1G) */
  int iova_mode;       /* enum hm_pkt_iova_mode */
  int debug;           /* enum hm_pkt_debug */
  /* Run once per element at creation, in index order (an mbuf's header is set up by then). */
  void (*obj_init)(hm_pktpool* pool, void* obj, uint32_t index, void* arg);
  void* obj_init_arg;
} hm_pktpool_config;

/* Fills *c with the C++ API's defaults (count 0: set it). */
void hm_pktpool_config_init(hm_pktpool_config* c);
/* NULL with errno set: EINVAL, ENOMEM, EPERM / ENOTSUP (IOVA PA without root / hugetlb). */
hm_pktpool* hm_pktpool_create(const hm_pktpool_config* c);
void hm_pktpool_destroy(hm_pktpool* p); /* every element must be back; NULL: nothing */
hm_pktpool* hm_pktpool_lookup(const char* name);
void hm_pktpool_dump(const hm_pktpool* p, FILE* f);

int hm_pktpool_get_bulk(hm_pktpool* p, void** objs, uint32_t n); /* all or nothing */
int hm_pktpool_put_bulk(hm_pktpool* p, void* const* objs, uint32_t n);
void hm_pktpool_flush_cache(hm_pktpool* p);

const char* hm_pktpool_name(const hm_pktpool* p);
uint32_t hm_pktpool_count(const hm_pktpool* p);
size_t hm_pktpool_elt_size(const hm_pktpool* p);
void* hm_pktpool_element(const hm_pktpool* p, size_t index);
int hm_pktpool_backing(const hm_pktpool* p); /* enum hm_pkt_backing: what it got */
int hm_pktpool_node(const hm_pktpool* p);
int hm_pktpool_cached(const hm_pktpool* p); /* 1 when threads get caches */
uint64_t hm_pktpool_iova_of(const hm_pktpool* p, const void* addr);

/* One IOVA-contiguous range of the pool (what VFIO maps). */
typedef struct hm_pktpool_chunk {
  void* va;
  size_t len;
  uint64_t iova;
} hm_pktpool_chunk;
/* Copies up to max chunks to out; returns how many the pool has. */
size_t hm_pktpool_chunks(const hm_pktpool* p, hm_pktpool_chunk* out, size_t max);

typedef struct hm_pktpool_stats {
  uint64_t get_objs, get_fails, put_objs, refills, flushes, debug_errors;
  uint32_t in_ring, in_caches, in_use, threads;
} hm_pktpool_stats;
void hm_pktpool_stats_get(const hm_pktpool* p, hm_pktpool_stats* s);

/* ---- mbufs ---- */

#define HM_MBUF_NO_PORT 0xffff
#define HM_MBUF_F_INDIRECT (UINT64_C(1) << 62)
#define HM_MBUF_F_EXTERNAL (UINT64_C(1) << 61)

/* hm::pkt::Mbuf, field for field (two cache lines; never allocated by the user). */
typedef struct hm_mbuf {
  void* buf_addr;
  uint64_t buf_iova;
  uint16_t data_off;
  uint16_t refcnt; /* read with hm_mbuf_refcnt_read, change with hm_mbuf_refcnt_update */
  uint16_t nb_segs;
  uint16_t port;
  uint32_t pkt_len;
  uint16_t data_len;
  uint16_t buf_len;
  struct hm_mbuf* next;
  hm_pktpool* pool;
  uint64_t ol_flags;
  uint32_t packet_type;
  uint32_t hash;
  uint64_t tx_offload;
  uint16_t vlan_tci;
  uint16_t vlan_tci_outer;
  uint32_t user32;
  uint64_t user64[5];
  void* shinfo;
} hm_mbuf;

/* hm::pkt::ExtShared: an external buffer's users and its free callback. */
typedef struct hm_mbuf_ext_shared {
  void (*free_cb)(void* buf, void* opaque);
  void* opaque;
  uint16_t refcnt; /* 1 before the first hm_mbuf_attach_extbuf */
} hm_mbuf_ext_shared;

hm_mbuf* hm_mbuf_alloc(hm_pktpool* p);
int hm_mbuf_alloc_bulk(hm_pktpool* p, hm_mbuf** ms, uint32_t n);
void hm_mbuf_free(hm_mbuf* m);
void hm_mbuf_free_seg(hm_mbuf* m);
void hm_mbuf_free_bulk(hm_mbuf* const* ms, uint32_t n);

/* Data operations: NULL / 0 and nothing changed when the room or the data is not there. */
char* hm_mbuf_prepend(hm_mbuf* m, uint16_t len);
char* hm_mbuf_append(hm_mbuf* m, uint16_t len);
char* hm_mbuf_adj(hm_mbuf* m, uint16_t len);
int hm_mbuf_trim(hm_mbuf* m, uint16_t len); /* 1: done, 0: not enough data */
int hm_mbuf_chain(hm_mbuf* head, hm_mbuf* tail); /* 1: done, 0: too many segments */

static inline void* hm_mbuf_mtod(const hm_mbuf* m) { return (char*)m->buf_addr + m->data_off; }
static inline uint64_t hm_mbuf_data_iova(const hm_mbuf* m) { return m->buf_iova + m->data_off; }
static inline uint16_t hm_mbuf_headroom(const hm_mbuf* m) { return m->data_off; }
static inline uint16_t hm_mbuf_tailroom(const hm_mbuf* m) {
  return (uint16_t)(m->buf_len - m->data_off - m->data_len);
}
static inline void* hm_mbuf_priv(hm_mbuf* m) { return (char*)m + sizeof(hm_mbuf); }
uint16_t hm_mbuf_priv_size(const hm_mbuf* m);
uint16_t hm_mbuf_refcnt_read(const hm_mbuf* m);
uint16_t hm_mbuf_refcnt_update(hm_mbuf* m, int16_t v); /* atomic; returns the new count */

/* Indirect and external buffers: 1 / 0 for done / refused (nothing changed). */
hm_mbuf* hm_mbuf_clone(hm_mbuf* m, hm_pktpool* p);
int hm_mbuf_attach(hm_mbuf* mi, hm_mbuf* m);
int hm_mbuf_detach(hm_mbuf* m); /* 1: that was the last reference on the buffer */
hm_mbuf* hm_mbuf_direct(const hm_mbuf* m); /* NULL unless indirect */
int hm_mbuf_attach_extbuf(hm_mbuf* m, void* buf, uint64_t iova, uint16_t len, hm_mbuf_ext_shared* sh);

hm_mbuf* hm_mbuf_copy(const hm_mbuf* m, hm_pktpool* p, uint32_t off, uint32_t len);
int hm_mbuf_linearize(hm_mbuf* m); /* 1: one segment now, 0: refused */
void hm_mbuf_dump(FILE* f, const hm_mbuf* m, uint32_t dump_len);

#ifdef __cplusplus
}
#endif

#endif /* HUGEMEM_PKTPOOL_H */
