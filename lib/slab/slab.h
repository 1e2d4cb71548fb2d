// A slab: one buddy block of slab_pages(class) pages carved into equal objects, with this
// header at its start. Free objects hold the freelist link in their first word, encoded
// (encode()) so that a stray write into a free object is caught when the link is decoded, and a
// second free of the same object is recognised by its word already decoding as a link.
//
// Ownership: a slab is owned by one thread heap (owner != null) or by its node (owner == null,
// on the node's partial list or detached). Only the owner touches `free`, `used` and the list
// links; any thread may push onto `remote`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "slab/size_class.h"

#ifndef HUGEMEM_HARDENED
#define HUGEMEM_HARDENED 1
#endif

namespace hm::slab {

// The default build checks on the fast paths; -DHUGEMEM_HARDENED=OFF removes the checks to
// measure their cost (the slow paths, reached by anything unusual, still validate).
inline constexpr bool kHardened = HUGEMEM_HARDENED;

struct ThreadHeap;

struct FreeObj {
  std::uintptr_t link;  // encoded next
};

enum class SlabState : std::uint8_t {
  Active,       // a thread's current slab for its class
  Partial,      // on its owner's partial list (has free objects)
  Full,         // on its owner's full list (no free objects; remote frees notify the owner)
  NodePartial,  // unowned, on the node's partial list
  Detached,     // unowned and full: the first remote free puts it on the node's partial list
};

// bit 0 of `remote`: set by the owner when the slab went full; the remote free that clears it
// must tell the owner (or the node) that the slab has free objects again.
inline constexpr std::uintptr_t kNotify = 1;

struct alignas(64) Slab {
  // ---- line 0: everything a local malloc or free touches ----
  FreeObj* free;        // local freelist head (decoded pointer)
  std::uint32_t used;   // objects handed out and not yet back on `free`
  std::uint32_t capacity;
  char* begin;          // first object
  std::uint32_t span;   // capacity * size
  std::uint32_t size;
  std::uint64_t recip;  // ceil(2^40 / size): object index = (offset * recip) >> 40
  std::atomic<ThreadHeap*> owner;
  std::uint8_t cls;
  SlabState state;
  std::uint8_t node;
  // ---- line 1: list links and what other threads write ----
  alignas(64) Slab* prev;
  Slab* next;
  std::atomic<std::uintptr_t> remote;  // pushed by other threads: head | kNotify
  Slab* pending_next;                  // link on the owner's pending stack
  std::atomic<bool> queued;            // on a pending stack now

  bool contains_object(const void* p) const {
    std::uintptr_t off = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(begin);
    return off < span && ((off * recip) >> 40) * size == off;
  }
};
static_assert(sizeof(Slab) <= kSlabHeader);

extern std::uintptr_t g_link_key;  // random per process, set at init

inline std::uintptr_t encode(const FreeObj* next, const void* slot) {
  if constexpr (!kHardened) return reinterpret_cast<std::uintptr_t>(next);
  return reinterpret_cast<std::uintptr_t>(next) ^ g_link_key ^ (reinterpret_cast<std::uintptr_t>(slot) >> 4);
}
inline FreeObj* decode(std::uintptr_t link, const void* slot) {
  if constexpr (!kHardened) return reinterpret_cast<FreeObj*>(link);
  return reinterpret_cast<FreeObj*>(link ^ g_link_key ^ (reinterpret_cast<std::uintptr_t>(slot) >> 4));
}
// Whether p's first word decodes as a freelist link of slab s (end of list or an object in s):
// true for every free object, and for a live one only if its data happens to equal an encoded
// link, which needs the random key (probability ~ span / 2^64).
inline bool looks_free(const Slab* s, const FreeObj* p) {
  if constexpr (!kHardened) return false;
  FreeObj* n = decode(p->link, p);
  return !n || static_cast<std::uintptr_t>(reinterpret_cast<char*>(n) - s->begin) < s->span;
}

// Formats a fresh slab of `pages` pages at `base` for class c: every object on the freelist.
Slab* format_slab(void* base, int c, int node);

}  // namespace hm::slab
