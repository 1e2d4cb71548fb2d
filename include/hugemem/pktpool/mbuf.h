// hm::pkt::Mbuf: the packet buffer header, after DPDK's rte_mbuf. It sits at the start of every
// element of an mbuf pool (Config::elt_size == 0), followed by its private area (priv_size
// bytes, Config::priv_size) and its buffer:
//
//   | Mbuf (128 B) | priv | headroom | data ............ | tailroom |
//                         ^buf_addr  ^buf_addr+data_off   ^+data_len        ^buf_addr+buf_len
//
// Direct, indirect, external (DPDK's three kinds): a direct mbuf uses its own buffer. An
// indirect one (attach / clone) uses a direct mbuf's buffer and holds one reference on that
// direct mbuf, which goes back to its pool when its last reference goes, the indirect ones'
// included. An external one (attach_extbuf) uses a buffer the user owns, shared through an
// ExtShared whose count says how many mbufs use it; its free callback runs when the last one
// lets go. Freeing or detaching an indirect / external mbuf drops its reference and gives it
// back its own buffer.
//
// Invariants:
//  - A free mbuf (in the ring or a cache) has refcnt == 1, next == nullptr, nb_segs == 1, so
//    alloc only writes cache line 0 and free of an unshared single segment writes nothing.
//  - data_off + data_len <= buf_len in every segment; pkt_len and nb_segs are meaningful in the
//    first segment of a chain only and equal the sum of data_len / the number of segments.
//  - buf_iova is the IOVA of buf_addr (the pool's iova_of(buf_addr)), kept in step by set_iova.
//  - Everything alloc, free and the data operations touch is in cache line 0; line 1 belongs
//    to the user (offload metadata, private data) and is not reset by alloc, except `shinfo`,
//    which is meaningful only while ol_flags has kIndirect or kExternal (and read only then).
//  - ol_flags bits kIndirect / kExternal are the pool's (alloc clears them; a free mbuf is
//    always direct); the other bits are the user's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt {

inline constexpr std::uint16_t kNoPort = 0xffff;
// ol_flags bits kept by the pool (DPDK's RTE_MBUF_F_INDIRECT / RTE_MBUF_F_EXTERNAL values).
inline constexpr std::uint64_t kIndirect = std::uint64_t{1} << 62;  // buffer of another mbuf
inline constexpr std::uint64_t kExternal = std::uint64_t{1} << 61;  // buffer the user owns
inline constexpr std::uint64_t kAttached = kIndirect | kExternal;

// The shared state of an external buffer (DPDK's rte_mbuf_ext_shared_info): how many mbufs use
// it and what to call when the last one lets go. It must outlive every mbuf attached to it;
// commonly it sits at the end of the buffer itself.
struct ExtShared {
  void (*free_cb)(void* buf, void* opaque) = nullptr;  // buf: the address given to attach_extbuf
  void* opaque = nullptr;
  std::uint16_t refcnt = 1;  // mbufs attached: 1 for the first attach_extbuf, which adds nothing
  std::uint16_t refcnt_read() const {
    return std::atomic_ref<const std::uint16_t>(refcnt).load(std::memory_order_relaxed);
  }
  std::uint16_t refcnt_update(std::int16_t v) {
    return static_cast<std::uint16_t>(
        std::atomic_ref<std::uint16_t>(refcnt).fetch_add(static_cast<std::uint16_t>(v),
                                                         std::memory_order_acq_rel) + v);
  }
};

struct alignas(kCacheLine) Mbuf {
  // ---- cache line 0 ----
  void* buf_addr;           // the buffer, right after this header
  std::uint64_t buf_iova;   // IOVA of buf_addr
  std::uint16_t data_off;   // data starts at buf_addr + data_off     } "rearm" word: written
  std::uint16_t refcnt;     // references (atomic when shared)          } as one 8-byte store
  std::uint16_t nb_segs;    // segments in the chain (first segment)    } by alloc
  std::uint16_t port;       // input port, kNoPort when none            }
  std::uint32_t pkt_len;    // bytes in the whole chain (first segment)
  std::uint16_t data_len;   // bytes in this segment
  std::uint16_t buf_len;    // headroom + data room, fixed by the pool
  Mbuf* next;               // next segment, nullptr in the last
  Pool* pool;               // owner: free returns the segment here
  std::uint64_t ol_flags;   // offload flags (driver <-> stack)
  std::uint32_t packet_type;
  std::uint32_t hash;       // RSS hash
  // ---- cache line 1: the user's ----
  std::uint64_t tx_offload;
  std::uint16_t vlan_tci;
  std::uint16_t vlan_tci_outer;
  std::uint32_t user32;
  std::uint64_t user64[5];
  void* shinfo;             // indirect: the direct Mbuf; external: its ExtShared (see above)

  Mbuf(const Mbuf&) = delete;
  Mbuf& operator=(const Mbuf&) = delete;

  // ---- alloc / free ----
  // One mbuf with data_off = headroom, no data, refcnt 1; nullptr when the pool is exhausted.
  // Requires p.is_mbuf_pool().
  static Mbuf* alloc(Pool& p);
  // n mbufs or none (Exhausted); each as from alloc. On a cache hit each mbuf is re-armed as
  // its pointer is copied out of the cache (one pass).
  [[nodiscard]] static Status alloc_bulk(Pool& p, Mbuf** ms, std::uint32_t n);
  // Drops one reference to every segment of the chain; a segment whose count reaches zero goes
  // back to its own pool. free(nullptr) does nothing.
  static void free(Mbuf* m);
  // free() of each of ms[0, n) (nullptr entries skipped), in one pass: the segments that go back
  // are gathered per pool (up to 4 pools at a time, 64 segments each) and each pool's batch goes
  // back with one put_bulk, so the chains of a header pool and a payload pool cost two puts,
  // not one per segment (rte_pktmbuf_free_bulk flushes at every change of pool). Chains, shared
  // segments and mixed pools are all allowed.
  static void free_bulk(Mbuf* const* ms, std::uint32_t n);
  // Just this segment (its next is not followed); the caller unlinks it first.
  static void free_seg(Mbuf* m);

  // ---- indirect and external buffers (mbuf.cpp) ----
  bool is_direct() const { return !(ol_flags & kAttached); }
  bool is_indirect() const { return (ol_flags & kIndirect) != 0; }
  bool is_external() const { return (ol_flags & kExternal) != 0; }
  // The direct mbuf whose buffer an indirect mbuf uses; nullptr for the other kinds.
  Mbuf* direct() const { return is_indirect() ? static_cast<Mbuf*>(shinfo) : nullptr; }
  ExtShared* ext_shared() const { return is_external() ? static_cast<ExtShared*>(shinfo) : nullptr; }
  // Makes `mi` use the buffer of segment `m` (its data: data_off, data_len; pkt_len = data_len)
  // and take one reference on it: on m itself when m is direct, on m's direct mbuf when m is
  // indirect (so a clone of a clone points at the original), on m's ExtShared when m is
  // external. mi must be a direct, unshared (refcnt 1), single-segment mbuf of an mbuf pool,
  // not m. False, changing nothing, when it is not, or when the count is already at 65535.
  static bool attach(Mbuf* mi, Mbuf* m);
  // Makes an attached mbuf use its own buffer again (empty, with the pool's headroom) and drops
  // its reference: true when that was the last one, i.e. the direct mbuf went back to its pool
  // or the external buffer's free_cb ran. A direct mbuf is left as it is (false).
  static bool detach(Mbuf* m);
  // An indirect copy of the chain m from pool p: one new mbuf per segment, attached to it, with
  // m's packet metadata (port, ol_flags but kAttached, packet_type, hash, vlan, tx_offload).
  // nullptr (nothing allocated) when p runs short or p is not an mbuf pool.
  static Mbuf* clone(Mbuf* m, Pool& p);
  // Makes the direct, unshared, single-segment m use [buf, buf+len) at `iova`, with
  // data_off = 0 and no data, sharing it through `sh` (see ExtShared: the first attach adds no
  // reference; clone / attach of m add one each). False, changing nothing, when m is not such
  // an mbuf or len is 0.
  static bool attach_extbuf(Mbuf* m, void* buf, std::uint64_t iova, std::uint16_t len, ExtShared* sh);

  // ---- copies ----
  // A deep copy of bytes [off, off+len) of the chain (len clipped to its end) into new direct
  // mbufs from p, as many segments as it takes, with m's packet metadata. nullptr (nothing
  // allocated) when off > pkt_len, p runs short or p is not an mbuf pool.
  static Mbuf* copy(const Mbuf* m, Pool& p, std::uint32_t off = 0, std::uint32_t len = 0xffffffff);
  // Moves the data of every further segment into the first and frees them: afterwards m is one
  // segment of pkt_len bytes. True at once for a single segment. False, changing nothing, when
  // the first segment lacks the tailroom or its buffer is not writable (shared or attached).
  static bool linearize(Mbuf* m);

  // ---- private area (Config::priv_size bytes after the header) ----
  void* priv() { return reinterpret_cast<char*>(this) + sizeof(Mbuf); }
  std::uint16_t priv_size() const;

  // ---- debugging ----
  // The chain's header and each segment (rte_pktmbuf_dump), with up to dump_len bytes of data
  // in hex.
  static void dump(std::FILE* f, const Mbuf* m, std::uint32_t dump_len = 64);

  // ---- data ----
  template <class T = char>
  T* mtod(std::size_t off = 0) const {
    return reinterpret_cast<T*>(static_cast<char*>(buf_addr) + data_off + off);
  }
  std::uint64_t data_iova(std::size_t off = 0) const { return buf_iova + data_off + off; }
  std::uint16_t headroom() const { return data_off; }
  std::uint16_t tailroom() const { return static_cast<std::uint16_t>(buf_len - data_off - data_len); }
  Mbuf* last_seg() {
    Mbuf* m = this;
    while (m->next) m = m->next;
    return m;
  }
  // Each returns nullptr / false and changes nothing when the room or data is not there.
  char* prepend(std::uint16_t len);  // grows the first segment at the front; the new start
  char* append(std::uint16_t len);   // grows the last segment at the end; the new bytes
  char* adj(std::uint16_t len);      // drops len bytes at the front of the first segment
  bool trim(std::uint16_t len);      // drops len bytes at the end of the last segment
  // Appends the chain `tail` after the last segment; false when nb_segs would pass 65535.
  bool chain(Mbuf* tail);

  // ---- sharing ----
  std::uint16_t refcnt_read() const {
    return std::atomic_ref<const std::uint16_t>(refcnt).load(std::memory_order_relaxed);
  }
  // Adds v (may be negative) and returns the new count.
  std::uint16_t refcnt_update(std::int16_t v) {
    return static_cast<std::uint16_t>(
        std::atomic_ref<std::uint16_t>(refcnt).fetch_add(static_cast<std::uint16_t>(v),
                                                         std::memory_order_acq_rel) + v);
  }

 private:
  friend class Pool;
  Mbuf() = default;
  // True when this segment is to go back to its pool, restored to the free-mbuf invariants.
  bool release_ref();
  // Drops an attached mbuf's reference on the buffer it uses and gives it its own back
  // (mbuf.cpp); true when that was the last reference.
  bool detach_buf();
  void copy_meta(const Mbuf* from);
};

static_assert(sizeof(Mbuf) == 2 * kCacheLine, "mbuf header: two cache lines");
static_assert(offsetof(Mbuf, data_off) == 16 && offsetof(Mbuf, port) == 22, "rearm word layout");
static_assert(offsetof(Mbuf, hash) + sizeof(std::uint32_t) == kCacheLine,
              "alloc/free/data fields in line 0");

// The rearm word of a fresh mbuf: data_off, refcnt = 1, nb_segs = 1, port = kNoPort.
constexpr std::uint64_t rearm_word(std::uint16_t headroom) {
  return std::uint64_t{headroom} | std::uint64_t{1} << 16 | std::uint64_t{1} << 32 |
         std::uint64_t{kNoPort} << 48;
}

// pkt_len = 0, data_len = 0 and the pool's buf_len as one word (a free mbuf is direct: its
// buf_len is the pool's already; writing it lets one store clear both lengths).
constexpr std::uint64_t lens_word(std::uint16_t buf_len) { return std::uint64_t{buf_len} << 48; }
static_assert(offsetof(Mbuf, data_len) == offsetof(Mbuf, pkt_len) + 4 &&
              offsetof(Mbuf, buf_len) == offsetof(Mbuf, pkt_len) + 6, "lengths word layout");

inline void reset_for_alloc(Mbuf* m, std::uint64_t rearm, std::uint64_t lens) {
  std::memcpy(&m->data_off, &rearm, sizeof rearm);  // one store each (little-endian layouts above)
  std::memcpy(&m->pkt_len, &lens, sizeof lens);
  m->ol_flags = 0;
  m->packet_type = 0;
}

inline Mbuf* Mbuf::alloc(Pool& p) {
  void* obj;
  if (p.get(&obj) != Status::Ok) return nullptr;
  auto* m = static_cast<Mbuf*>(obj);
  reset_for_alloc(m, p.rearm_, lens_word(p.buf_len_));
  return m;
}

inline Status Mbuf::alloc_bulk(Pool& p, Mbuf** ms, std::uint32_t n) {
  detail::Cache* c = p.fast_cache();
  if (__builtin_expect(c && n <= c->len, 1)) {
    // The cache serves it: copy and re-arm in one pass, last in first out as get_bulk.
    c->len -= n;
    void* const* from = c->objs + c->len;
    const std::uint64_t rearm = p.rearm_, lens = lens_word(p.buf_len_);
    for (std::uint32_t i = 0; i < n; ++i) {
      auto* m = static_cast<Mbuf*>(from[n - 1 - i]);
      reset_for_alloc(m, rearm, lens);
      ms[i] = m;
    }
    detail::add(c->get_objs, std::uint64_t{n});
    return Status::Ok;
  }
  // get_slow writes void*s; each is read back as void* and stored as Mbuf* (no type punning).
  void** raw = reinterpret_cast<void**>(ms);
  Status s = p.get_slow(raw, n);
  if (s != Status::Ok) return s;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto* m = static_cast<Mbuf*>(raw[i]);
    reset_for_alloc(m, p.rearm_, lens_word(p.buf_len_));
    ms[i] = m;
  }
  return s;
}

inline bool Mbuf::release_ref() {
  if (__builtin_expect(refcnt_read() == 1, 1)) {
    // Sole owner: no atomic needed. Restore the free-mbuf invariants, writing only what differs.
    if (__builtin_expect(ol_flags & kAttached, 0)) detach_buf();
    if (next) next = nullptr;
    if (nb_segs != 1) nb_segs = 1;
    return true;
  }
  if (refcnt_update(-1) != 0) return false;
  refcnt = 1;
  if (ol_flags & kAttached) detach_buf();
  next = nullptr;
  nb_segs = 1;
  return true;
}

inline std::uint16_t Mbuf::priv_size() const { return pool->priv_size_; }

inline void Mbuf::free_seg(Mbuf* m) {
  if (m->release_ref()) m->pool->put(m);
}

inline void Mbuf::free(Mbuf* m) {
  if (!m) return;
  // The common case, one unshared direct segment, in one test and no write to the mbuf (the
  // free-mbuf invariants hold already): its fields are read together, one branch, not four.
  if (__builtin_expect((m->refcnt_read() == 1) & (m->nb_segs == 1) & (m->next == nullptr) &
                           ((m->ol_flags & kAttached) == 0),
                       1)) {
    m->pool->put(m);
    return;
  }
  while (m) {
    Mbuf* next = m->next;
    free_seg(m);
    m = next;
  }
}

namespace detail {
// free_bulk's gathering. The first pool met gets a batch in registers and on the stack, filled in
// the loop; a segment of any other pool goes out of line to `Others`, which keeps a batch for up
// to kFreePools more pools (a further pool flushes the last batch and takes its place). A full
// batch goes back with one put_bulk.
inline constexpr std::uint32_t kFreePools = 3, kFreeBatch = 64;
struct FreeBatch {
  Pool* pool;
  std::uint32_t n;
  void* objs[kFreeBatch];
};
struct FreeOthers {
  std::uint32_t pools;
  FreeBatch b[kFreePools];
};
void free_other(FreeOthers& o, Mbuf* m);  // mbuf.cpp
void flush_others(FreeOthers& o);
}  // namespace detail

inline void Mbuf::free_bulk(Mbuf* const* ms, std::uint32_t n) {
  void* batch[detail::kFreeBatch];
  std::uint32_t k = 0;
  Pool* pool = nullptr;
  detail::FreeOthers others;
  others.pools = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    for (Mbuf* m = ms[i]; m;) {
      Mbuf* next = m->next;
      if (m->release_ref()) {
        if (__builtin_expect(m->pool == pool, 1)) {
          batch[k++] = m;
          if (__builtin_expect(k == detail::kFreeBatch, 0)) {
            pool->put_bulk(batch, k);
            k = 0;
          }
        } else if (!pool) {
          pool = m->pool;
          batch[k++] = m;
        } else {
          detail::free_other(others, m);
        }
      }
      m = next;
    }
  }
  if (k) pool->put_bulk(batch, k);
  if (__builtin_expect(others.pools != 0, 0)) detail::flush_others(others);
}

inline char* Mbuf::prepend(std::uint16_t len) {
  if (len > data_off) return nullptr;
  data_off = static_cast<std::uint16_t>(data_off - len);
  data_len = static_cast<std::uint16_t>(data_len + len);
  pkt_len += len;
  return mtod();
}

inline char* Mbuf::append(std::uint16_t len) {
  Mbuf* last = last_seg();
  if (len > last->tailroom()) return nullptr;
  char* tail = last->mtod(last->data_len);
  last->data_len = static_cast<std::uint16_t>(last->data_len + len);
  pkt_len += len;
  return tail;
}

inline char* Mbuf::adj(std::uint16_t len) {
  if (len > data_len) return nullptr;
  data_off = static_cast<std::uint16_t>(data_off + len);
  data_len = static_cast<std::uint16_t>(data_len - len);
  pkt_len -= len;
  return mtod();
}

inline bool Mbuf::trim(std::uint16_t len) {
  Mbuf* last = last_seg();
  if (len > last->data_len) return false;
  last->data_len = static_cast<std::uint16_t>(last->data_len - len);
  pkt_len -= len;
  return true;
}

inline bool Mbuf::chain(Mbuf* tail) {
  if (std::uint32_t{nb_segs} + tail->nb_segs > 0xffff) return false;
  last_seg()->next = tail;
  nb_segs = static_cast<std::uint16_t>(nb_segs + tail->nb_segs);
  pkt_len += tail->pkt_len;
  return true;
}

}  // namespace hm::pkt
