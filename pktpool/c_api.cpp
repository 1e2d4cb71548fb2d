// The C API (include/hugemem/pktpool.h): thin wrappers over Pool and Mbuf. An hm_pktpool* is a
// Pool*, an hm_mbuf* an Mbuf* (layouts checked below), an hm_mbuf_ext_shared* an ExtShared*.
#include "hugemem/pktpool.h"

#include <cerrno>
#include <cstddef>

#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/pktpool.h"

namespace {

using hm::pkt::ExtShared;
using hm::pkt::Mbuf;
using hm::pkt::Pool;

#define HM_SAME_FIELD(f) \
  static_assert(offsetof(hm_mbuf, f) == offsetof(Mbuf, f) && sizeof(hm_mbuf::f) == sizeof(Mbuf::f), #f)
HM_SAME_FIELD(buf_addr);
HM_SAME_FIELD(buf_iova);
HM_SAME_FIELD(data_off);
HM_SAME_FIELD(refcnt);
HM_SAME_FIELD(nb_segs);
HM_SAME_FIELD(port);
HM_SAME_FIELD(pkt_len);
HM_SAME_FIELD(data_len);
HM_SAME_FIELD(buf_len);
HM_SAME_FIELD(next);
HM_SAME_FIELD(pool);
HM_SAME_FIELD(ol_flags);
HM_SAME_FIELD(packet_type);
HM_SAME_FIELD(hash);
HM_SAME_FIELD(tx_offload);
HM_SAME_FIELD(vlan_tci);
HM_SAME_FIELD(vlan_tci_outer);
HM_SAME_FIELD(user32);
HM_SAME_FIELD(user64);
HM_SAME_FIELD(shinfo);
#undef HM_SAME_FIELD
static_assert(sizeof(hm_mbuf) == sizeof(Mbuf));
static_assert(offsetof(hm_mbuf_ext_shared, free_cb) == offsetof(ExtShared, free_cb) &&
              offsetof(hm_mbuf_ext_shared, opaque) == offsetof(ExtShared, opaque) &&
              offsetof(hm_mbuf_ext_shared, refcnt) == offsetof(ExtShared, refcnt) &&
              sizeof(hm_mbuf_ext_shared) == sizeof(ExtShared));
static_assert(HM_MBUF_F_INDIRECT == hm::pkt::kIndirect && HM_MBUF_F_EXTERNAL == hm::pkt::kExternal &&
              HM_MBUF_NO_PORT == hm::pkt::kNoPort);
static_assert(HM_PKT_INVALID == static_cast<int>(hm::pkt::Status::Invalid) &&
              HM_PKT_EXHAUSTED == static_cast<int>(hm::pkt::Status::Exhausted));
static_assert(HM_PKT_SMALL == static_cast<int>(hm::pkt::Backing::Small) &&
              HM_PKT_HUGE2M == static_cast<int>(hm::pkt::Backing::Huge2M));

Pool* P(hm_pktpool* p) { return reinterpret_cast<Pool*>(p); }
const Pool* P(const hm_pktpool* p) { return reinterpret_cast<const Pool*>(p); }
hm_pktpool* C(Pool* p) { return reinterpret_cast<hm_pktpool*>(p); }
Mbuf* M(hm_mbuf* m) { return reinterpret_cast<Mbuf*>(m); }
const Mbuf* M(const hm_mbuf* m) { return reinterpret_cast<const Mbuf*>(m); }
hm_mbuf* C(Mbuf* m) { return reinterpret_cast<hm_mbuf*>(m); }

struct CInit {
  void (*fn)(hm_pktpool*, void*, std::uint32_t, void*);
  void* arg;
};

}  // namespace

extern "C" {

const char* hm_pkt_status_name(int status) { return hm::pkt::status_name(static_cast<hm::pkt::Status>(status)); }
const char* hm_pkt_backing_name(int backing) {
  if (backing < HM_PKT_HUGE1G || backing > HM_PKT_SMALL) return "?";
  return hm::pkt::backing_name(static_cast<hm::pkt::Backing>(backing));
}

void hm_pktpool_config_init(hm_pktpool_config* c) {
  hm::pkt::Config d;
  c->name = d.name;
  c->count = d.count;
  c->elt_size = d.elt_size;
  c->headroom = d.headroom;
  c->data_room = d.data_room;
  c->priv_size = d.priv_size;
  c->cache_size = d.cache_size;
  c->node = d.node;
  c->best = static_cast<int>(d.best);
  c->iova_mode = static_cast<int>(d.iova);
  c->debug = static_cast<int>(d.debug);
  c->obj_init = nullptr;
  c->obj_init_arg = nullptr;
}

hm_pktpool* hm_pktpool_create(const hm_pktpool_config* c) {
  if (!c || c->best < HM_PKT_HUGE1G || c->best > HM_PKT_SMALL || c->iova_mode < 0 || c->iova_mode > 1 ||
      c->debug < 0 || c->debug > 2) {
    errno = EINVAL;
    return nullptr;
  }
  hm::pkt::Config cfg;
  cfg.name = c->name ? c->name : "pktpool";
  cfg.count = c->count;
  cfg.elt_size = c->elt_size;
  cfg.headroom = c->headroom;
  cfg.data_room = c->data_room;
  cfg.priv_size = c->priv_size;
  cfg.cache_size = c->cache_size;
  cfg.node = c->node;
  cfg.best = static_cast<hm::pkt::Backing>(c->best);
  cfg.iova = static_cast<hm::pkt::IovaMode>(c->iova_mode);
  cfg.debug = static_cast<hm::pkt::Debug>(c->debug);
  CInit init{c->obj_init, c->obj_init_arg};
  if (c->obj_init) {
    cfg.obj_init = [](Pool& p, void* obj, std::uint32_t i, void* arg) {
      auto* ci = static_cast<CInit*>(arg);
      ci->fn(C(&p), obj, i, ci->arg);
    };
    cfg.obj_init_arg = &init;
  }
  return C(Pool::create(cfg).release());
}

void hm_pktpool_destroy(hm_pktpool* p) { delete P(p); }
hm_pktpool* hm_pktpool_lookup(const char* name) { return C(Pool::lookup(name)); }
void hm_pktpool_dump(const hm_pktpool* p, FILE* f) { P(p)->dump(f); }

int hm_pktpool_get_bulk(hm_pktpool* p, void** objs, uint32_t n) { return static_cast<int>(P(p)->get_bulk(objs, n)); }
int hm_pktpool_put_bulk(hm_pktpool* p, void* const* objs, uint32_t n) {
  return static_cast<int>(P(p)->put_bulk(objs, n));
}
void hm_pktpool_flush_cache(hm_pktpool* p) { P(p)->flush_cache(); }

const char* hm_pktpool_name(const hm_pktpool* p) { return P(p)->name().c_str(); }
uint32_t hm_pktpool_count(const hm_pktpool* p) { return P(p)->count(); }
size_t hm_pktpool_elt_size(const hm_pktpool* p) { return P(p)->elt_size(); }
void* hm_pktpool_element(const hm_pktpool* p, size_t index) {
  return index < P(p)->count() ? P(p)->element(index) : nullptr;
}
int hm_pktpool_backing(const hm_pktpool* p) { return static_cast<int>(P(p)->backing()); }
int hm_pktpool_node(const hm_pktpool* p) { return P(p)->node(); }
int hm_pktpool_cached(const hm_pktpool* p) { return P(p)->cached() ? 1 : 0; }
uint64_t hm_pktpool_iova_of(const hm_pktpool* p, const void* addr) { return P(p)->iova_of(addr); }

size_t hm_pktpool_chunks(const hm_pktpool* p, hm_pktpool_chunk* out, size_t max) {
  auto ch = P(p)->chunks();
  for (size_t i = 0; i < ch.size() && i < max; ++i) out[i] = {ch[i].va, ch[i].len, ch[i].iova};
  return ch.size();
}

void hm_pktpool_stats_get(const hm_pktpool* p, hm_pktpool_stats* s) {
  hm::pkt::PoolStats t = P(p)->stats();
  *s = {t.get_objs, t.get_fails, t.put_objs, t.refills, t.flushes, t.debug_errors,
        t.in_ring, t.in_caches, t.in_use, t.threads};
}

hm_mbuf* hm_mbuf_alloc(hm_pktpool* p) { return C(Mbuf::alloc(*P(p))); }
int hm_mbuf_alloc_bulk(hm_pktpool* p, hm_mbuf** ms, uint32_t n) {
  return static_cast<int>(Mbuf::alloc_bulk(*P(p), reinterpret_cast<Mbuf**>(ms), n));
}
void hm_mbuf_free(hm_mbuf* m) { Mbuf::free(M(m)); }
void hm_mbuf_free_seg(hm_mbuf* m) { Mbuf::free_seg(M(m)); }
void hm_mbuf_free_bulk(hm_mbuf* const* ms, uint32_t n) { Mbuf::free_bulk(reinterpret_cast<Mbuf* const*>(ms), n); }

char* hm_mbuf_prepend(hm_mbuf* m, uint16_t len) { return M(m)->prepend(len); }
char* hm_mbuf_append(hm_mbuf* m, uint16_t len) { return M(m)->append(len); }
char* hm_mbuf_adj(hm_mbuf* m, uint16_t len) { return M(m)->adj(len); }
int hm_mbuf_trim(hm_mbuf* m, uint16_t len) { return M(m)->trim(len) ? 1 : 0; }
int hm_mbuf_chain(hm_mbuf* head, hm_mbuf* tail) { return M(head)->chain(M(tail)) ? 1 : 0; }
uint16_t hm_mbuf_priv_size(const hm_mbuf* m) { return M(m)->priv_size(); }
uint16_t hm_mbuf_refcnt_read(const hm_mbuf* m) { return M(m)->refcnt_read(); }
uint16_t hm_mbuf_refcnt_update(hm_mbuf* m, int16_t v) { return M(m)->refcnt_update(v); }

hm_mbuf* hm_mbuf_clone(hm_mbuf* m, hm_pktpool* p) { return C(Mbuf::clone(M(m), *P(p))); }
int hm_mbuf_attach(hm_mbuf* mi, hm_mbuf* m) { return Mbuf::attach(M(mi), M(m)) ? 1 : 0; }
int hm_mbuf_detach(hm_mbuf* m) { return Mbuf::detach(M(m)) ? 1 : 0; }
hm_mbuf* hm_mbuf_direct(const hm_mbuf* m) { return C(M(m)->direct()); }
int hm_mbuf_attach_extbuf(hm_mbuf* m, void* buf, uint64_t iova, uint16_t len, hm_mbuf_ext_shared* sh) {
  return Mbuf::attach_extbuf(M(m), buf, iova, len, reinterpret_cast<ExtShared*>(sh)) ? 1 : 0;
}
hm_mbuf* hm_mbuf_copy(const hm_mbuf* m, hm_pktpool* p, uint32_t off, uint32_t len) {
  return C(Mbuf::copy(M(m), *P(p), off, len));
}
int hm_mbuf_linearize(hm_mbuf* m) { return Mbuf::linearize(M(m)) ? 1 : 0; }
void hm_mbuf_dump(FILE* f, const hm_mbuf* m, uint32_t dump_len) { Mbuf::dump(f, M(m), dump_len); }

}  // extern "C"
