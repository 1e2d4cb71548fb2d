// Secure mode (HUGEMEM_SECURE=1, or the default with -DHUGEMEM_SECURE_DEFAULT=ON): every call
// takes the checked slow paths (t_heap stays the unready heap, as in checked mode, whose fill-on-free and
// verify-on-reuse it includes), and on top of them:
//  - a canary after every small object: the last 8 bytes of its slot hold the requested size,
//    encoded with a random key and the slot's address, and the bytes between the request and
//    the canary hold a fill; both are checked when the object is freed (overflow), and the word
//    before the object (the previous slot's canary or fill) too (underflow);
//  - a bounded quarantine: freed small objects wait (filled, marked) in a FIFO before they are
//    freed for reuse, and are checked when they leave it (write after free, double free);
//  - a large block gets the same canary at its end (the request is 8 bytes larger);
//  - freed large blocks are made inaccessible (PROT_NONE) and wait in a quarantine of their own,
//    so a use after free faults;
//  - allocation order within a slab is randomised (one of the first four free objects);
//  - malloc(0) returns an inaccessible page of its own;
//  - a block of more than a page is a large block, and a large block gets a guard page before
//    it (within a budget), so an underflow off it faults.
// docs/hardening.md says what it catches and misses and what it costs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "api/block.h"
#include "slab/thread_heap.h"

namespace hm::api::secure {

extern bool g_on;

// At init (no allocation): reads nothing, draws the keys.
void init();

// The class an n-byte request at `align` (<= page size) gets with its canary, or -1 if it needs
// a large block: when it is more than a page with its canary (a freed large block is made
// inaccessible, a slab object cannot be).
int class_for(std::size_t n, std::size_t align);
void* alloc_small(slab::ThreadHeap* h, int c, std::size_t n);
// A new large block (arena or direct) of n bytes, allocated with 8 bytes more: its canary (the
// same encoding, in the block's last word, the bytes from n to it filled) for an arena block.
void mark_large(void* p, std::size_t n);
// Tags of a large block's head page descriptor in secure mode (0: a live block; 1: kept in a
// thread's cache, slab/large_cache.h).
inline constexpr std::uint8_t kQuarantinedTag = 2;
inline constexpr std::uint8_t kZeroSizeTag = 3;
// A live block whose first page is a guard (PROT_NONE): the block handed out starts a page after
// its head, so an underflow off it faults; and the same block freed, in quarantine.
inline constexpr std::uint8_t kGuardedTag = 4;
inline constexpr std::uint8_t kQuarantinedGuardedTag = 5;
// Default mode: a live block allocated above the mmap threshold (note_large_alloc).
inline constexpr std::uint8_t kAboveThresholdTag = 6;

// Guards and zero-size pages are budgeted (each splits a mapping in the kernel, whose count is
// limited): true if one more may be made, then counted until put_guard().
bool take_guard();
void put_guard();
// p, a new large block with a page more than requested: its first page made the guard. Returns
// the block to hand out (p + a page), or nullptr if the kernel refused (p untouched).
void* guard_front(void* p);
// For p at the start of a page of arena a that is no block's head: the head descriptor of the
// guarded block (live or quarantined) p is the start of, or nullptr.
const page::PageDesc* guarded_head(page::Arena* a, const void* p);

// malloc(0): p, a one-page large block just allocated, becomes inaccessible (PROT_NONE) and is
// tagged kZeroSizeTag, so any read or write through it faults. False (p untouched) if the
// kernel refused the protection (the caller then frees p and hands out a small object).
bool make_zero_size(void* p);
// Frees any pointer (the caller resolved it to b); false if it is a large block the caller
// should free itself (too big to quarantine).
void free(const Block& b, void* p);
// The requested size of a small object (from its canary); b.usable otherwise.
// `what` names the caller (realloc, malloc_usable_size) in a report.
std::size_t usable(const Block& b, const void* p, const char* what);

// Default mode, glibc's mmap threshold on arena blocks: glibc hands a freed block above its
// dynamic threshold (128 KiB at start, raised to the size of each such block freed, up to
// 32 MiB) back to the kernel, so a use after free of it faults and its data is gone. Here the
// free of an arena block larger than every block freed before (from 128 KiB up to 4 MiB: above,
// the refaults of a block held out of reuse cost too much) makes it inaccessible and decommitted and puts it in the large quarantine (FIFO, so
// its pages are not handed out again soon; a second free of it is reported), and raises the
// threshold to its size: a program that keeps freeing blocks of a size pays this once, and
// reuses them from then on. False when p does not qualify (the caller frees it as usual).
// A block allocated while above the threshold is quarantined at its free even if the threshold
// rose to its size meanwhile, as glibc unmaps every block it mapped: a program that allocates
// several blocks of a new size and frees them all gets none of their data back
// (note_large_alloc tags it; nothing in secure or checked mode, whose blocks have their own).
bool quarantine_new_size(const Block& b, void* p);
void note_large_alloc(void* p, std::size_t bytes);
// Bytes of the blocks quarantine_new_size holds (decommitted: allocated to the page layer, not
// resident); 0 in secure mode, whose quarantined blocks stay committed.
std::size_t decommitted_in_quarantine();

// Empties the quarantines (malloc_trim): every object and block in them is checked and freed
// for reuse.
void flush();

// Whether the small object p is in the quarantine (freed).
bool quarantined(const void* p);

// fork(): the quarantine's lock.
void lock();
void unlock();
void reset_lock();

}  // namespace hm::api::secure
