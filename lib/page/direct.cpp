#include "page/direct.h"

#include <atomic>
#include <cerrno>

#include "page/heap.h"
#include "page/registry.h"

namespace hm::page {
namespace {

std::atomic<std::size_t> g_direct_bytes{0};

std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

}  // namespace

void* direct_alloc(std::size_t size, std::size_t align) {
  std::size_t head = align > os::kPageSize ? align : os::kPageSize;
  if (size > (std::size_t{1} << 46) || head > (std::size_t{1} << 40)) {
    errno = ENOMEM;
    return nullptr;
  }
  // 1 GiB pages would round most requests up by hundreds of MiB: direct mappings start at 2 MiB.
  os::Backing best = config().best < os::Backing::Huge2M ? os::Backing::Huge2M : config().best;
  os::Mapping m;
  bool guarded = false;
  if (best == os::Backing::Huge2M) m = os::map(round_up(head + size, os::k2M), kArenaSize, best, "hugemem-direct", true);
  if (!m) {
    // Guards (hardening): the header page, then PROT_NONE up to the block, which starts at
    // 2 MiB (or its alignment); 2 MiB of PROT_NONE after it. A run of 1 MiB past either end
    // faults. hugetlb mappings above keep the plain layout (their pages are whole).
    head = align > os::k2M ? align : os::k2M;
    m = os::map_best(round_up(head + size, os::k2M) + kDirectGuard, kArenaSize,
                     best < os::Backing::THP ? os::Backing::THP : best, "hugemem-direct", true);
    if (!m) return nullptr;
    guarded = true;
    os::protect(static_cast<char*>(m.addr) + os::kPageSize, head - os::kPageSize, false);
    os::protect(static_cast<char*>(m.addr) + m.size - kDirectGuard, kDirectGuard, false);
  }
  auto* h = static_cast<DirectHeader*>(m.addr);
  h->magic = kDirectMagic;
  h->user = static_cast<char*>(m.addr) + head;
  h->usable = m.size - head - (guarded ? kDirectGuard : 0);
  h->map = m;
  h->guarded = guarded;
  registry_set(m.addr, m.size, reinterpret_cast<std::uintptr_t>(h) | 1);
  g_direct_bytes.fetch_add(m.size, std::memory_order_relaxed);
  return h->user;
}

void direct_free(DirectHeader* h) {
  os::Mapping m = h->map;
  h->magic = 0;
  registry_set(m.addr, m.size, 0);
  g_direct_bytes.fetch_sub(m.size, std::memory_order_relaxed);
  os::unmap(m.addr, m.size);
}

void direct_shrink(DirectHeader* h, std::size_t size) {
  auto* base = static_cast<char*>(h->map.addr);
  std::size_t head = static_cast<std::size_t>(static_cast<char*>(h->user) - base);
  std::size_t guard = h->guarded ? kDirectGuard : 0;
  std::size_t total = round_up(head + size, os::k2M) + guard;
  if (total >= h->map.size) return;
  if (!os::shrink(base, h->map.size, total)) return;
  if (guard) os::protect(base + total - guard, guard, false);
  // Registry slots wholly past the new end no longer belong to this block.
  std::size_t kept = round_up(total, kArenaSize);
  if (kept < h->map.size) registry_set(base + kept, h->map.size - kept, 0);
  g_direct_bytes.fetch_sub(h->map.size - total, std::memory_order_relaxed);
  h->map.size = total;
  h->usable = total - head - guard;
}

std::size_t direct_bytes() { return g_direct_bytes.load(std::memory_order_relaxed); }

}  // namespace hm::page
