// Pool creation and layout: the region, its chunks and their IOVAs, the elements, the ring.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <new>

#include "hugemem/pktpool/mbuf.h"
#include "hugemem/pktpool/pktpool.h"
#include "os/os.h"
#include "page/iova_map.h"
#include "page/region.h"

namespace hm::pkt {

// The public Backing mirrors the page layer's, value for value.
static_assert(static_cast<int>(Backing::Huge1G) == static_cast<int>(os::Backing::Huge1G) &&
              static_cast<int>(Backing::Huge2M) == static_cast<int>(os::Backing::Huge2M) &&
              static_cast<int>(Backing::THP) == static_cast<int>(os::Backing::THP) &&
              static_cast<int>(Backing::Small) == static_cast<int>(os::Backing::Small) &&
              os::kBackingKinds == 4);
constexpr os::Backing to_os(Backing b) { return static_cast<os::Backing>(b); }
constexpr Backing from_os(os::Backing b) { return static_cast<Backing>(b); }

const char* backing_name(Backing b) { return os::backing_name(to_os(b)); }

struct Pool::Memory {
  page::Region region;
};

Pool::Pool() = default;

namespace {

constexpr std::size_t round_up(std::size_t x, std::size_t a) { return (x + a - 1) / a * a; }

// Elements of more than two cache lines get an odd number of lines (one more when even), as
// DPDK's mempool does unless told not to. With an even stride the same line of every element
// (the mbuf header, the start of its data) falls in a fraction of the CPU cache's sets: an mbuf
// of 36 lines puts every header in one set in four, and a driver holding 4096 mbufs in flight
// thrashes those sets while the others sit idle. Measured on the driver loop (bench/pktpool).
constexpr std::size_t spread_stride(std::size_t stride) {
  std::size_t lines = stride / kCacheLine;
  if (lines > 2 && lines % 2 == 0) ++lines;
  return lines * kCacheLine;
}

std::unique_ptr<Pool> fail(int err) {
  errno = err;
  return nullptr;
}

// Every live pool, for lookup(). Never destroyed: pools may outlive static destructors.
struct Names {
  std::mutex mu;
  std::vector<Pool*> pools;  // creation order
};
Names& names() {
  static Names* n = new Names;
  return *n;
}

}  // namespace

Pool* Pool::lookup(const char* name) {
  if (!name) return nullptr;
  Names& n = names();
  std::lock_guard lock(n.mu);
  for (Pool* p : n.pools)
    if (p->name_ == name) return p;
  return nullptr;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Exhausted: return "exhausted";
    case Status::DoublePut: return "double put";
    case Status::Foreign: return "foreign object";
    case Status::Invalid: return "invalid";
  }
  return "?";
}

std::unique_ptr<Pool> Pool::create(const Config& cfg) {
  std::size_t bytes = cfg.elt_size;
  if (bytes == 0) {
    std::size_t buf = std::size_t{cfg.headroom} + cfg.data_room;
    if (buf > 0xffff || cfg.priv_size % 8 != 0) return fail(EINVAL);
    bytes = sizeof(Mbuf) + cfg.priv_size + buf;
  } else if (cfg.priv_size != 0) {
    return fail(EINVAL);  // a private area is an mbuf pool's
  }
  if (cfg.count == 0 || cfg.count > (std::uint32_t{1} << 31) || cfg.cache_size > kMaxCacheSize)
    return fail(EINVAL);
  // The page layer ignores a binding on one-node machines: a node that does not exist is the
  // caller's mistake, caught here on every machine rather than only on NUMA ones.
  if (cfg.node < -1 || cfg.node >= os::machine().numa_nodes) return fail(EINVAL);

  std::unique_ptr<Pool> p(new (std::nothrow) Pool);
  if (!p) return fail(ENOMEM);
  p->memory_.reset(new (std::nothrow) Memory);
  if (!p->memory_) return fail(ENOMEM);
  p->name_ = cfg.name ? cfg.name : "pktpool";
  p->count_ = cfg.count;
  p->stride_ = spread_stride(round_up(bytes, kCacheLine));
  p->cache_size_ = cfg.cache_size;
  p->debug_ = cfg.debug;
  p->iova_mode_ = cfg.iova;
  p->node_ = cfg.node;
  if (cfg.elt_size == 0) {
    p->headroom_ = cfg.headroom;
    p->buf_len_ = static_cast<std::uint16_t>(cfg.headroom + cfg.data_room);
    p->priv_size_ = cfg.priv_size;
    p->rearm_ = rearm_word(cfg.headroom);
  }
  if (!(cfg.iova == IovaMode::PA ? p->map_pa(cfg) : p->map_va(cfg))) return nullptr;
  p->region_size_ = p->memory_->region.size();
  p->backing_ = from_os(p->memory_->region.backing());

  if (p->is_mbuf_pool()) p->init_mbufs();
  if (cfg.obj_init)
    for (std::uint32_t i = 0; i < p->count_; ++i) cfg.obj_init(*p, p->element(i), i, cfg.obj_init_arg);
  p->ring_.reset(new (std::nothrow) Ring(std::bit_ceil(p->count_)));
  if (!p->ring_ || !*p->ring_) return fail(ENOMEM);
  void* batch[64];
  for (std::size_t i = 0; i < p->count_;) {
    std::uint32_t k = 0;
    while (k < 64 && i < p->count_) batch[k++] = p->element(i++);
    p->ring_->enqueue_bulk(batch, k);  // cannot fail: capacity >= count
  }
  if (p->debug_ != Debug::Off) {
    p->out_.reset(new (std::nothrow) std::atomic<std::uint8_t>[p->count_]());
    if (!p->out_) return fail(ENOMEM);
  }
  p->enroll();
  Names& n = names();
  std::lock_guard lock(n.mu);
  n.pools.push_back(p.get());
  return p;
}

// IOVA = VA: the elements packed back to back in one region, which is one chunk.
bool Pool::map_va(const Config& cfg) {
  page::Region& region = memory_->region;
  region = page::Region::create(stride_ * count_, to_os(cfg.best), cfg.node, name_.c_str());
  if (!region) return false;
  base_ = static_cast<char*>(region.base());
  per_chunk_ = count_;
  chunk_shift_ = 63;
  chunk_mask_ = (std::size_t{1} << 63) - 1;
  chunks_.push_back({region.base(), region.size(), reinterpret_cast<std::uintptr_t>(region.base())});
  return true;
}

// IOVA = PA: one chunk per hugepage (physically contiguous by construction), elements packed
// within each and never across. Only hugetlb backings: other pages can move under us.
bool Pool::map_pa(const Config& cfg) {
  page::Region& region = memory_->region;
  for (int b = static_cast<int>(cfg.best); b <= static_cast<int>(os::Backing::Huge2M) && !region; ++b) {
    auto backing = static_cast<os::Backing>(b);
    std::size_t granule = os::backing_granule(backing);
    if (stride_ > granule) {
      errno = EINVAL;
      return false;
    }
    std::size_t per = granule / stride_;
    std::size_t pages = (count_ + per - 1) / per;
    page::Region r = page::Region::create(pages * granule, backing, cfg.node, name_.c_str());
    if (!r || r.backing() != backing) continue;  // fell back further than hugetlb: next size
    region = std::move(r);
    per_chunk_ = per;
    chunk_shift_ = static_cast<unsigned>(std::countr_zero(granule));
    chunk_mask_ = granule - 1;
  }
  if (!region) {
    errno = ENOTSUP;
    return false;
  }
  base_ = static_cast<char*>(region.base());
  std::size_t granule = chunk_mask_ + 1;
  os::populate(base_, region.size());  // pagemap shows only present pages
  for (std::size_t off = 0; off < region.size(); off += granule) {
    std::uint64_t pa = os::virt_to_phys(base_ + off);
    if (pa == 0) {
      errno = EPERM;  // PFNs are hidden from non-root readers
      return false;
    }
    chunks_.push_back({base_ + off, granule, pa});
  }
  // Physical addresses are device addresses: hm_iova_of answers for the elements (until ~Pool).
  for (const MemChunk& c : chunks_) {
    if (!page::iova_map_set(c.va, c.len, c.iova)) {
      page::iova_map_clear(base_, region.size());
      return false;  // errno ENOMEM
    }
  }
  return true;
}

void Pool::init_mbufs() {
  for_each([this](void* elt, std::size_t) {
    auto* m = new (elt) Mbuf;
    m->buf_addr = static_cast<char*>(elt) + sizeof(Mbuf) + priv_size_;
    m->buf_iova = iova_of(m->buf_addr);
    reset_for_alloc(m, rearm_, lens_word(buf_len_));
    m->buf_len = buf_len_;
    m->next = nullptr;
    m->pool = this;
    m->shinfo = nullptr;
  });
}

Pool::~Pool() {
  if (iova_mode_ == IovaMode::PA && memory_ && memory_->region) page::iova_map_clear(base_, memory_->region.size());
  withdraw();
  Names& n = names();
  std::lock_guard lock(n.mu);
  auto it = std::find(n.pools.begin(), n.pools.end(), this);
  if (it != n.pools.end()) n.pools.erase(it);
}

void Pool::dump(std::FILE* f) const {
  PoolStats s = stats();
  std::fprintf(f, "pktpool '%s' at %p: %u elements of %zu bytes", name_.c_str(), static_cast<const void*>(this),
               count_, stride_);
  if (is_mbuf_pool())
    std::fprintf(f, " (mbufs: header %zu, priv %u, headroom %u, data room %u)\n", sizeof(Mbuf), priv_size_, headroom_,
                 buf_len_ - headroom_);
  else
    std::fprintf(f, " (raw)\n");
  std::fprintf(f, "  memory: %s, node %d, IOVA %s, %zu chunk(s):\n", backing_name(backing()), node_,
               iova_mode_ == IovaMode::PA ? "PA" : "VA", chunks_.size());
  for (std::size_t i = 0; i < chunks_.size() && i < 8; ++i)
    std::fprintf(f, "    [%zu] va %p len %zu iova 0x%" PRIx64 "\n", i, chunks_[i].va, chunks_[i].len, chunks_[i].iova);
  if (chunks_.size() > 8) std::fprintf(f, "    ... %zu more\n", chunks_.size() - 8);
  if (cached())
    std::fprintf(f, "  cache: %u objects per thread, %u thread(s) with one\n", cache_size_, s.threads);
  else if (cache_size_ == 0)
    std::fprintf(f, "  cache: none (cache_size 0)\n");
  else
    std::fprintf(f, "  cache: none: all %u cached-pool slots were taken when it was created\n", kMaxCachedPools);
  std::fprintf(f, "  debug: %s\n", debug_ == Debug::Off ? "off" : debug_ == Debug::Report ? "report" : "abort");
  std::fprintf(f,
               "  free: %u in the ring, %u in caches; in use %u\n"
               "  stats: get %" PRIu64 " (%" PRIu64 " failed calls), put %" PRIu64 ", refills %" PRIu64
               ", flushes %" PRIu64 ", debug errors %" PRIu64 "\n",
               s.in_ring, s.in_caches, s.in_use, s.get_objs, s.get_fails, s.put_objs, s.refills, s.flushes,
               s.debug_errors);
}

std::size_t Pool::index_of(const void* p) const {
  if (!contains(p)) return npos;
  std::size_t off = static_cast<std::size_t>(static_cast<const char*>(p) - base_);
  std::size_t rem = off & chunk_mask_;
  std::size_t j = rem / stride_;
  if (rem % stride_ != 0 || j >= per_chunk_) return npos;
  std::size_t i = (off >> chunk_shift_) * per_chunk_ + j;
  return i < count_ ? i : npos;
}

void Pool::set_iova(std::size_t chunk, std::uint64_t iova) {
  chunks_[chunk].iova = iova;
  if (!is_mbuf_pool()) return;
  std::size_t first = chunk * per_chunk_;
  std::size_t last = std::min<std::size_t>(first + per_chunk_, count_);
  for (std::size_t i = first; i < last; ++i) {
    auto* m = static_cast<Mbuf*>(element(i));
    m->buf_iova = iova_of(m->buf_addr);
  }
}

}  // namespace hm::pkt
