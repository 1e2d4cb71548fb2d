#include "slab/large_cache.h"

#include <atomic>

#include "page/arena.h"
#include "page/heap.h"

namespace hm::slab {
namespace {

void set_tag(void* p, std::uint8_t tag) {
  page::Arena* a = page::Arena::of(p);
  std::atomic_ref<std::uint8_t>(a->desc(a->index_of(p)).tag).store(tag, std::memory_order_relaxed);
}

void give_back(void* p) {
  set_tag(p, 0);
  page::Arena::of(p)->heap()->free(p, 0);
}

}  // namespace

void* LargeCache::take(std::uint32_t pages) {
  for (int i = count_ - 1; i >= 0; --i) {  // newest first: the most likely still in cache
    if (pages_[i] != pages) continue;
    void* p = block_[i];
    for (int j = i; j + 1 < count_; ++j) {
      block_[j] = block_[j + 1];
      pages_[j] = pages_[j + 1];
    }
    --count_;
    held_ -= pages;
    set_tag(p, 0);
    return p;
  }
  return nullptr;
}

bool LargeCache::keep(void* p, std::uint32_t pages) {
  if (pages > kMaxPages) return false;
  while (count_ == kSlots || held_ + pages > kBudgetPages) evict_oldest();
  set_tag(p, kCachedTag);
  block_[count_] = p;
  pages_[count_] = pages;
  ++count_;
  held_ += pages;
  return true;
}

void LargeCache::evict_oldest() {
  give_back(block_[0]);
  held_ -= pages_[0];
  for (int j = 0; j + 1 < count_; ++j) {
    block_[j] = block_[j + 1];
    pages_[j] = pages_[j + 1];
  }
  --count_;
}

void LargeCache::flush() {
  while (count_) evict_oldest();
}

std::size_t LargeCache::bytes() const { return std::size_t{held_} << page::kPageShift; }

}  // namespace hm::slab
