// hm::pkt::Mbuf: the packet buffer header, after DPDK's rte_mbuf. It sits at the start of every
// element of an mbuf pool (Config::elt_size == 0), followed by its buffer:
//
//   | Mbuf (128 B) | headroom | data ............ | tailroom |
//                  ^buf_addr  ^buf_addr+data_off   ^+data_len        ^buf_addr+buf_len
//
// Invariants:
//  - A free mbuf (in the ring or a cache) has refcnt == 1, next == nullptr, nb_segs == 1, so
//    alloc only writes cache line 0 and free of an unshared single segment writes nothing.
//  - data_off + data_len <= buf_len in every segment; pkt_len and nb_segs are meaningful in the
//    first segment of a chain only and equal the sum of data_len / the number of segments.
//  - buf_iova is the IOVA of buf_addr (the pool's iova_of(buf_addr)), kept in step by set_iova.
//  - Everything alloc, free and the data operations touch is in cache line 0; line 1 belongs
//    to the user (offload metadata, private data) and is not reset by alloc.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt {

inline constexpr std::uint16_t kNoPort = 0xffff;

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
  std::uint64_t user64[6];

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

inline void reset_for_alloc(Mbuf* m, std::uint64_t rearm) {
  std::memcpy(&m->data_off, &rearm, sizeof rearm);  // one store (little-endian layout above)
  m->pkt_len = 0;
  m->data_len = 0;
  m->ol_flags = 0;
  m->packet_type = 0;
}

inline Mbuf* Mbuf::alloc(Pool& p) {
  void* obj;
  if (p.get(&obj) != Status::Ok) return nullptr;
  auto* m = static_cast<Mbuf*>(obj);
  reset_for_alloc(m, p.rearm_);
  return m;
}

inline Status Mbuf::alloc_bulk(Pool& p, Mbuf** ms, std::uint32_t n) {
  detail::Cache* c = p.fast_cache();
  if (__builtin_expect(c && n <= c->len, 1)) {
    // The cache serves it: copy and re-arm in one pass, top of the stack first as get_bulk.
    c->len -= n;
    void* const* from = c->objs + c->len;
    const std::uint64_t rearm = p.rearm_;
    for (std::uint32_t i = 0; i < n; ++i) {
      auto* m = static_cast<Mbuf*>(from[i]);
      reset_for_alloc(m, rearm);
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
    reset_for_alloc(m, p.rearm_);
    ms[i] = m;
  }
  return s;
}

inline bool Mbuf::release_ref() {
  if (__builtin_expect(refcnt_read() == 1, 1)) {
    // Sole owner: no atomic needed. Restore the free-mbuf invariants, writing only what differs.
    if (next) next = nullptr;
    if (nb_segs != 1) nb_segs = 1;
    return true;
  }
  if (refcnt_update(-1) != 0) return false;
  refcnt = 1;
  next = nullptr;
  nb_segs = 1;
  return true;
}

inline void Mbuf::free_seg(Mbuf* m) {
  if (m->release_ref()) m->pool->put(m);
}

inline void Mbuf::free(Mbuf* m) {
  while (m) {
    Mbuf* next = m->next;
    free_seg(m);
    m = next;
  }
}

namespace detail {
// free_bulk's gathering: up to kFreePools pools at once, each with a batch of segments that
// goes back with one put_bulk when full or at the end. A segment of a further pool flushes the
// last batch and takes its place.
inline constexpr std::uint32_t kFreePools = 4, kFreeBatch = 64;
struct FreeBatch {
  Pool* pool;
  std::uint32_t n;
  void* objs[kFreeBatch];
};
}  // namespace detail

inline void Mbuf::free_bulk(Mbuf* const* ms, std::uint32_t n) {
  detail::FreeBatch b[detail::kFreePools];
  std::uint32_t pools = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    for (Mbuf* m = ms[i]; m;) {
      Mbuf* next = m->next;
      if (m->release_ref()) {
        std::uint32_t j = 0;
        while (j < pools && b[j].pool != m->pool) ++j;
        if (__builtin_expect(j == pools, 0)) {
          if (pools == detail::kFreePools) {
            --j;
            b[j].pool->put_bulk(b[j].objs, b[j].n);
          } else {
            ++pools;
          }
          b[j].pool = m->pool;
          b[j].n = 0;
        }
        b[j].objs[b[j].n++] = m;
        if (__builtin_expect(b[j].n == detail::kFreeBatch, 0)) {
          b[j].pool->put_bulk(b[j].objs, detail::kFreeBatch);
          b[j].n = 0;
        }
      }
      m = next;
    }
  }
  for (std::uint32_t j = 0; j < pools; ++j)
    if (b[j].n) b[j].pool->put_bulk(b[j].objs, b[j].n);
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
