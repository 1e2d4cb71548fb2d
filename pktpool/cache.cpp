// Per-thread caches: which thread has which cache (TLS slots, the registry of cached pools,
// the thread-exit hook), and the slow paths that move objects between a cache and the ring.
#include <mutex>

#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt {

namespace detail {

constinit thread_local TlsSlot t_slots[kMaxCachedPools] __attribute__((tls_model("initial-exec"))) = {};
constinit thread_local TlsSlot t_hot __attribute__((tls_model("initial-exec"))) = {};

#if defined(__x86_64__) && !defined(__AVX2__)
namespace {
bool detect_avx2() {
  __builtin_cpu_init();  // required before __builtin_cpu_supports in a static initialiser
  return __builtin_cpu_supports("avx2");  // CPUID, and the OS saves the YMM state (XCR0)
}
}  // namespace
bool g_avx2 = detect_avx2();
#endif

namespace {

// Which pool holds each cached-pool id, and with which epoch. A thread's slot is live only
// while its epoch is the registry's for that id; epochs only grow, so a destroyed pool's slots
// never match again, even when its id is reused. constinit: usable from any thread's exit,
// before and after main; nothing to destroy.
struct Registry {
  std::mutex mu;
  Pool* pools[kMaxCachedPools] = {};
  std::uint64_t epochs[kMaxCachedPools] = {};
  std::uint64_t next_epoch = 1;
};
constinit Registry g_registry;

}  // namespace

// One per thread that attached a cache; its destructor runs at thread exit and gives every
// cache of a live pool back (objects to the ring, counters to the pool).
struct ThreadExit {
  bool armed = false;
  ~ThreadExit() {
    std::lock_guard lock(g_registry.mu);  // a pool cannot be destroyed under us
    for (std::uint32_t id = 0; id < kMaxCachedPools; ++id) {
      TlsSlot& s = t_slots[id];
      if (s.cache && g_registry.epochs[id] == s.epoch) g_registry.pools[id]->retire_cache(s.cache);
      s = {};
    }
    t_hot = {};
  }
};
thread_local ThreadExit t_exit;

}  // namespace detail

using detail::Cache;
using detail::g_registry;

void Pool::enroll() {
  if (cache_size_ == 0) return;
  std::lock_guard lock(g_registry.mu);
  for (std::uint32_t id = 0; id < kMaxCachedPools; ++id) {
    if (g_registry.pools[id]) continue;
    g_registry.pools[id] = this;
    g_registry.epochs[id] = g_registry.next_epoch++;
    id_ = id;
    epoch_ = g_registry.epochs[id];
    if (debug_ == Debug::Off) fast_epoch_ = epoch_;
    return;
  }
}

void Pool::withdraw() {
  std::lock_guard lock(g_registry.mu);
  if (g_registry.pools[id_] != this) return;  // uncached pool
  g_registry.pools[id_] = nullptr;
  g_registry.epochs[id_] = 0;
}

Cache* Pool::attach_cache() {
  if (epoch_ == kNoEpoch) return nullptr;  // uncached pool
  Cache* c;
  {
    std::lock_guard lock(mu_);
    if (free_caches_) {
      c = free_caches_;
      free_caches_ = c->next_free;
    } else {
      auto fresh = std::make_unique<Cache>();
      // The slots on lines of their own (and line pairs: adjacent-line prefetch), not sharing
      // one with another thread's cache or anything else on the heap.
      constexpr std::size_t kPad = 2 * kCacheLine / sizeof(void*);
      auto slots = std::make_unique<void*[]>(2 * cache_size_ + 2 * kPad);
      c = fresh.get();
      auto at = reinterpret_cast<std::uintptr_t>(slots.get() + kPad);
      c->objs = reinterpret_cast<void**>(at & ~std::uintptr_t{2 * kCacheLine - 1});
      caches_.push_back(std::move(fresh));
      cache_slots_.push_back(std::move(slots));
    }
    ++live_caches_;
  }
  c->size = cache_size_;
  c->flush_thresh = cache_size_ + cache_size_ / 2;
  detail::t_slots[id_] = {epoch_, c};
  detail::t_exit.armed = true;  // odr-use: constructs the hook, so its destructor runs
  return c;
}

// Called at thread exit with the registry lock held (so `this` is alive).
void Pool::retire_cache(Cache* c) {
  if (c->len) ring_->enqueue_bulk(c->objs, c->len);
  c->len = 0;
  std::lock_guard lock(mu_);
  auto take = [](std::atomic<std::uint64_t>& a) { return a.exchange(0, std::memory_order_relaxed); };
  retired_.get_objs += take(c->get_objs);
  retired_.get_fails += take(c->get_fails);
  retired_.put_objs += take(c->put_objs);
  retired_.refills += take(c->refills);
  retired_.flushes += take(c->flushes);
  c->next_free = free_caches_;
  free_caches_ = c;
  --live_caches_;
}

Cache* Pool::make_hot() {
  if (fast_epoch_ == kNoEpoch) return nullptr;  // uncached or debug: the slow paths serve it
  Cache* c = local_cache();
  if (!c) c = attach_cache();
  detail::t_hot = {epoch_, c};
  return c;
}

Status Pool::get_slow(void** objs, std::uint32_t n) {
  return debug_ == Debug::Off ? get_plain(objs, n) : get_checked(objs, n);
}

Status Pool::put_slow(void* const* objs, std::uint32_t n) {
  return debug_ == Debug::Off ? put_plain(objs, n) : put_checked(objs, n);
}

Status Pool::put_one_slow(void* obj) { return put_slow(&obj, 1); }

Status Pool::get_plain(void** objs, std::uint32_t n) {
  Cache* c = local_cache();
  if (!c) c = attach_cache();
  if (c) return get_cached(c, objs, n);
  if (ring_->dequeue_bulk(objs, n) == n) {
    direct_get_objs_.fetch_add(n, std::memory_order_relaxed);
    return Status::Ok;
  }
  direct_get_fails_.fetch_add(1, std::memory_order_relaxed);
  return n > count_ ? Status::Invalid : Status::Exhausted;
}

Status Pool::put_plain(void* const* objs, std::uint32_t n) {
  Cache* c = local_cache();
  if (!c) c = attach_cache();
  if (c) return put_cached(c, objs, n);
  if (ring_->enqueue_bulk(objs, n) != n) return Status::Invalid;  // more than the pool holds
  direct_put_objs_.fetch_add(n, std::memory_order_relaxed);
  return Status::Ok;
}

namespace {
void pop(Cache* c, void** objs, std::uint32_t n) {
  c->len -= n;
  detail::copy_objs_lifo(c->objs + c->len, objs, n);
  detail::add(c->get_objs, std::uint64_t{n});
}
void push(Cache* c, void* const* objs, std::uint32_t n) {
  detail::copy_objs(objs, c->objs + c->len, n);
  c->len += n;
  detail::add(c->put_objs, std::uint64_t{n});
}
}  // namespace

Status Pool::get_cached(Cache* c, void** objs, std::uint32_t n) {
  if (n <= c->len) {
    pop(c, objs, n);
    return Status::Ok;
  }
  if (n <= c->size) {
    // Refill to n + size, so that the request leaves the cache at its target level: a thread
    // that only allocates (an RX core fed by another core's frees) goes to the ring once per
    // `size` objects. Each ring operation costs the same few cross-core line transfers (the
    // other side's tail, our head) whatever it moves, so fewer, larger ones are cheaper per
    // object. len < n <= size, so len + want = n + size <= 2 * size: the slots hold it.
    std::uint32_t want = n - c->len + c->size;
    std::uint32_t got = ring_->dequeue_burst(c->objs + c->len, want);
    if (got) detail::add(c->refills, std::uint64_t{1});
    c->len += got;
    if (n <= c->len) {
      pop(c, objs, n);
      return Status::Ok;
    }
  } else {
    // Bigger than the cache: straight from the ring; on a miss, give the cache back and retry,
    // so the thread can have every free element the ring and its cache hold.
    if (ring_->dequeue_bulk(objs, n) == n || (flush_cache(), ring_->dequeue_bulk(objs, n) == n)) {
      detail::add(c->get_objs, std::uint64_t{n});
      return Status::Ok;
    }
  }
  detail::add(c->get_fails, std::uint64_t{1});
  return n > count_ ? Status::Invalid : Status::Exhausted;
}

Status Pool::put_cached(Cache* c, void* const* objs, std::uint32_t n) {
  if (c->len + n <= c->flush_thresh) {
    push(c, objs, n);
    return Status::Ok;
  }
  if (n > c->size) {  // bigger than the cache: straight to the ring
    if (ring_->enqueue_bulk(objs, n) != n) return Status::Invalid;
    detail::add(c->put_objs, std::uint64_t{n});
    return Status::Ok;
  }
  // Flush the whole cache to the ring in one bulk, then push: the cache keeps only the n just
  // put, the most recently touched. A thread that only frees (a TX core) goes to the ring about
  // once per flush_thresh objects, in the largest bulks the cache allows. n <= size < 2 * size.
  if (ring_->enqueue_bulk(c->objs, c->len) != c->len) return Status::Invalid;
  detail::add(c->flushes, std::uint64_t{1});
  c->len = 0;
  push(c, objs, n);
  return Status::Ok;
}

void Pool::flush_cache() {
  Cache* c = local_cache();
  if (!c || c->len == 0) return;
  ring_->enqueue_bulk(c->objs, c->len);
  c->len = 0;
  detail::add(c->flushes, std::uint64_t{1});
}

ThreadStats Pool::thread_stats() const {
  ThreadStats t;
  const Cache* c = local_cache();
  if (!c) return t;
  t.get_objs = c->get_objs.load(std::memory_order_relaxed);
  t.get_fails = c->get_fails.load(std::memory_order_relaxed);
  t.put_objs = c->put_objs.load(std::memory_order_relaxed);
  t.refills = c->refills.load(std::memory_order_relaxed);
  t.flushes = c->flushes.load(std::memory_order_relaxed);
  return t;
}

PoolStats Pool::stats() const {
  PoolStats s;
  std::lock_guard lock(mu_);
  static_cast<ThreadStats&>(s) = retired_;
  for (const auto& c : caches_) {
    s.get_objs += c->get_objs.load(std::memory_order_relaxed);
    s.get_fails += c->get_fails.load(std::memory_order_relaxed);
    s.put_objs += c->put_objs.load(std::memory_order_relaxed);
    s.refills += c->refills.load(std::memory_order_relaxed);
    s.flushes += c->flushes.load(std::memory_order_relaxed);
  }
  s.get_objs += direct_get_objs_.load(std::memory_order_relaxed);
  s.get_fails += direct_get_fails_.load(std::memory_order_relaxed);
  s.put_objs += direct_put_objs_.load(std::memory_order_relaxed);
  s.debug_errors = debug_errors_.load(std::memory_order_relaxed);
  // From the counters, not the caches' lengths (those belong to their threads): exact when the
  // pool is quiet, a snapshot otherwise.
  s.in_ring = ring_->count();
  s.in_use = static_cast<std::uint32_t>(s.get_objs - s.put_objs);
  s.in_caches = count_ - s.in_ring - s.in_use;
  s.threads = live_caches_;
  return s;
}

}  // namespace hm::pkt
