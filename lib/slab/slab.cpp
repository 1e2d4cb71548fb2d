#include "slab/slab.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <new>

#include "os/os.h"
#include "slab/node.h"
#include "slab/report.h"
#include "slab/thread_heap.h"

namespace hm::slab {

std::uintptr_t g_link_key = 0x5bd1e9955bd1e995ull;  // replaced by a random key at init
bool g_checked = false;
bool g_fill_domain[page::kMaxDomains] = {};

namespace {

// The inverse of an odd d modulo 2^64 (Newton's iteration: each step doubles the correct bits,
// and d itself is correct to 3 bits since d * d == 1 mod 8).
constexpr std::uint64_t inverse_of_odd(std::uint64_t d) {
  std::uint64_t x = d;
  for (int i = 0; i < 5; ++i) x *= 2 - d * x;
  return x;
}
static_assert(inverse_of_odd(5) * 5 == 1 && inverse_of_odd(0xffffffffffffffffull) * 0xffffffffffffffffull == 1);

// A slab's link key: the process key mixed with the slab's address (a finaliser that spreads
// every input bit), so that two slabs never share a key and a key read off one slab is not the
// process key.
std::uintptr_t slab_key(const void* base) {
  std::uint64_t x = g_link_key ^ reinterpret_cast<std::uintptr_t>(base);
  x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull;
  x = (x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

}  // namespace

Slab* format_slab(void* base, std::size_t pages, int c, int node) {
  auto* s = new (base) Slab{};
  std::size_t offset = slab_offset(c);
  s->pages = static_cast<std::uint16_t>(pages);
  s->size = static_cast<std::uint32_t>(class_size(c));
  s->capacity = (pages * os::kPageSize - offset) / s->size;
  s->span = s->capacity * s->size;
  s->shift = static_cast<std::uint8_t>(std::countr_zero(s->size));
  s->inverse = inverse_of_odd(s->size >> s->shift);
  s->key = slab_key(base);
  s->begin = static_cast<char*>(base) + offset;
  s->end = reinterpret_cast<FreeObj*>(s->begin + s->span);
  s->free = s->end;
  s->fresh = s->begin;
  s->cls = static_cast<std::uint8_t>(c);
  s->node = static_cast<std::uint8_t>(node);
  s->state = SlabState::Active;
  return s;
}

bool extend(Slab* s) {
  char* end = s->begin + s->span;
  if (s->fresh == end) return false;
  // Up to the end of the page the first fresh object starts in, and at least one object: the
  // slab becomes resident page by page, as it is used, and is handed out in address order.
  char* stop = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(s->fresh) | (os::kPageSize - 1)) + 1);
  if (stop > end) stop = end;
  char* obj = s->fresh;
  FreeObj* head = reinterpret_cast<FreeObj*>(obj);
  for (;;) {
    auto* o = reinterpret_cast<FreeObj*>(obj);
    if (g_checked || (s->node < page::kMaxDomains && g_fill_domain[s->node])) std::memset(obj + sizeof(FreeObj), kFreeFill, s->size - sizeof(FreeObj));
    obj += s->size;
    bool last = obj >= stop || obj == end;
    o->link = encode(last ? s->free : reinterpret_cast<FreeObj*>(obj), s);
    if (last) break;
  }
  s->fresh = obj;
  s->free = head;
  return true;
}

std::size_t take_list(Slab* s, std::uintptr_t r) {
  FreeObj* head = list_head(r);
  std::size_t length = list_length(r);
  // Checked mode walks always: its pops verify fills, not links.
  if (!s->has_free() && !g_checked) {
    s->free = head;
    s->used -= static_cast<std::uint32_t>(length);
    return length;
  }
  std::size_t n = 1;
  FreeObj* tail = head;
  for (FreeObj* next; (next = decode(tail->link, s)) != s->end; tail = next, ++n) {
    if (!s->contains_object(next) || n >= length) report_corrupted_freelist(tail, s);
  }
  if (n != length) report_corrupted_freelist(tail, s);
  tail->link = encode(s->free, s);
  s->free = head;
  s->used -= static_cast<std::uint32_t>(n);
  return n;
}

std::size_t collect_remote(Slab* s) {
  // Only a list is collected: exchanging kNotify away would disarm a notice someone relies on.
  if (s->remote.load(std::memory_order_relaxed) <= kNotify) return 0;
  return take_list(s, s->remote.exchange(0, std::memory_order_acquire));
}

}  // namespace hm::slab
