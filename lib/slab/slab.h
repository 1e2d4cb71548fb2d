// A slab: one buddy block carved into equal objects of one size class, with this header at its
// start. Free objects hold the freelist link in their first word, encoded (encode()) so that a
// stray write into a free object is caught when the link is decoded, and a second free of the
// same object is recognised by its word already decoding as a link.
//
// ---- The ownership protocol (docs/slab-protocol.md tells the why) --------------------------
// Every slab has exactly one owner: a thread heap H (owner == H) or its node N (owner == null).
// N is fixed for the slab's life (`node`), and every slab a heap owns is on the heap's node.
//
// States (`state`, written by whoever owns the slab):
//   Active       H's current slab for its class (H.active[cls]).
//   Partial      on H.partial[cls]: has free objects, or is empty and kept for reuse.
//   Full         on H.full[cls]: had no free object when H retired it; `remote` armed.
//                (Active and Partial slabs may be armed too: an owner arms on retiring and
//                never disarms; the first notice does.)
//   NodePartial  owner null, on N.partial[cls]: has free objects (or is part of N's reserve).
//   Detached     owner null, on no list: full when its owner exited.
//   (freed)      memory back to the page layer: reachable from nowhere.
//
// Who may touch what:
//   free, used, fresh, state, prev/next   the owner: H's thread, or the holder of N's lock when
//                                         owner == null.
//   owner                                 written only under N's lock (and before a new slab is
//                                         published); read by any thread holding an object of s.
//   remote                                any thread, read-modify-write only (see below).
//   queued, pending_next, H.pending       only under N's lock.
//
// `remote` (R) holds the remote-free list and one flag, kNotify. Invariant: R is 0, kNotify, or
// a list head with its length (a push replaces the whole word, so a list never carries the flag).
//   - A free from a thread other than the owner pushes onto R without a lock, unless R has
//     kNotify; so does the owner's free of a block realloc moved away (api/malloc.cpp: held
//     out of the next malloc's reach), which is no different to the protocol. Replacing kNotify is a *notice*, done only under N's lock; the noticer then
//     either queues s on its owner's pending list (owned slab) or collects R itself (node-owned).
//   - An owner arms kNotify when it retires s as Full (0 -> kNotify, or it is still armed) and
//     leaves it armed when s leaves Full: a notice replaces kNotify with its list, which is what
//     disarms an owned slab. N keeps every slab it owns armed outside its lock, so every free
//     into a node-owned slab is a notice.
//   - Only the owner collects R of an owned slab (exchange), never disarming kNotify by it.
//   - Adoption on free: a notice into a node-owned slab that still holds objects, by a thread
//     whose own heap H is on N, makes H the owner (owner = H, then R disarmed, Partial, on
//     H.partial), under N's lock; the caller is H's thread, so H's lists stay its own.
//
// Which transition frees: only a holder of N's lock decides to free s, and only when used == 0
// after every remote free was collected; s is then on no list, and the decider gives it to the
// page layer right after dropping the lock. used counts objects not on s->free, so used == 0 means no thread
// holds an object of s and none can be pushing onto R; a noticer holds N's lock, so none is
// touching s either. That is the rule: a slab's memory is never given back while any thread can
// still touch it. Memory orders: pushes release the object's link, collections acquire it; the
// lock orders everything a noticer does against frees and ownership changes, on any hardware.
#pragma once

#include <atomic>
#include <bit>
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

enum class SlabState : std::uint8_t { Active, Partial, Full, NodePartial, Detached };

inline constexpr std::uintptr_t kNotify = 1;
// A list in R carries its length in the word's top 16 bits (user addresses have 47), so the
// owner takes a whole list without walking it: one exchange, and the pops that follow check
// each link (ThreadHeap::alloc). A compare-and-swap replaces pointer and length together, so the
// length is exact whatever interleaving (a length kept in the objects could not be: the head a
// pusher read from may be collected, reused and pushed again before its CAS).
inline constexpr int kLengthShift = 48;
inline constexpr std::uintptr_t kHeadMask = (std::uintptr_t{1} << kLengthShift) - 1;
static_assert(kMaxSlabPages * 4096 / 16 < (std::size_t{1} << (64 - kLengthShift)), "a slab's objects fit the length");
// R after pushing p onto `list` (0 or a list, never kNotify).
inline std::uintptr_t pushed(std::uintptr_t list, const void* p) {
  return (((list >> kLengthShift) + 1) << kLengthShift) | reinterpret_cast<std::uintptr_t>(p);
}
inline FreeObj* list_head(std::uintptr_t r) { return reinterpret_cast<FreeObj*>(r & kHeadMask & ~kNotify); }
// What a remote push links p to: R's list, or the slab's end when R has none (`end`, below).
inline FreeObj* push_link(std::uintptr_t r, FreeObj* end) {
  FreeObj* head = list_head(r);
  return head ? head : end;
}
inline std::size_t list_length(std::uintptr_t r) { return r >> kLengthShift; }

// Three cache lines, by who writes them: every malloc and free reads line 0 (to validate an
// object, decode a link and find the owner); the owner writes line 1 on every malloc and free;
// other threads write line 2. Keeping them apart means a remote free does not miss on the
// owner's freelist updates and the owner's fast path does not miss on remote pushes.
struct alignas(64) Slab {
  // ---- line 0: read by every malloc and free, local or remote; written when formatted,
  //      `owner` and `queued` on ownership changes and notices (slow paths) ----
  char* begin;               // first object
  std::uint64_t inverse;     // the inverse of size's odd part, modulo 2^64 (contains_object)
  std::uintptr_t key;        // freelist links are stored xor this (encode), random per slab
  std::uint64_t capacity;    // objects
  std::atomic<ThreadHeap*> owner;
  std::uint64_t span;        // capacity * size
  FreeObj* end;              // begin + span: what the last link of every list of s names
  std::uint32_t size;
  std::uint8_t shift;        // trailing zero bits of size (>= 4: every class is a multiple of 16)
  std::uint8_t cls;
  std::uint8_t node;
  bool queued;               // on its owner's pending list (N's lock)
  // ---- line 1: the owner's, written by every local malloc and free ----
  alignas(64) FreeObj* free;  // local freelist head (decoded pointer); `end` when empty
  std::uint32_t used;   // objects not on `free` (handed out, or on `remote` not yet collected)
  SlabState state;
  std::uint16_t pages;  // the slab's length in pages
  char* fresh;          // objects from here to begin + span were never handed out (lazy format)
  Slab* prev;           // list links: the owner's lists, or N's partial list
  Slab* next;
  // ---- line 2: what other threads write ----
  alignas(64) std::atomic<std::uintptr_t> remote;
  Slab* pending_next;   // link on the owner's pending list (N's lock)

  // Whether p is the start of one of the slab's objects. With size = 2^shift * odd, the map
  // off -> rotr(off * inverse, shift) is a bijection of 64-bit words that sends off = i * size
  // to i, so exactly the object starts land below capacity: one multiply, one rotate, one
  // compare, whatever p is (Granlund and Montgomery's divisibility test, with the range folded in).
  bool contains_object(const void* p) const {
    std::uint64_t off = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(begin);
    return std::rotr(off * inverse, shift) < capacity;
  }
  // p is in [begin, end]: an object's address, or the lists' end.
  bool link_target(const void* p) const {
    return static_cast<std::uintptr_t>(static_cast<const char*>(p) - begin) <= span;
  }
  bool has_free() const { return free != end; }
  std::size_t bytes() const { return std::size_t{pages} << 12; }
};
static_assert(sizeof(Slab) <= kSlabHeader);
static_assert(offsetof(Slab, free) == 64 && offsetof(Slab, remote) == 128, "one cache line per writer");
static_assert(offsetof(Slab, queued) < 64, "a remote free reads line 0 (end, owner, node) and writes line 2 only");

extern std::uintptr_t g_link_key;  // random per process, set at init; each slab's key derives from it

// A link is the next object's address (or `end`, which closes every list) xor the slab's key: a
// stray write into a free object decodes to an address that fails the object-start check of
// the pop (ThreadHeap::alloc), and a live object's first word decodes as a link only by chance
// (probability ~ span / 2^64). A list closed by `end`, not null, makes "is a link" one range
// check: the double-free test of the fast free has no case for the list's last object.
inline std::uintptr_t encode(const FreeObj* next, const Slab* s) {
  if constexpr (!kHardened) return reinterpret_cast<std::uintptr_t>(next);
  return reinterpret_cast<std::uintptr_t>(next) ^ s->key;
}
inline FreeObj* decode(std::uintptr_t link, const Slab* s) {
  if constexpr (!kHardened) return reinterpret_cast<FreeObj*>(link);
  return reinterpret_cast<FreeObj*>(link ^ s->key);
}
// Whether p's first word decodes as a link of slab s (an address in s, or its end): true for
// every free object, and for a live one only if its data happens to equal an encoded link, which
// needs the slab's random key.
inline bool looks_free(const Slab* s, const FreeObj* p) {
  if constexpr (!kHardened) return false;
  return s->link_target(decode(p->link, s));
}

// Formats a fresh slab of `pages` pages at `base` for class c. Objects are threaded onto the
// freelist lazily (extend()), so a new slab touches only its header and what is handed out.
Slab* format_slab(void* base, std::size_t pages, int c, int node);
// Threads up to a page's worth of never-used objects onto s's (empty) freelist. False if none.
bool extend(Slab* s);

// Moves s's remote frees onto its local freelist; returns how many there were. Only the owner
// (or N's lock holder for a node-owned slab) calls it; it leaves kNotify as it finds it.
std::size_t collect_remote(Slab* s);
// Adds the list in R's word `r` (pushed by remote frees of s) to s's freelist; returns its
// length. Onto an empty freelist the list goes whole; otherwise it is walked to its tail, each
// link checked and the walk's length against the word's.
std::size_t take_list(Slab* s, std::uintptr_t r);

}  // namespace hm::slab
