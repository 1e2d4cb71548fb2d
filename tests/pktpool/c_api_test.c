/* The C API (hugemem/pktpool.h) from C99: a pool, mbufs, burst paths, obj_init, the private
 * area, lookup, clone / detach, external buffers, copy, linearize, dump. Built with
 * -std=c99 -pedantic -Werror; exits 0 when every check holds, 1 and the failed line otherwise. */
#include "hugemem/pktpool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                    \
    }                                                                \
  } while (0)

static unsigned inits = 0;
static void init_one(hm_pktpool* p, void* obj, uint32_t index, void* arg) {
  hm_mbuf* m = (hm_mbuf*)obj;
  (void)p;
  *(uint32_t*)hm_mbuf_priv(m) = index;
  *(unsigned*)arg += 1;
}

static int ext_freed = 0;
static void ext_free(void* buf, void* opaque) {
  (void)buf;
  *(int*)opaque += 1;
}

int main(void) {
  hm_pktpool_config c;
  hm_pktpool* p;
  hm_mbuf* ms[32];
  hm_mbuf *m, *tail, *cl, *cp;
  hm_pktpool_stats st;
  hm_pktpool_chunk ch;
  hm_mbuf_ext_shared sh;
  char ext[4096];
  char* d;
  uint32_t i;
  FILE* devnull;

  hm_pktpool_config_init(&c);
  CHECK(c.headroom == 128 && c.data_room == 2048 && c.cache_size == 256 && c.node == -1);
  errno = 0;
  CHECK(hm_pktpool_create(&c) == NULL && errno == EINVAL); /* count 0 */
  c.name = "c-api-test";
  c.count = 256;
  c.cache_size = 32;
  c.best = HM_PKT_THP;
  c.priv_size = 8;
  c.obj_init = init_one;
  c.obj_init_arg = &inits;
  p = hm_pktpool_create(&c);
  CHECK(p != NULL);
  if (!p) return 1;
  CHECK(inits == 256);
  CHECK(hm_pktpool_lookup("c-api-test") == p);
  CHECK(hm_pktpool_lookup("nope") == NULL);
  CHECK(strcmp(hm_pktpool_name(p), "c-api-test") == 0);
  CHECK(hm_pktpool_count(p) == 256);
  CHECK(hm_pktpool_cached(p) == 1);
  CHECK(hm_pktpool_backing(p) == HM_PKT_THP || hm_pktpool_backing(p) == HM_PKT_SMALL);
  CHECK(strcmp(hm_pkt_backing_name(HM_PKT_HUGE2M), "2MiB-hugetlb") == 0);
  CHECK(strcmp(hm_pkt_status_name(HM_PKT_EXHAUSTED), "exhausted") == 0);
  CHECK(hm_pktpool_chunks(p, &ch, 1) == 1 && ch.va == hm_pktpool_element(p, 0));

  /* Bursts. */
  CHECK(hm_mbuf_alloc_bulk(p, ms, 32) == HM_PKT_OK);
  for (i = 0; i < 32; ++i) {
    CHECK(ms[i]->data_off == 128 && ms[i]->data_len == 0 && ms[i]->port == HM_MBUF_NO_PORT);
    CHECK(hm_mbuf_priv_size(ms[i]) == 8);
    CHECK(ms[i]->buf_addr == (char*)ms[i] + sizeof(hm_mbuf) + 8);
    d = hm_mbuf_append(ms[i], 64);
    CHECK(d == (char*)hm_mbuf_mtod(ms[i]));
    memset(d, (int)i, 64);
  }
  hm_pktpool_stats_get(p, &st);
  CHECK(st.in_use == 32);
  hm_mbuf_free_bulk(ms, 32);
  hm_pktpool_stats_get(p, &st);
  CHECK(st.in_use == 0);
  CHECK(hm_mbuf_alloc_bulk(p, ms, 257) == HM_PKT_INVALID);

  /* Chains, clone, detach. */
  m = hm_mbuf_alloc(p);
  tail = hm_mbuf_alloc(p);
  CHECK(m && tail);
  memcpy(hm_mbuf_append(m, 5), "hello", 5);
  memcpy(hm_mbuf_append(tail, 6), " world", 6);
  CHECK(hm_mbuf_chain(m, tail) == 1 && m->nb_segs == 2 && m->pkt_len == 11);
  cl = hm_mbuf_clone(m, p);
  CHECK(cl != NULL && hm_mbuf_direct(cl) == m && hm_mbuf_refcnt_read(m) == 2);
  CHECK((cl->ol_flags & HM_MBUF_F_INDIRECT) != 0);
  cp = hm_mbuf_copy(cl, p, 3, 5);
  CHECK(cp != NULL && cp->pkt_len == 5 && memcmp(hm_mbuf_mtod(cp), "lo wo", 5) == 0);
  hm_mbuf_free(m);
  hm_pktpool_stats_get(p, &st);
  CHECK(st.in_use == 5); /* the clone's two, the direct two, the copy */
  hm_mbuf_free(cl);
  CHECK(hm_mbuf_linearize(cp) == 1);
  hm_mbuf_free(cp);
  hm_pktpool_stats_get(p, &st);
  CHECK(st.in_use == 0);

  m = hm_mbuf_alloc(p);
  tail = hm_mbuf_alloc(p);
  memcpy(hm_mbuf_append(m, 3), "abc", 3);
  memcpy(hm_mbuf_append(tail, 3), "def", 3);
  CHECK(hm_mbuf_chain(m, tail) == 1);
  CHECK(hm_mbuf_linearize(m) == 1 && m->nb_segs == 1 && memcmp(hm_mbuf_mtod(m), "abcdef", 6) == 0);
  cl = hm_mbuf_alloc(p);
  CHECK(hm_mbuf_attach(cl, m) == 1 && hm_mbuf_refcnt_read(m) == 2);
  hm_mbuf_free(m);
  CHECK(hm_mbuf_detach(cl) == 1); /* the last reference: m went back */
  CHECK(hm_mbuf_detach(cl) == 0);
  hm_mbuf_free(cl);

  /* External buffer. */
  sh.free_cb = ext_free;
  sh.opaque = &ext_freed;
  sh.refcnt = 1;
  m = hm_mbuf_alloc(p);
  CHECK(hm_mbuf_attach_extbuf(m, ext, 0x9000, sizeof ext, &sh) == 1);
  CHECK(hm_mbuf_tailroom(m) == sizeof ext && hm_mbuf_data_iova(m) == 0x9000);
  cl = hm_mbuf_clone(m, p);
  CHECK(cl != NULL && sh.refcnt == 2);
  hm_mbuf_free(m);
  CHECK(ext_freed == 0);
  hm_mbuf_free(cl);
  CHECK(ext_freed == 1);

  devnull = fopen("/dev/null", "w");
  if (devnull) {
    hm_pktpool_dump(p, devnull);
    m = hm_mbuf_alloc(p);
    hm_mbuf_dump(devnull, m, 16);
    hm_mbuf_free(m);
    fclose(devnull);
  }
  hm_pktpool_stats_get(p, &st);
  CHECK(st.in_use == 0);
  /* obj_init's stamps survived the whole run. */
  for (i = 0; i < 256; ++i) CHECK(*(uint32_t*)hm_mbuf_priv((hm_mbuf*)hm_pktpool_element(p, i)) == i);
  hm_pktpool_destroy(p);
  CHECK(hm_pktpool_lookup("c-api-test") == NULL);
  if (failures) return 1;
  printf("C API: all checks passed\n");
  return 0;
}
