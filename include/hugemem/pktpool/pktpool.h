// hm::pkt::Pool: a DPDK-style pool of fixed-size elements (raw objects or mbufs) on one
// page-layer region, with a lock-free ring as the shared store and per-thread caches in front.
//
// Words used here:
//  - element: one fixed-size object of the pool, cache-line aligned, at a fixed address for the
//    pool's life. An mbuf pool's element is an Mbuf header (mbuf.h) followed by its buffer.
//  - chunk: a VA range the elements live in whose IOVA is contiguous. Elements never straddle
//    two chunks. In IovaMode::VA the whole region is one chunk (IOVA = VA until set_iova); in
//    IovaMode::PA each hugepage is a chunk whose IOVA is its physical address.
//  - cache: a per-thread, per-pool stack of free elements. The fast paths (get/put) touch only
//    the calling thread's cache: no atomic, no lock. The ring is touched in bulk, when a cache
//    runs empty (refill) or over its flush threshold (flush).
//
// Thread safety: get/put/alloc/free from any number of threads concurrently. create, the
// destructor and set_iova are not concurrent with other use of the same pool.
//
// Accounting: an element is always in exactly one of: the ring, one thread's cache, the user's
// hands. A thread's cache goes back to the ring when the thread exits or calls flush_cache();
// elements in other threads' caches are not available to this thread (DPDK's semantics too).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "hugemem/pktpool/ring.h"

namespace hm::pkt {

class Pool;
struct Mbuf;

// Results of pool operations. Never an exception, never an abort (except Debug::Abort).
enum class Status : int {
  Ok = 0,
  Exhausted,  // not enough free elements for the request (all-or-nothing: nothing was taken)
  DoublePut,  // debug: an element put back that was not out (it was left out)
  Foreign,    // debug: a pointer that is not an element of this pool (it was left out)
  Invalid,    // more requested or put back than the pool holds
};
const char* status_name(Status s);

// What backs a pool's memory, best first: the fallback order of Config::best (the page layer's
// own order; this header does not expose the page layer).
enum class Backing : std::uint8_t {
  Huge1G,  // hugetlb pages of 1 GiB
  Huge2M,  // hugetlb pages of 2 MiB
  THP,     // transparent huge pages (4 KiB pages advised MADV_HUGEPAGE)
  Small,   // plain 4 KiB pages
};
const char* backing_name(Backing b);  // "1GiB-hugetlb", "2MiB-hugetlb", "THP", "4KiB"

// Where IOVAs come from.
enum class IovaMode : std::uint8_t {
  VA,  // IOVA = VA (for an IOMMU, which VFIO programs; set_iova may remap a chunk)
  PA,  // IOVA = physical address from /proc/self/pagemap. Needs root and hugetlb backing
       // (1 GiB / 2 MiB): THP and 4 KiB pages can migrate, so their PAs are not stable.
};

// What the debug mode does on a double put or a foreign object. Both print
// "hugemem pktpool: double put of 0x... (element N) in pool 'NAME'" (or "foreign object") on stderr.
enum class Debug : std::uint8_t {
  Off,     // no checks: the fast path is a few instructions
  Report,  // the bad object is reported and left out; the call returns DoublePut / Foreign
  Abort,   // reported, then abort()
};

struct Config {
  const char* name = "pktpool";  // labels the mapping in /proc/PID/maps and the messages
  std::uint32_t count = 0;       // elements (>= 1)
  // Raw pools: bytes per element (rounded up to a cache line; an element of more than two lines
  // gets an odd number of lines, one more when even, so that the same line of every element
  // spreads over all of the CPU cache's sets). 0 makes an mbuf pool whose elements are an Mbuf
  // header + headroom + data_room bytes of buffer (spread the same way).
  std::uint32_t elt_size = 0;
  std::uint16_t headroom = 128;    // mbuf pools: bytes before the data on alloc
  std::uint16_t data_room = 2048;  // mbuf pools: bytes after the headroom (buf_len = sum < 64 KiB)
  std::uint16_t priv_size = 0;     // mbuf pools: private area between header and buffer, a multiple of 8
  std::uint32_t cache_size = 256;  // per-thread cache target, objects; 0 = no caches; <= kMaxCacheSize
  int node = -1;                   // NUMA node to bind to, one the machine has; -1 = none
  Backing best = Backing::Huge1G;  // best backing tried; falls back to worse ones
  IovaMode iova = IovaMode::VA;
  Debug debug = Debug::Off;
  // Run once on every element at creation, in index order, before the pool hands any out
  // (rte_mempool_obj_iter's callback); for an mbuf pool, after the header is set up.
  void (*obj_init)(Pool& pool, void* obj, std::uint32_t index, void* arg) = nullptr;
  void* obj_init_arg = nullptr;
};

inline constexpr std::uint32_t kMaxCacheSize = 512;
// Pools alive at once that get per-thread caches (a TLS slot each: 16 bytes per thread per
// slot). Further pools work, uncached: cached() says so and dump() says why.
inline constexpr std::uint32_t kMaxCachedPools = 1024;

// One IOVA-contiguous range of the pool (see "chunk" above); what VFIO maps for a device.
struct MemChunk {
  void* va;
  std::size_t len;
  std::uint64_t iova;
};

// Counters of one thread's cache (ThreadStats) or of the whole pool (PoolStats, which adds the
// caches of live and exited threads and the uncached paths). Objects, unless said otherwise.
struct ThreadStats {
  std::uint64_t get_objs = 0;   // handed out
  std::uint64_t get_fails = 0;  // calls that returned Exhausted
  std::uint64_t put_objs = 0;   // taken back
  std::uint64_t refills = 0;    // ring dequeues into the cache (calls)
  std::uint64_t flushes = 0;    // ring enqueues from the cache (calls)
};
struct PoolStats : ThreadStats {
  std::uint64_t debug_errors = 0;  // double puts and foreign objects caught
  std::uint32_t in_ring = 0;       // snapshot: free elements in the ring
  std::uint32_t in_caches = 0;     // snapshot: free elements in threads' caches
  std::uint32_t in_use = 0;        // count - in_ring - in_caches
  std::uint32_t threads = 0;       // threads with a cache now
};

namespace detail {
// A thread's cache for one pool. Written only by its thread; the counters are relaxed atomics
// (plain adds on x86) so that stats() may read them from another thread. Two lines each, so that
// the adjacent-line prefetcher never pairs two threads' caches.
struct alignas(2 * kCacheLine) Cache {
  // Line 0: everything the fast path reads or writes.
  std::uint32_t len = 0;           // free elements in objs[0, len); objs[len-1] is the hottest
  std::uint32_t size = 0;          // target level; requests above it bypass the cache
  std::uint32_t flush_thresh = 0;  // size * 3/2: a put that would go above flushes the cache
  void** objs = nullptr;           // 2 * size slots (a miss of n <= size refills to n + size)
  std::atomic<std::uint64_t> get_objs{0}, put_objs{0};
  // Slow path only.
  std::atomic<std::uint64_t> get_fails{0}, refills{0}, flushes{0};
  Cache* next_free = nullptr;  // pool's list of caches whose thread has exited
};
static_assert(offsetof(Cache, put_objs) + sizeof(std::uint64_t) <= kCacheLine,
              "the fast path touches one line");

// The calling thread's cache of each cached pool, by pool id. `epoch` tells a live pool from
// an earlier pool that had the same id: epochs are never reused. initial-exec TLS: one
// fs-relative load (pktpool is linked into executables, not dlopen'ed).
struct TlsSlot {
  std::uint64_t epoch;
  Cache* cache;
};
struct ThreadExit;  // gives a thread's caches back when it exits (cache.cpp)
extern constinit thread_local TlsSlot t_slots[kMaxCachedPools] __attribute__((tls_model("initial-exec")));
// The slot of the pool this thread used last (a copy; epoch 0 matches no pool). The fast paths
// take their cache from here, at a fixed TLS address: the pool pointer only feeds the epoch
// compare, a predicted branch. Mbuf::free finds its pool through the mbuf it frees; indexing
// t_slots by that pool's id would put three dependent loads between the mbuf and the store
// that frees it, on the critical path of every alloc/free.
extern constinit thread_local TlsSlot t_hot __attribute__((tls_model("initial-exec")));

// Moves n pointers between a cache and the caller. A put copies in address order; a get hands
// the top n out last-in first-out, objs[len-1] first, as n single gets would (rte_mempool's
// order). LIFO keeps the order in which elements circulate in runs of neighbouring addresses:
// a cache refilled from the ring gets a run in ring order and gives it back reversed, still a
// run, and the run is what the other core frees and flushes back. Copying the top n out in
// address order instead reverses the order of each burst-sized piece but not its contents, so
// every pass of the elements through a cache cuts the runs shorter, until the elements come in
// no order the CPU's prefetchers can follow and each first touch of an mbuf misses (measured:
// pktpool/README.md, "Order").
//
// How: from kWideCopyMin objects on, the widest moves the CPU has. A get of n then loads the
// same groups of bytes that the put of n before it stored, so store-to-load forwarding works
// both ways; the copies are bound by the number of loads and stores, which 32-byte moves halve.
//  - four pointers per 32-byte move (AVX2; a get reverses them with one permute): compiled so
//    when the includer's flags have AVX2, else in inline asm when g_avx2 says the CPU and the OS
//    support it (this header is compiled for baseline x86-64: a call to an out-of-line AVX2
//    copy, measured, cost more at 32 objects than the moves saved). vzeroupper after the asm,
//    so that no SSE code after it pays for dirty upper halves.
//  - else two pointers per 16-byte move (SSE2; a get swaps the halves).
// Below kWideCopyMin, one pointer at a time (pairs were slower at 4, measured).
inline constexpr std::uint32_t kWideCopyMin = 16;
typedef long long ObjPair __attribute__((vector_size(16), may_alias, aligned(8)));
#if defined(__AVX2__)
typedef long long ObjQuad __attribute__((vector_size(32), may_alias, aligned(8)));
inline bool avx2() { return true; }
template <bool kReverse>
inline void copy_quad(void* const* from, void** to) {
  ObjQuad v = *reinterpret_cast<const ObjQuad*>(from);
  if constexpr (kReverse) v = __builtin_shufflevector(v, v, 3, 2, 1, 0);
  *reinterpret_cast<ObjQuad*>(to) = v;
}
inline void end_avx2() {}
#elif defined(__x86_64__)
extern bool g_avx2;  // cache.cpp: set before main when the CPU and the OS support AVX2
inline bool avx2() { return g_avx2; }
struct ObjQuad {  // the asm's memory operands: four pointers, read or written whole
  void* p[4];
};
template <bool kReverse>
inline void copy_quad(void* const* from, void** to) {
  auto& out = *reinterpret_cast<ObjQuad*>(to);
  const auto& in = *reinterpret_cast<const ObjQuad*>(from);
  if constexpr (kReverse)
    asm("vmovdqu %1, %%ymm0\n\tvpermq $0x1b, %%ymm0, %%ymm0\n\tvmovdqu %%ymm0, %0" : "=m"(out) : "m"(in) : "xmm0");
  else
    asm("vmovdqu %1, %%ymm0\n\tvmovdqu %%ymm0, %0" : "=m"(out) : "m"(in) : "xmm0");
}
inline void end_avx2() { asm volatile("vzeroupper"); }
#else
inline bool avx2() { return false; }
template <bool kReverse>
inline void copy_quad(void* const*, void**) {}
inline void end_avx2() {}
#endif

inline void copy_objs(void* const* from, void** to, std::uint32_t n) {
  if (n >= kWideCopyMin) {
    if (avx2()) {
      std::uint32_t quads = n & ~3u;
      for (std::uint32_t i = 0; i < quads; i += 4) copy_quad<false>(from + i, to + i);
      end_avx2();
      from += quads;
      to += quads;
      n -= quads;
    } else {
      std::uint32_t pairs = n & ~1u;
      for (std::uint32_t i = 0; i < pairs; i += 2)
        *reinterpret_cast<ObjPair*>(to + i) = *reinterpret_cast<const ObjPair*>(from + i);
      from += pairs;
      to += pairs;
      n -= pairs;
    }
  }
  for (std::uint32_t i = 0; i < n; ++i) to[i] = from[i];
}
// to[i] = from[n-1-i]: the get's direction (above). The wide moves take the top of `from`;
// what is left is its bottom, from[0, n).
inline void copy_objs_lifo(void* const* from, void** to, std::uint32_t n) {
  if (n >= kWideCopyMin) {
    if (avx2()) {
      std::uint32_t quads = n & ~3u;
      for (std::uint32_t i = 0; i < quads; i += 4) copy_quad<true>(from + n - 4 - i, to + i);
      end_avx2();
      to += quads;
      n -= quads;
    } else {
      std::uint32_t pairs = n & ~1u;
      for (std::uint32_t i = 0; i < pairs; i += 2) {
        ObjPair v = *reinterpret_cast<const ObjPair*>(from + n - 2 - i);
        *reinterpret_cast<ObjPair*>(to + i) = __builtin_shufflevector(v, v, 1, 0);
      }
      to += pairs;
      n -= pairs;
    }
  }
  for (std::uint32_t i = 0; i < n; ++i) to[i] = from[n - 1 - i];
}

// Adds to a counter only its owner thread writes, that other threads may read: a relaxed load
// and store, which on x86-64 is one non-locked add to memory (the compiler will not fuse the
// atomic pair itself; aligned 8-byte accesses are single-copy atomic there).
inline void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
#if defined(__x86_64__)
  static_assert(sizeof(c) == sizeof(std::uint64_t) && std::atomic<std::uint64_t>::is_always_lock_free);
  asm("addq %1, %0" : "+m"(c) : "er"(n));
#else
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
#endif
}
}  // namespace detail

class Pool {
 public:
  // nullptr with errno set: EINVAL (bad config, or a node the machine lacks), ENOMEM (no
  // memory), EPERM / ENOTSUP (IovaMode::PA without root / without hugetlb pages).
  static std::unique_ptr<Pool> create(const Config& cfg);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // ---- get / put ----
  // All-or-nothing (n == 0 is a no-op). Exhausted when the ring and this thread's cache hold fewer than n.
  [[nodiscard]] Status get(void** obj);
  [[nodiscard]] Status get_bulk(void** objs, std::uint32_t n);
  // Puts back objects obtained from this pool. Ok unless debug catches a bad one.
  Status put(void* obj);
  Status put_bulk(void* const* objs, std::uint32_t n);
  // Gives this thread's cache back to the ring (it is refilled on the next get).
  void flush_cache();

  // ---- elements ----
  std::uint32_t count() const { return count_; }
  std::size_t elt_size() const { return stride_; }  // bytes between elements, a cache-line multiple
  void* element(std::size_t i) const {
    return base_ + (i / per_chunk_ << chunk_shift_) + i % per_chunk_ * stride_;
  }
  // Index of the element starting at p, or npos when p is not one (O(1), divides).
  static constexpr std::size_t npos = ~std::size_t{0};
  std::size_t index_of(const void* p) const;
  bool contains(const void* p) const {
    auto* c = static_cast<const char*>(p);
    return c >= base_ && c < base_ + region_size_;
  }
  template <class F>  // f(void* element, std::size_t index), every element, free or not
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < count_; ++i) f(element(i), i);
  }

  // ---- memory, for DMA ----
  std::span<const MemChunk> chunks() const { return chunks_; }
  // The device sees chunk `chunk` at `iova` from now on: iova_of and the mbufs' buf_iova
  // follow. Call before the chunk's mbufs are handed out (or while none is in flight).
  void set_iova(std::size_t chunk, std::uint64_t iova);
  // IOVA of any address inside the pool's region; O(1): a shift, a load, an add.
  std::uint64_t iova_of(const void* p) const {
    std::size_t off = static_cast<std::size_t>(static_cast<const char*>(p) - base_);
    return chunks_[off >> chunk_shift_].iova + (off & chunk_mask_);
  }

  // ---- what it is ----
  // The live pool of that name (the oldest one when several share it); nullptr when none. Names
  // need not be unique (unlike DPDK's). The pointer is good while that pool lives: destroying a
  // pool is its owner's business, as with rte_mempool_lookup.
  static Pool* lookup(const char* name);
  // Everything below, the chunks and the statistics, in a few lines (rte_mempool_dump).
  void dump(std::FILE* f) const;
  const std::string& name() const { return name_; }
  Backing backing() const { return backing_; }
  int node() const { return node_; }  // the node the memory is bound to (preferred); -1: none
  IovaMode iova_mode() const { return iova_mode_; }
  Debug debug() const { return debug_; }
  bool is_mbuf_pool() const { return buf_len_ != 0; }
  std::uint16_t headroom() const { return headroom_; }
  std::uint16_t buf_len() const { return buf_len_; }  // mbuf pools: headroom + data room
  std::uint16_t priv_size() const { return priv_size_; }  // mbuf pools: private area per mbuf
  std::uint32_t cache_size() const { return cache_size_; }
  // Whether threads get caches: cache_size > 0 and one of the kMaxCachedPools slots was free.
  bool cached() const { return epoch_ != kNoEpoch; }

  // ---- statistics ----
  PoolStats stats() const;
  ThreadStats thread_stats() const;  // the calling thread's cache; zeros when it has none

 private:
  friend struct Mbuf;
  Pool();
  // Creation (pool.cpp): map the region and fill chunks_ and the layout fields.
  bool map_va(const Config& cfg);
  bool map_pa(const Config& cfg);
  void init_mbufs();
  detail::Cache* local_cache() const {
    const detail::TlsSlot& s = detail::t_slots[id_];
    return s.epoch == epoch_ ? s.cache : nullptr;
  }
  // The fast paths' cache: this thread's cache of this pool when the fast path may use it (a
  // cached pool, debug off), else nullptr.
  detail::Cache* fast_cache() {
    const detail::TlsSlot& h = detail::t_hot;
    if (__builtin_expect(h.epoch == fast_epoch_, 1)) return h.cache;
    return make_hot();
  }
  detail::Cache* make_hot();  // another pool was hot: this one's slot becomes t_hot
  // Slow paths (cache.cpp): the fast path's miss, with or without the debug checks around.
  Status get_slow(void** objs, std::uint32_t n);
  Status put_slow(void* const* objs, std::uint32_t n);
  Status put_one_slow(void* obj);  // put_slow of one, taking it by value (see put)
  Status get_plain(void** objs, std::uint32_t n);
  Status put_plain(void* const* objs, std::uint32_t n);
  Status get_cached(detail::Cache* c, void** objs, std::uint32_t n);
  Status put_cached(detail::Cache* c, void* const* objs, std::uint32_t n);
  detail::Cache* attach_cache();
  void enroll();    // takes a cached-pool id and a fresh epoch when caches are on and one is free
  void withdraw();  // gives the id back; threads' slots for this epoch go stale
  // Debug mode (debug.cpp).
  Status get_checked(void** objs, std::uint32_t n);
  Status put_checked(void* const* objs, std::uint32_t n);
  void report(const char* what, const void* p, std::size_t index);
  friend struct detail::ThreadExit;
  void retire_cache(detail::Cache* c);

  // Hot: read on every get/put (one line).
  std::uint32_t id_ = 0;
  // The fast paths take the calling thread's cache when its slot carries this epoch: epoch_
  // normally, kNoEpoch in debug mode (every call then takes the checked slow path, which
  // still uses the cache through epoch_).
  std::uint64_t fast_epoch_ = kNoEpoch;
  std::uint64_t epoch_ = kNoEpoch;  // kNoEpoch: an uncached pool
  static constexpr std::uint64_t kNoEpoch = ~std::uint64_t{0};  // no slot ever carries it
  Debug debug_ = Debug::Off;
  std::uint64_t rearm_ = 0;  // mbuf pools: data_off, refcnt, nb_segs, port as one word (mbuf.h)

  // Layout: element i is at base_ + (i / per_chunk_) * 2^chunk_shift_ + (i % per_chunk_) * stride_.
  char* base_ = nullptr;
  std::size_t stride_ = 0;
  std::size_t per_chunk_ = 0;
  unsigned chunk_shift_ = 63;  // VA mode: one chunk, every offset maps to chunk 0
  std::size_t chunk_mask_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t cache_size_ = 0;
  std::uint16_t headroom_ = 0;
  std::uint16_t buf_len_ = 0;
  std::uint16_t priv_size_ = 0;
  IovaMode iova_mode_ = IovaMode::VA;
  int node_ = -1;

  std::unique_ptr<Ring> ring_;
  // The mapping (a page-layer region, pool.cpp): base_ .. base_ + region_size_.
  struct Memory;
  std::unique_ptr<Memory> memory_;
  std::size_t region_size_ = 0;
  Backing backing_ = Backing::Small;
  std::vector<MemChunk> chunks_;
  std::string name_;
  // Debug mode: one byte per element, 1 while the element is out (held by a user).
  std::unique_ptr<std::atomic<std::uint8_t>[]> out_;

  // Slow-path state.
  mutable std::mutex mu_;                             // caches_, free_caches_, retired_
  std::vector<std::unique_ptr<detail::Cache>> caches_;  // every cache ever attached
  std::vector<std::unique_ptr<void*[]>> cache_slots_;   // their objs arrays
  detail::Cache* free_caches_ = nullptr;              // caches of exited threads, reusable
  ThreadStats retired_;                               // counters of exited threads' caches
  std::uint32_t live_caches_ = 0;                     // caches with a thread
  std::atomic<std::uint64_t> direct_get_objs_{0}, direct_get_fails_{0}, direct_put_objs_{0},
      debug_errors_{0};
};

// ---- fast paths (inline: these run tens of millions of times a second) ----

inline Status Pool::get_bulk(void** objs, std::uint32_t n) {
  detail::Cache* c = fast_cache();
  if (__builtin_expect(c && n <= c->len, 1)) {
    c->len -= n;
    detail::copy_objs_lifo(c->objs + c->len, objs, n);
    detail::add(c->get_objs, std::uint64_t{n});
    return Status::Ok;
  }
  return get_slow(objs, n);
}

// One object: the same as get_bulk / put_bulk of 1, without the array: put's object stays in a
// register (its slow path takes it by value, so the fast path never takes its address), a
// store and a reload fewer on the path of every Mbuf::free.
inline Status Pool::get(void** obj) {
  detail::Cache* c = fast_cache();
  if (__builtin_expect(c && c->len != 0, 1)) {
    *obj = c->objs[--c->len];
    detail::add(c->get_objs, 1);
    return Status::Ok;
  }
  return get_slow(obj, 1);
}

inline Status Pool::put(void* obj) {
  detail::Cache* c = fast_cache();
  if (__builtin_expect(c && c->len < c->flush_thresh, 1)) {
    c->objs[c->len++] = obj;
    detail::add(c->put_objs, 1);
    return Status::Ok;
  }
  return put_one_slow(obj);
}

inline Status Pool::put_bulk(void* const* objs, std::uint32_t n) {
  detail::Cache* c = fast_cache();
  if (__builtin_expect(c && c->len + n <= c->flush_thresh, 1)) {
    detail::copy_objs(objs, c->objs + c->len, n);
    c->len += n;
    detail::add(c->put_objs, std::uint64_t{n});
    return Status::Ok;
  }
  return put_slow(objs, n);
}

}  // namespace hm::pkt
