// The mbuf operations that are not on the fast paths: indirect and external buffers, copies,
// linearize, dump.
#include "hugemem/pktpool/mbuf.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>

namespace hm::pkt {

namespace {

// Puts a direct mbuf whose last reference just went back to its pool, restored to the
// free-mbuf invariants (its chain links were dropped when its chain was freed).
void give_back(Mbuf* d) {
  d->next = nullptr;
  d->nb_segs = 1;
  d->refcnt = 1;
  d->pool->put(d);
}

}  // namespace

namespace detail {

void free_other(FreeOthers& o, Mbuf* m) {
  std::uint32_t j = 0;
  while (j < o.pools && o.b[j].pool != m->pool) ++j;
  if (j == o.pools) {
    if (o.pools == kFreePools) {
      --j;
      o.b[j].pool->put_bulk(o.b[j].objs, o.b[j].n);
    } else {
      ++o.pools;
    }
    o.b[j].pool = m->pool;
    o.b[j].n = 0;
  }
  o.b[j].objs[o.b[j].n++] = m;
  if (o.b[j].n == kFreeBatch) {
    o.b[j].pool->put_bulk(o.b[j].objs, kFreeBatch);
    o.b[j].n = 0;
  }
}

void flush_others(FreeOthers& o) {
  for (std::uint32_t j = 0; j < o.pools; ++j)
    if (o.b[j].n) o.b[j].pool->put_bulk(o.b[j].objs, o.b[j].n);
}

}  // namespace detail

bool Mbuf::detach_buf() {
  bool last;
  if (ol_flags & kExternal) {
    auto* sh = static_cast<ExtShared*>(shinfo);
    last = sh->refcnt_update(-1) == 0;
    if (last && sh->free_cb) sh->free_cb(buf_addr, sh->opaque);
  } else {
    auto* d = static_cast<Mbuf*>(shinfo);
    last = d->refcnt_update(-1) == 0;
    if (last) give_back(d);
  }
  // Our own buffer again, empty, as the pool hands it out.
  buf_addr = reinterpret_cast<char*>(this) + sizeof(Mbuf) + pool->priv_size_;
  buf_iova = pool->iova_of(buf_addr);
  buf_len = pool->buf_len_;
  pkt_len -= data_len;
  data_off = std::min(pool->headroom_, buf_len);
  data_len = 0;
  ol_flags &= ~kAttached;
  shinfo = nullptr;
  return last;
}

bool Mbuf::detach(Mbuf* m) {
  if (!m || m->is_direct()) return false;
  return m->detach_buf();
}

bool Mbuf::attach(Mbuf* mi, Mbuf* m) {
  if (!mi || !m || mi == m || !mi->is_direct() || mi->refcnt_read() != 1 || mi->next || !mi->pool->is_mbuf_pool())
    return false;
  std::uint64_t kind;
  void* target;
  if (m->is_external()) {
    auto* sh = static_cast<ExtShared*>(m->shinfo);
    if (sh->refcnt_read() == 0xffff) return false;
    sh->refcnt_update(1);
    kind = kExternal;
    target = sh;
  } else {
    Mbuf* d = m->is_indirect() ? static_cast<Mbuf*>(m->shinfo) : m;
    if (d == mi || d->refcnt_read() == 0xffff) return false;
    d->refcnt_update(1);
    kind = kIndirect;
    target = d;
  }
  mi->buf_addr = m->buf_addr;
  mi->buf_iova = m->buf_iova;
  mi->buf_len = m->buf_len;
  mi->data_off = m->data_off;
  mi->data_len = m->data_len;
  mi->pkt_len = m->data_len;
  mi->nb_segs = 1;
  mi->ol_flags = (mi->ol_flags & ~kAttached) | kind;
  mi->shinfo = target;
  return true;
}

bool Mbuf::attach_extbuf(Mbuf* m, void* buf, std::uint64_t iova, std::uint16_t len, ExtShared* sh) {
  if (!m || !buf || !sh || len == 0 || !m->is_direct() || m->refcnt_read() != 1 || m->next) return false;
  m->buf_addr = buf;
  m->buf_iova = iova;
  m->buf_len = len;
  m->data_off = 0;
  m->data_len = 0;
  m->pkt_len = 0;
  m->nb_segs = 1;
  m->ol_flags |= kExternal;
  m->shinfo = sh;
  return true;
}

void Mbuf::copy_meta(const Mbuf* from) {
  port = from->port;
  ol_flags = (ol_flags & kAttached) | (from->ol_flags & ~kAttached);
  packet_type = from->packet_type;
  hash = from->hash;
  tx_offload = from->tx_offload;
  vlan_tci = from->vlan_tci;
  vlan_tci_outer = from->vlan_tci_outer;
}

Mbuf* Mbuf::clone(Mbuf* m, Pool& p) {
  if (!m || !p.is_mbuf_pool()) return nullptr;
  Mbuf* head = nullptr;
  Mbuf* tail = nullptr;
  for (Mbuf* s = m; s; s = s->next) {
    Mbuf* mi = alloc(p);
    if (!mi || !attach(mi, s)) {
      if (mi) free(mi);
      free(head);
      return nullptr;
    }
    if (tail)
      tail->next = mi;
    else
      head = mi;
    tail = mi;
  }
  head->pkt_len = m->pkt_len;
  head->nb_segs = m->nb_segs;
  head->copy_meta(m);
  return head;
}

Mbuf* Mbuf::copy(const Mbuf* m, Pool& p, std::uint32_t off, std::uint32_t len) {
  if (!m || !p.is_mbuf_pool() || off > m->pkt_len) return nullptr;
  len = std::min(len, m->pkt_len - off);
  Mbuf* head = alloc(p);
  if (!head) return nullptr;
  head->copy_meta(m);
  const Mbuf* s = m;
  std::uint32_t soff = off;
  while (s && soff >= s->data_len && (soff > 0 || s->data_len == 0)) {  // to the byte at off
    soff -= s->data_len;
    s = s->next;
  }
  Mbuf* d = head;
  while (len > 0 && s) {
    if (d->tailroom() == 0) {
      Mbuf* more = alloc(p);
      if (!more || head->nb_segs == 0xffff) {
        free(more);
        free(head);
        return nullptr;
      }
      d->next = more;
      d = more;
      ++head->nb_segs;
    }
    std::uint32_t k = std::min({len, std::uint32_t{s->data_len} - soff, std::uint32_t{d->tailroom()}});
    std::memcpy(d->mtod(d->data_len), s->mtod(soff), k);
    d->data_len = static_cast<std::uint16_t>(d->data_len + k);
    head->pkt_len += k;
    len -= k;
    soff += k;
    if (soff == s->data_len) {
      s = s->next;
      soff = 0;
    }
  }
  return head;
}

bool Mbuf::linearize(Mbuf* m) {
  if (!m->next) return true;
  if (!m->is_direct() || m->refcnt_read() != 1) return false;  // its buffer is not ours to write
  if (m->pkt_len > std::uint32_t{m->data_len} + m->tailroom()) return false;
  char* to = m->mtod(m->data_len);
  for (const Mbuf* s = m->next; s; s = s->next) {
    std::memcpy(to, s->mtod(), s->data_len);
    to += s->data_len;
  }
  Mbuf* rest = m->next;
  m->next = nullptr;
  m->nb_segs = 1;
  m->data_len = static_cast<std::uint16_t>(m->pkt_len);
  free(rest);
  return true;
}

void Mbuf::dump(std::FILE* f, const Mbuf* m, std::uint32_t dump_len) {
  if (!m) {
    std::fprintf(f, "mbuf (null)\n");
    return;
  }
  std::fprintf(f, "mbuf %p: pool '%s', pkt_len %" PRIu32 ", nb_segs %u, port %u, ol_flags 0x%" PRIx64
               ", packet_type 0x%" PRIx32 ", hash 0x%" PRIx32 "\n",
               static_cast<const void*>(m), m->pool ? m->pool->name().c_str() : "?", m->pkt_len, m->nb_segs, m->port,
               m->ol_flags, m->packet_type, m->hash);
  std::uint32_t left = dump_len;
  std::uint32_t i = 0;
  for (const Mbuf* s = m; s; s = s->next, ++i) {
    const char* kind = s->is_indirect() ? "indirect" : s->is_external() ? "external" : "direct";
    std::fprintf(f, "  segment %u at %p: %s, refcnt %u, buf_addr %p, buf_iova 0x%" PRIx64
                 ", buf_len %u, data_off %u, data_len %u",
                 i, static_cast<const void*>(s), kind, s->refcnt_read(), s->buf_addr, s->buf_iova, s->buf_len,
                 s->data_off, s->data_len);
    if (s->is_indirect()) std::fprintf(f, ", direct %p (refcnt %u)", s->shinfo, s->direct()->refcnt_read());
    if (s->is_external()) std::fprintf(f, ", shared %p (refcnt %u)", s->shinfo, s->ext_shared()->refcnt_read());
    std::fprintf(f, "\n");
    std::uint32_t n = std::min<std::uint32_t>(left, s->data_len);
    const auto* d = s->mtod<const unsigned char>();
    for (std::uint32_t o = 0; o < n; o += 16) {
      std::fprintf(f, "    %04x:", o);
      for (std::uint32_t j = o; j < o + 16 && j < n; ++j) std::fprintf(f, " %02x", d[j]);
      std::fprintf(f, "\n");
    }
    left -= n;
  }
}

}  // namespace hm::pkt
