#include "slab/slab.h"

#include <cstring>
#include <new>

#include "os/os.h"
#include "slab/heap.h"

namespace hm::slab {

std::uintptr_t g_link_key = 0x5bd1e9955bd1e995ull;  // replaced by a random key at init
bool g_checked = false;
Slab g_empty_slab{};

Slab* format_slab(void* base, int c, int node) {
  auto* s = new (base) Slab{};
  std::size_t bytes = slab_pages(c) * os::kPageSize;
  std::size_t offset = slab_offset(c);
  s->size = static_cast<std::uint32_t>(class_size(c));
  s->capacity = static_cast<std::uint32_t>((bytes - offset) / s->size);
  s->span = s->capacity * s->size;
  s->recip = ((std::uint64_t{1} << 40) + s->size - 1) / s->size;
  s->begin = static_cast<char*>(base) + offset;
  s->cls = static_cast<std::uint8_t>(c);
  s->node = static_cast<std::uint8_t>(node);
  s->state = SlabState::Active;
  // Thread the freelist through the objects in address order, so a fresh slab is handed out
  // sequentially (prefetch-friendly).
  char* obj = s->begin;
  for (std::uint32_t i = 0; i + 1 < s->capacity; ++i, obj += s->size) {
    auto* o = reinterpret_cast<FreeObj*>(obj);
    o->link = encode(reinterpret_cast<FreeObj*>(obj + s->size), o);
    if (g_checked) std::memset(obj + sizeof(FreeObj), kFreeFill, s->size - sizeof(FreeObj));
  }
  auto* last = reinterpret_cast<FreeObj*>(obj);
  last->link = encode(nullptr, last);
  if (g_checked) std::memset(obj + sizeof(FreeObj), kFreeFill, s->size - sizeof(FreeObj));
  s->free = reinterpret_cast<FreeObj*>(s->begin);
  return s;
}

std::size_t collect_remote(Slab* s) {
  // `remote` is 0, kNotify (armed, empty) or a list head: a push replaces the whole word, so a
  // non-empty list never carries the notify bit.
  if (s->remote.load(std::memory_order_relaxed) <= kNotify) return 0;
  auto* head = reinterpret_cast<FreeObj*>(s->remote.exchange(0, std::memory_order_acquire));
  std::size_t n = 1;
  FreeObj* tail = head;
  for (FreeObj* next; (next = decode(tail->link, tail)) != nullptr; tail = next, ++n) {
    if (static_cast<std::uintptr_t>(reinterpret_cast<char*>(next) - s->begin) >= s->span)
      report_corrupted_freelist(tail, s);
  }
  tail->link = encode(s->free, tail);
  s->free = head;
  s->used -= static_cast<std::uint32_t>(n);
  return n;
}

}  // namespace hm::slab
