// What a DPDK user reaches for (issue 12): obj_init, the private area, lookup by name, dump,
// indirect mbufs (clone / attach / detach), external buffers, copy, linearize, many cached pools.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "hugemem/pktpool/mbuf.h"
#include "pool_helpers.h"

namespace {

using namespace hm::pkt;
using hm::pkt::test::mbuf_config;
using hm::pkt::test::raw_config;

// What f writes, as a string (open_memstream).
template <class F>
std::string captured(F&& f) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  f(out);
  std::fclose(out);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

Mbuf* packet(Pool& p, std::uint16_t len, unsigned char first) {
  Mbuf* m = Mbuf::alloc(p);
  if (!m) return nullptr;
  auto* d = reinterpret_cast<unsigned char*>(m->append(len));
  for (std::uint16_t i = 0; i < len; ++i) d[i] = static_cast<unsigned char>(first + i);
  return m;
}

std::vector<unsigned char> bytes_of(const Mbuf* m) {
  std::vector<unsigned char> v;
  for (const Mbuf* s = m; s; s = s->next) {
    auto* d = s->mtod<const unsigned char>();
    v.insert(v.end(), d, d + s->data_len);
  }
  return v;
}

// ---- obj_init ----

struct InitLog {
  Pool* seen_pool = nullptr;
  std::vector<int> calls;
  std::vector<void*> objs;
  bool headers_ready = true;
};

TEST(PktApi, ObjInitRunsOnceOnEveryElementInOrder) {
  InitLog log;
  Config cfg = raw_config(1000, 96, 16);
  cfg.obj_init = [](Pool& p, void* obj, std::uint32_t i, void* arg) {
    auto* l = static_cast<InitLog*>(arg);
    l->seen_pool = &p;
    l->calls.push_back(static_cast<int>(i));
    l->objs.push_back(obj);
    std::memcpy(obj, &i, sizeof i);  // stamp: seen after creation
  };
  cfg.obj_init_arg = &log;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  EXPECT_EQ(log.seen_pool, p.get());
  ASSERT_EQ(log.calls.size(), 1000u) << "once per element";
  for (std::uint32_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(log.calls[i], static_cast<int>(i));
    EXPECT_EQ(log.objs[i], p->element(i));
  }
  std::vector<void*> all(1000);
  ASSERT_EQ(p->get_bulk(all.data(), 1000), Status::Ok);
  for (void* o : all) {
    std::uint32_t stamp;
    std::memcpy(&stamp, o, sizeof stamp);
    EXPECT_EQ(stamp, p->index_of(o)) << "every element handed out carries its init";
  }
  EXPECT_EQ(p->put_bulk(all.data(), 1000), Status::Ok);
}

TEST(PktApi, ObjInitOfAnMbufPoolSeesTheHeaderSetUpAndMayFillThePrivateArea) {
  InitLog log;
  Config cfg = mbuf_config(300, 8);
  cfg.priv_size = 16;
  cfg.obj_init = [](Pool& p, void* obj, std::uint32_t i, void* arg) {
    auto* m = static_cast<Mbuf*>(obj);
    auto* l = static_cast<InitLog*>(arg);
    if (m->pool != &p || m->buf_len != p.buf_len() || m->refcnt_read() != 1) l->headers_ready = false;
    std::uint64_t tag = 0xabc00000u + i;
    std::memcpy(m->priv(), &tag, sizeof tag);
    l->calls.push_back(static_cast<int>(i));
  };
  cfg.obj_init_arg = &log;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  EXPECT_TRUE(log.headers_ready);
  EXPECT_EQ(log.calls.size(), 300u);
  std::vector<Mbuf*> all(300);
  ASSERT_EQ(Mbuf::alloc_bulk(*p, all.data(), 300), Status::Ok);
  for (Mbuf* m : all) {
    std::uint64_t tag;
    std::memcpy(&tag, m->priv(), sizeof tag);
    EXPECT_EQ(tag, 0xabc00000u + p->index_of(m)) << "alloc leaves the private area alone";
  }
  Mbuf::free_bulk(all.data(), 300);
}

// ---- the private area ----

TEST(PktApi, PrivateAreaSitsBetweenTheHeaderAndTheBuffer) {
  Config cfg = mbuf_config(16);
  cfg.priv_size = 40;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->priv_size(), 40);
  EXPECT_GE(p->elt_size(), 128u + 40 + 2176);
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->priv_size(), 40);
  EXPECT_EQ(m->priv(), reinterpret_cast<char*>(m) + 128);
  EXPECT_EQ(m->buf_addr, reinterpret_cast<char*>(m) + 128 + 40);
  EXPECT_EQ(m->buf_iova, p->iova_of(m->buf_addr));
  std::memset(m->priv(), 0x5a, 40);
  ASSERT_NE(m->append(2048), nullptr) << "the whole data room is still there";
  EXPECT_EQ(static_cast<unsigned char*>(m->priv())[39], 0x5a) << "the buffer does not overlap it";
  Mbuf::free(m);

  Config bad = mbuf_config(16);
  bad.priv_size = 12;
  errno = 0;
  EXPECT_FALSE(Pool::create(bad)) << "not a multiple of 8";
  EXPECT_EQ(errno, EINVAL);
  Config raw = raw_config(16, 64, 0);
  raw.priv_size = 8;
  EXPECT_FALSE(Pool::create(raw)) << "a raw pool has no private area";
  EXPECT_EQ(errno, EINVAL);
  Config big = mbuf_config(16);
  big.priv_size = 0xfff8;
  auto q = Pool::create(big);  // the header and private area are outside buf_len's 16 bits
  ASSERT_TRUE(q);
  EXPECT_EQ(static_cast<Mbuf*>(q->element(0))->buf_len, 2176);
}

// ---- lookup ----

TEST(PktApi, LookupFindsLivePoolsByName) {
  Config a = raw_config(8, 64, 0);
  a.name = "lookup-a";
  Config b = mbuf_config(8, 0);
  b.name = "lookup-b";
  auto pa = Pool::create(a);
  auto pb = Pool::create(b);
  ASSERT_TRUE(pa && pb);
  EXPECT_EQ(Pool::lookup("lookup-a"), pa.get());
  EXPECT_EQ(Pool::lookup("lookup-b"), pb.get());
  EXPECT_EQ(Pool::lookup("lookup-c"), nullptr);
  EXPECT_EQ(Pool::lookup("lookup-"), nullptr) << "whole names only";
  EXPECT_EQ(Pool::lookup(nullptr), nullptr);
  auto pa2 = Pool::create(a);
  ASSERT_TRUE(pa2);
  EXPECT_EQ(Pool::lookup("lookup-a"), pa.get()) << "the oldest of two with one name";
  pa.reset();
  EXPECT_EQ(Pool::lookup("lookup-a"), pa2.get()) << "a destroyed pool is not found";
  pa2.reset();
  EXPECT_EQ(Pool::lookup("lookup-a"), nullptr);
  EXPECT_EQ(Pool::lookup("lookup-b"), pb.get());
}

// ---- dump ----

TEST(PktApi, DumpDescribesThePoolAndTheMbuf) {
  Config cfg = mbuf_config(64, 16);
  cfg.name = "dump-me";
  cfg.priv_size = 8;
  auto p = Pool::create(cfg);
  ASSERT_TRUE(p);
  Mbuf* m = packet(*p, 20, 0x10);
  Mbuf* tail = packet(*p, 3, 0xa0);
  ASSERT_TRUE(m && tail && m->chain(tail));
  std::string pd = captured([&](std::FILE* f) { p->dump(f); });
  EXPECT_NE(pd.find("pktpool 'dump-me'"), std::string::npos) << pd;
  EXPECT_NE(pd.find("64 elements"), std::string::npos) << pd;
  EXPECT_NE(pd.find("priv 8"), std::string::npos) << pd;
  EXPECT_NE(pd.find("in use 2"), std::string::npos) << pd;
  EXPECT_NE(pd.find("16 objects per thread"), std::string::npos) << pd;
  std::string md = captured([&](std::FILE* f) { Mbuf::dump(f, m, 18); });
  EXPECT_NE(md.find("pool 'dump-me', pkt_len 23, nb_segs 2"), std::string::npos) << md;
  EXPECT_NE(md.find("segment 1"), std::string::npos) << md;
  EXPECT_NE(md.find("0000: 10 11 12"), std::string::npos) << md;
  EXPECT_NE(md.find("0010: 20 21\n"), std::string::npos) << "18 bytes, no more: " << md;
  EXPECT_EQ(md.find(" a0"), std::string::npos) << "the dump stops at dump_len: " << md;
  std::string nd = captured([&](std::FILE* f) { Mbuf::dump(f, nullptr); });
  EXPECT_EQ(nd, "mbuf (null)\n");
  Mbuf::free(m);
  Config raw = raw_config(8, 64, 0);
  raw.name = "dump-raw";
  auto r = Pool::create(raw);
  ASSERT_TRUE(r);
  std::string rd = captured([&](std::FILE* f) { r->dump(f); });
  EXPECT_NE(rd.find("(raw)"), std::string::npos) << rd;
  EXPECT_NE(rd.find("cache: none (cache_size 0)"), std::string::npos) << rd;
}

// ---- indirect mbufs ----

TEST(PktApi, CloneSharesTheBufferAndHoldsAReferenceOnTheDirectMbuf) {
  auto p = Pool::create(mbuf_config(16, 0));
  ASSERT_TRUE(p);
  Mbuf* d = packet(*p, 100, 1);
  ASSERT_NE(d, nullptr);
  d->port = 3;
  d->hash = 0x1234;
  d->ol_flags = 0x10;
  Mbuf* c = Mbuf::clone(d, *p);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_indirect());
  EXPECT_FALSE(c->is_direct());
  EXPECT_TRUE(d->is_direct());
  EXPECT_EQ(c->direct(), d);
  EXPECT_EQ(d->direct(), nullptr);
  EXPECT_EQ(c->mtod(), d->mtod());
  EXPECT_EQ(c->data_iova(), d->data_iova());
  EXPECT_EQ(c->pkt_len, 100u);
  EXPECT_EQ(c->port, 3);
  EXPECT_EQ(c->hash, 0x1234u);
  EXPECT_EQ(c->ol_flags, 0x10u | kIndirect);
  EXPECT_EQ(d->refcnt_read(), 2) << "the reference is on the direct mbuf";
  EXPECT_EQ(c->refcnt_read(), 1);
  EXPECT_EQ(p->stats().in_use, 2u);
  Mbuf::free(d);
  EXPECT_EQ(p->stats().in_use, 2u) << "the clone keeps the direct mbuf's buffer alive";
  EXPECT_EQ(bytes_of(c)[99], 100);
  Mbuf::free(c);
  EXPECT_EQ(p->stats().in_use, 0u) << "the last reference gave both back";
  // Both come back as fresh direct mbufs.
  Mbuf* all[16];
  ASSERT_EQ(Mbuf::alloc_bulk(*p, all, 16), Status::Ok);
  for (Mbuf* m : all) {
    EXPECT_TRUE(m->is_direct());
    EXPECT_EQ(m->buf_addr, reinterpret_cast<char*>(m) + 128);
    EXPECT_EQ(m->buf_len, 2176);
    EXPECT_EQ(m->refcnt_read(), 1);
  }
  Mbuf::free_bulk(all, 16);
}

TEST(PktApi, CloneOfACloneAttachesToTheOriginal) {
  auto p = Pool::create(mbuf_config(16, 4));
  ASSERT_TRUE(p);
  Mbuf* d = packet(*p, 10, 7);
  Mbuf* c1 = Mbuf::clone(d, *p);
  Mbuf* c2 = Mbuf::clone(c1, *p);
  ASSERT_TRUE(d && c1 && c2);
  EXPECT_EQ(c2->direct(), d) << "not the clone";
  EXPECT_EQ(d->refcnt_read(), 3);
  EXPECT_EQ(c1->refcnt_read(), 1);
  EXPECT_EQ(c2->mtod(), d->mtod());
  Mbuf* frees[] = {d, c1};
  Mbuf::free_bulk(frees, 2);
  EXPECT_EQ(d->refcnt_read(), 1);
  EXPECT_EQ(p->stats().in_use, 2u);
  EXPECT_EQ(bytes_of(c2), std::vector<unsigned char>({7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));
  Mbuf::free_bulk(&c2, 1);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktApi, DetachReturningTheLastReferenceGivesTheDirectMbufBack) {
  auto p = Pool::create(mbuf_config(8, 0));
  ASSERT_TRUE(p);
  Mbuf* d = packet(*p, 64, 0);
  Mbuf* mi = Mbuf::alloc(*p);
  ASSERT_TRUE(d && mi);
  ASSERT_TRUE(Mbuf::attach(mi, d));
  EXPECT_EQ(mi->data_len, 64);
  EXPECT_EQ(mi->pkt_len, 64u);
  EXPECT_EQ(d->refcnt_read(), 2);
  EXPECT_FALSE(Mbuf::detach(d)) << "a direct mbuf has nothing to detach";
  Mbuf* mj = Mbuf::alloc(*p);
  ASSERT_TRUE(Mbuf::attach(mj, d));
  EXPECT_FALSE(Mbuf::detach(mj)) << "not the last reference: d is still held";
  EXPECT_TRUE(mj->is_direct());
  EXPECT_EQ(d->refcnt_read(), 2);
  Mbuf::free(mj);
  Mbuf::free(d);  // the user's reference: d stays out for mi
  EXPECT_EQ(p->stats().in_use, 2u);
  EXPECT_TRUE(Mbuf::detach(mi)) << "the last reference";
  EXPECT_EQ(p->stats().in_use, 1u) << "d went back to its pool";
  // mi has its own buffer again, empty, with the pool's headroom.
  EXPECT_TRUE(mi->is_direct());
  EXPECT_EQ(mi->ol_flags & kAttached, 0u);
  EXPECT_EQ(mi->buf_addr, reinterpret_cast<char*>(mi) + 128);
  EXPECT_EQ(mi->buf_iova, p->iova_of(mi->buf_addr));
  EXPECT_EQ(mi->buf_len, 2176);
  EXPECT_EQ(mi->data_off, 128);
  EXPECT_EQ(mi->data_len, 0);
  EXPECT_EQ(mi->pkt_len, 0u);
  EXPECT_FALSE(Mbuf::detach(mi)) << "twice: nothing more to drop";
  EXPECT_FALSE(Mbuf::detach(nullptr));
  ASSERT_NE(mi->append(2048), nullptr);
  Mbuf::free(mi);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktApi, AttachRefusesWhatItCannotDoAndChangesNothing) {
  auto p = Pool::create(mbuf_config(16, 0));
  ASSERT_TRUE(p);
  Mbuf* d = packet(*p, 10, 0);
  Mbuf* mi = Mbuf::alloc(*p);
  Mbuf* other = Mbuf::alloc(*p);
  ASSERT_TRUE(d && mi && other);
  EXPECT_FALSE(Mbuf::attach(d, d)) << "to itself";
  EXPECT_FALSE(Mbuf::attach(nullptr, d));
  EXPECT_FALSE(Mbuf::attach(mi, nullptr));
  mi->refcnt_update(1);
  EXPECT_FALSE(Mbuf::attach(mi, d)) << "a shared mbuf";
  mi->refcnt_update(-1);
  ASSERT_TRUE(mi->chain(other));
  EXPECT_FALSE(Mbuf::attach(mi, d)) << "a chain";
  mi->next = nullptr;
  mi->nb_segs = 1;
  ASSERT_TRUE(Mbuf::attach(mi, d));
  Mbuf* mk = Mbuf::alloc(*p);
  EXPECT_FALSE(Mbuf::attach(mi, other)) << "already attached";
  EXPECT_FALSE(Mbuf::attach(d, mi)) << "to an mbuf attached to itself";
  // The direct mbuf's count at its limit.
  d->refcnt_update(static_cast<std::int16_t>(0xffff - d->refcnt_read()));
  EXPECT_EQ(d->refcnt_read(), 0xffff);
  EXPECT_FALSE(Mbuf::attach(mk, d)) << "the count would wrap";
  EXPECT_EQ(Mbuf::clone(d, *p), nullptr);
  EXPECT_EQ(d->refcnt_read(), 0xffff) << "nothing was taken";
  d->refcnt_update(static_cast<std::int16_t>(2 - 0xffff));
  EXPECT_EQ(d->refcnt_read(), 2);
  EXPECT_EQ(p->stats().in_use, 4u) << "the failed clone gave its mbuf back";
  Mbuf* all[] = {mi, d, other, mk};
  Mbuf::free_bulk(all, 4);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktApi, CloneOfAChainAcrossPoolsAndWhenThePoolRunsShort) {
  auto a = Pool::create(mbuf_config(8, 0));
  auto b = Pool::create(mbuf_config(8, 0));
  auto small = Pool::create(mbuf_config(2, 0));
  ASSERT_TRUE(a && b && small);
  Mbuf* h = packet(*a, 5, 0);
  Mbuf* t1 = packet(*b, 6, 5);
  Mbuf* t2 = packet(*a, 7, 11);
  ASSERT_TRUE(h && t1 && t2 && t1->chain(t2) && h->chain(t1));
  EXPECT_EQ(Mbuf::clone(h, *small), nullptr) << "three segments, two mbufs";
  EXPECT_EQ(small->stats().in_use, 0u);
  EXPECT_EQ(h->refcnt_read(), 1);
  EXPECT_EQ(t1->refcnt_read(), 1);
  Mbuf* c = Mbuf::clone(h, *b);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->nb_segs, 3);
  EXPECT_EQ(c->pkt_len, 18u);
  EXPECT_EQ(bytes_of(c), bytes_of(h));
  EXPECT_EQ(c->next->next->direct(), t2);
  EXPECT_EQ(t1->refcnt_read(), 2);
  Mbuf::free(h);
  EXPECT_EQ(a->stats().in_use, 2u);
  Mbuf* x = nullptr;
  EXPECT_EQ(Mbuf::clone(x, *b), nullptr);
  Mbuf::free(c);
  EXPECT_EQ(a->stats().in_use, 0u);
  EXPECT_EQ(b->stats().in_use, 0u);
}

// ---- external buffers ----

struct ExtLog {
  int calls = 0;
  void* buf = nullptr;
};

TEST(PktApi, ExternalBufferIsFreedByItsCallbackWhenTheLastMbufLetsGo) {
  auto p = Pool::create(mbuf_config(8, 0));
  ASSERT_TRUE(p);
  std::vector<unsigned char> mem(9000);
  ExtLog log;
  ExtShared sh;
  sh.free_cb = [](void* buf, void* opaque) {
    auto* l = static_cast<ExtLog*>(opaque);
    ++l->calls;
    l->buf = buf;
  };
  sh.opaque = &log;
  Mbuf* m = Mbuf::alloc(*p);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(Mbuf::attach_extbuf(m, mem.data(), 0x1000, 0, &sh)) << "empty buffer";
  EXPECT_FALSE(Mbuf::attach_extbuf(m, nullptr, 0x1000, 100, &sh));
  EXPECT_FALSE(Mbuf::attach_extbuf(m, mem.data(), 0x1000, 100, nullptr));
  ASSERT_TRUE(Mbuf::attach_extbuf(m, mem.data(), 0x1000, 9000, &sh));
  EXPECT_TRUE(m->is_external());
  EXPECT_EQ(m->ext_shared(), &sh);
  EXPECT_EQ(m->headroom(), 0);
  EXPECT_EQ(m->tailroom(), 9000);
  char* d = m->append(8000);
  ASSERT_EQ(d, reinterpret_cast<char*>(mem.data()));
  EXPECT_EQ(m->data_iova(10), 0x1000u + 10);
  d[7999] = 42;
  Mbuf* other = Mbuf::alloc(*p);
  EXPECT_FALSE(Mbuf::attach_extbuf(m, mem.data(), 0, 10, &sh)) << "already attached";
  Mbuf* c = Mbuf::clone(m, *p);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_external());
  EXPECT_EQ(sh.refcnt_read(), 2);
  EXPECT_EQ(c->mtod<unsigned char>()[7999], 42);
  Mbuf::free(m);
  EXPECT_EQ(log.calls, 0) << "the clone still uses it";
  EXPECT_EQ(p->stats().in_use, 2u) << "m went back (its own buffer) while the buffer lives on";
  EXPECT_TRUE(Mbuf::detach(c)) << "the last user: the callback ran";
  EXPECT_EQ(log.calls, 1);
  EXPECT_EQ(log.buf, mem.data());
  EXPECT_TRUE(c->is_direct());
  Mbuf* both[] = {c, other};
  Mbuf::free_bulk(both, 2);
  EXPECT_EQ(log.calls, 1);
  EXPECT_EQ(p->stats().in_use, 0u);
}

// ---- copy and linearize ----

Mbuf* three_segments(Pool& p) {
  Mbuf* a = packet(p, 100, 0);
  Mbuf* b = packet(p, 0, 0);  // an empty segment in the middle
  Mbuf* c = packet(p, 50, 100);
  Mbuf* d = packet(p, 30, 150);
  if (!a || !b || !c || !d || !c->chain(d) || !b->chain(c) || !a->chain(b)) return nullptr;
  return a;
}

std::vector<unsigned char> range(unsigned first, unsigned n) {
  std::vector<unsigned char> v;
  for (unsigned i = 0; i < n; ++i) v.push_back(static_cast<unsigned char>(first + i));
  return v;
}

TEST(PktApi, CopyIsADeepCopyOfAnyRangeOfAChain) {
  auto p = Pool::create(mbuf_config(32, 0));
  Config small_cfg = mbuf_config(32, 0);
  small_cfg.data_room = 64;
  small_cfg.headroom = 16;
  auto small = Pool::create(small_cfg);
  ASSERT_TRUE(p && small);
  Mbuf* m = three_segments(*p);
  ASSERT_NE(m, nullptr);
  m->port = 5;
  EXPECT_EQ(m->pkt_len, 180u);
  Mbuf* all = Mbuf::copy(m, *p);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->nb_segs, 1);
  EXPECT_EQ(all->pkt_len, 180u);
  EXPECT_EQ(all->port, 5);
  EXPECT_TRUE(all->is_direct());
  EXPECT_EQ(bytes_of(all), range(0, 180));
  EXPECT_NE(all->mtod(), m->mtod()) << "its own bytes";
  Mbuf* mid = Mbuf::copy(m, *p, 90, 70);  // 90..159: across the empty and third segments
  ASSERT_NE(mid, nullptr);
  EXPECT_EQ(bytes_of(mid), range(90, 70));
  Mbuf* end = Mbuf::copy(m, *p, 170);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(bytes_of(end), range(170, 10)) << "len clipped to the end";
  Mbuf* none = Mbuf::copy(m, *p, 180);
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->pkt_len, 0u) << "from the very end: empty";
  EXPECT_EQ(Mbuf::copy(m, *p, 181), nullptr) << "past the end";
  Mbuf* pieces = Mbuf::copy(m, *small);  // 64 bytes a segment
  ASSERT_NE(pieces, nullptr);
  EXPECT_EQ(pieces->nb_segs, 3);
  EXPECT_EQ(pieces->pkt_len, 180u);
  EXPECT_EQ(bytes_of(pieces), range(0, 180));
  Mbuf* frees[] = {all, mid, end, none, pieces};
  Mbuf::free_bulk(frees, 5);
  EXPECT_EQ(small->stats().in_use, 0u);
  // A pool that runs short: nothing kept.
  std::vector<Mbuf*> hold(30);
  ASSERT_EQ(Mbuf::alloc_bulk(*small, hold.data(), 30), Status::Ok);
  EXPECT_EQ(Mbuf::copy(m, *small), nullptr) << "needs 3, 2 left";
  EXPECT_EQ(small->stats().in_use, 30u);
  Mbuf::free_bulk(hold.data(), 30);
  // A copy of an indirect chain copies the bytes, not the attachment.
  Mbuf* c = Mbuf::clone(m, *p);
  ASSERT_NE(c, nullptr);
  Mbuf* cc = Mbuf::copy(c, *p, 1, 5);
  ASSERT_NE(cc, nullptr);
  EXPECT_TRUE(cc->is_direct());
  EXPECT_EQ(bytes_of(cc), range(1, 5));
  Mbuf* rest[] = {c, cc, m};
  Mbuf::free_bulk(rest, 3);
  EXPECT_EQ(p->stats().in_use, 0u);
}

TEST(PktApi, LinearizeMovesAChainIntoItsFirstSegmentWhenItFits) {
  auto p = Pool::create(mbuf_config(32, 0));
  ASSERT_TRUE(p);
  Mbuf* m = three_segments(*p);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(Mbuf::linearize(m));
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->next, nullptr);
  EXPECT_EQ(m->data_len, 180);
  EXPECT_EQ(m->pkt_len, 180u);
  EXPECT_EQ(bytes_of(m), range(0, 180));
  EXPECT_EQ(p->stats().in_use, 1u) << "the other segments went back";
  EXPECT_TRUE(Mbuf::linearize(m)) << "one segment: nothing to do";
  // Too long for the first segment's tailroom: unchanged.
  Mbuf* big = packet(*p, 2000, 0);
  Mbuf* more = packet(*p, 100, 0);
  ASSERT_TRUE(big && more && big->chain(more));
  EXPECT_FALSE(Mbuf::linearize(big));
  EXPECT_EQ(big->nb_segs, 2);
  EXPECT_EQ(big->data_len, 2000);
  // A shared or indirect first segment is not ours to write.
  Mbuf* s = three_segments(*p);
  ASSERT_NE(s, nullptr);
  s->refcnt_update(1);
  EXPECT_FALSE(Mbuf::linearize(s));
  s->refcnt_update(-1);
  Mbuf* c = Mbuf::clone(s, *p);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(Mbuf::linearize(c));
  EXPECT_EQ(c->nb_segs, 4);
  Mbuf* frees[] = {m, big, s, c};
  Mbuf::free_bulk(frees, 4);
  EXPECT_EQ(p->stats().in_use, 0u);
}

// ---- many pools ----

TEST(PktApi, MoreThanSixtyFourPoolsAreCached) {
  std::vector<std::unique_ptr<Pool>> pools;
  for (int i = 0; i < 200; ++i) {
    pools.push_back(Pool::create(raw_config(8, 64, 4)));
    ASSERT_TRUE(pools.back());
    EXPECT_TRUE(pools.back()->cached()) << "pool " << i;
    void* o;
    ASSERT_EQ(pools.back()->get(&o), Status::Ok);
    EXPECT_EQ(pools.back()->put(o), Status::Ok);
    EXPECT_EQ(pools.back()->thread_stats().get_objs, 1u) << "through this thread's cache";
  }
  auto none = Pool::create(raw_config(8, 64, 0));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->cached());
}

}  // namespace
