#include "slab/large_cache.h"

#include "page/arena.h"
#include "page/heap.h"
#include "slab/report.h"
#include "slab/slab.h"

namespace hm::slab {
namespace {

constexpr std::uintptr_t kPagesMask = 4095;
std::atomic<std::size_t> g_kept_pages{0};

void set_tag(void* p, std::uint8_t tag) {
  page::Arena* a = page::Arena::of(p);
  std::atomic_ref<std::uint8_t>(a->desc(a->index_of(p)).tag).store(tag, std::memory_order_relaxed);
}

// A kept block's first and last words hold a key-encoded marker of its address: a write after
// free that reaches either is caught when the block leaves the cache (reuse, eviction, trim).
constexpr std::uintptr_t kMarkerSalt = 0x4c61726765426c6bull;  // "LargeBlk"
std::uintptr_t marker(const void* at) { return g_link_key ^ kMarkerSalt ^ (reinterpret_cast<std::uintptr_t>(at) >> 4); }

void mark(void* p, std::uint32_t pages) {
  auto* w = static_cast<std::uintptr_t*>(p);
  std::size_t last = (std::size_t{pages} << page::kPageShift) / sizeof(std::uintptr_t) - 1;
  w[0] = marker(&w[0]);
  w[last] = marker(&w[last]);
}

void check_mark(void* p, std::uint32_t pages) {
  auto* w = static_cast<std::uintptr_t*>(p);
  std::size_t last = (std::size_t{pages} << page::kPageShift) / sizeof(std::uintptr_t) - 1;
  if (w[0] != marker(&w[0])) report_large_write_after_free(p, std::size_t{pages} << page::kPageShift, 0);
  if (w[last] != marker(&w[last]))
    report_large_write_after_free(p, std::size_t{pages} << page::kPageShift, last * sizeof(std::uintptr_t));
}

void give_back(std::uintptr_t v) {
  void* p = reinterpret_cast<void*>(v & ~kPagesMask);
  check_mark(p, static_cast<std::uint32_t>(v & kPagesMask));
  g_kept_pages.fetch_sub(v & kPagesMask, std::memory_order_relaxed);
  set_tag(p, 0);
  page::Arena::of(p)->heap()->free(p, 0);
}

}  // namespace

void* LargeCache::take(std::uint32_t pages) {
  for (auto& slot : slot_) {
    std::uintptr_t v = slot.load(std::memory_order_relaxed);
    if (!v || (v & kPagesMask) != pages) continue;
    if (!slot.compare_exchange_strong(v, 0, std::memory_order_acquire, std::memory_order_relaxed)) continue;
    g_kept_pages.fetch_sub(pages, std::memory_order_relaxed);
    void* p = reinterpret_cast<void*>(v & ~kPagesMask);
    check_mark(p, pages);
    set_tag(p, 0);
    return p;
  }
  return nullptr;
}

bool LargeCache::keep(void* p, std::uint32_t pages) {
  if (pages > kMaxPages) return false;
  std::size_t budget = page::config().high >> page::kPageShift;
  if (g_kept_pages.load(std::memory_order_relaxed) + pages > budget) return false;
  std::atomic<std::uintptr_t>* free_slot = nullptr;
  for (;;) {
    std::uint32_t held = 0;
    free_slot = nullptr;
    for (auto& slot : slot_) {
      std::uintptr_t v = slot.load(std::memory_order_relaxed);
      held += static_cast<std::uint32_t>(v & kPagesMask);
      if (!v && !free_slot) free_slot = &slot;
    }
    if (free_slot && held + pages <= kBudgetPages) break;
    // Evict round-robin (oldest first when filled in order) until there is room.
    std::uintptr_t v = slot_[victim_].exchange(0, std::memory_order_acquire);
    victim_ = (victim_ + 1) % kSlots;
    if (v) give_back(v);
  }
  mark(p, pages);
  set_tag(p, kCachedTag);
  g_kept_pages.fetch_add(pages, std::memory_order_relaxed);
  free_slot->store(reinterpret_cast<std::uintptr_t>(p) | pages, std::memory_order_release);
  return true;
}

void LargeCache::flush() {
  for (auto& slot : slot_) {
    if (std::uintptr_t v = slot.exchange(0, std::memory_order_acquire)) give_back(v);
  }
}

std::size_t kept_bytes() { return g_kept_pages.load(std::memory_order_relaxed) << page::kPageShift; }

}  // namespace hm::slab
